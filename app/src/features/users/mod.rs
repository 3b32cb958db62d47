//! User management for admins: list, create, change role, disable or enable, reset a password,
//! and see or clear sign-in locks. The last enabled admin can be neither demoted nor disabled.
//! Only pgpanel's own store is involved.

pub mod api;
pub mod model;
pub mod page;
