//! Who is calling and what they may do: roles (admin, dba, analyst), the policy table every
//! route and server function is checked against, argon2id passwords, sessions in an HttpOnly
//! cookie, failed-login throttling, and the sign-in page. Needs only pgpanel's own store; no
//! target is involved.

pub mod api;
pub mod me;
pub mod model;
pub mod page;
pub mod policy;

#[cfg(feature = "ssr")]
pub mod context;
#[cfg(feature = "ssr")]
pub mod password;
#[cfg(feature = "ssr")]
pub mod refusals;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod session;
#[cfg(feature = "ssr")]
pub mod throttle;
