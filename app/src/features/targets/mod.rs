//! Targets: the PostgreSQL servers pgpanel watches.
//!
//! Each target has a monitor login (needs only `pg_monitor`) and optionally an action login. A
//! background task per target checks it every few seconds and reads server facts
//! (`server_info.sql`), extensions (`installed_extensions.sql` every minute,
//! `list_extensions.sql` when those change or every 10 minutes) and database sizes
//! (`database_sizes.sql`, every few minutes), degrading to "unreachable since …" with backoff
//! when the target is down or silent. Catalogs: pg_settings, pg_roles, pg_database,
//! pg_extension, pg_available_extensions. Minimum server version: 10. Privileges: any login works; pg_monitor
//! shows everything.

pub mod api;
pub mod model;

#[cfg(feature = "ssr")]
pub mod budget;
#[cfg(feature = "ssr")]
pub mod capabilities;
#[cfg(feature = "ssr")]
pub mod conn;
#[cfg(feature = "ssr")]
pub mod connect;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod lease;
#[cfg(feature = "ssr")]
pub mod monitor;
#[cfg(feature = "ssr")]
pub mod registry;
