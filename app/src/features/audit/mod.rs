//! The audit trail through pgpanel: every action, refusal and sign-in, filtered and paged
//! (`GET /api/audit`, the Audit page).

pub mod api;
pub mod model;
pub mod page;
