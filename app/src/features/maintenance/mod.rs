//! The Maintenance page: per database, every table's size, live and dead tuples, last (auto)
//! vacuum and analyze, modifications since analyze and xid age, sortable, with VACUUM / ANALYZE
//! for DBAs and the target's running and recent jobs with progress.

pub mod api;
pub mod model;
pub mod page;
