//! Who is calling, on the server: the caller and client the guard put in the request, and the
//! role check every server function starts with ([`require`]). The UI's view of the signed-in
//! user is `me.rs`.

pub use server::*;

mod server {
    use super::super::model::{Access, Role};
    use crate::error::AppError;

    /// The signed-in user of a request, placed in the request's extensions by the guard.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Caller {
        pub user_id: i64,
        pub username: String,
        pub role: Role,
        pub token_hash: String,
    }

    /// The client of a request (the TCP peer), placed in the request's extensions by the guard.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct ClientInfo {
        pub addr: String,
        pub user_agent: String,
    }

    /// The request being answered (server functions and server-side rendering both have it).
    pub fn request_parts() -> Result<http::request::Parts, AppError> {
        leptos::prelude::use_context::<http::request::Parts>().ok_or_else(|| {
            AppError::internal("checking the caller", "no request parts in the context")
        })
    }

    pub fn client_info(parts: &http::request::Parts) -> ClientInfo {
        parts
            .extensions
            .get::<ClientInfo>()
            .cloned()
            .unwrap_or_default()
    }

    /// The caller, if `access` admits them: 401 without a session, 403 with too small a role.
    /// Every server function calls this first, whatever the guard middleware already checked.
    pub fn require(access: Access) -> Result<Option<Caller>, AppError> {
        let parts = request_parts()?;
        let caller = parts.extensions.get::<Caller>().cloned();
        check(access, caller.as_ref())?;
        Ok(caller)
    }

    /// Like `require`, for endpoints that need a signed-in caller.
    pub fn require_user(access: Access) -> Result<Caller, AppError> {
        require(access)?.ok_or_else(|| AppError::unauthorized("Sign in first."))
    }

    pub fn check(access: Access, caller: Option<&Caller>) -> Result<(), AppError> {
        if access.allows(caller.map(|c| c.role)) {
            return Ok(());
        }
        match (access, caller) {
            (_, None) => Err(AppError::unauthorized("Sign in first.")),
            (Access::AtLeast(min), Some(c)) => Err(AppError::forbidden(
                super::super::model::needs_role("This", min, &c.username, c.role),
            )),
            _ => Err(AppError::forbidden("Not allowed.")),
        }
    }
}
