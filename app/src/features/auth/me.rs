//! The signed-in user as the UI sees it: read once per page load (on the server during
//! rendering) and shared by the shell and every page.

use leptos::prelude::*;

use super::api::get_me;
use super::model::Me;
use crate::error::AppError;

/// The signed-in user, read once per page load (on the server during rendering) and shared by
/// the header, the navigation and every gate.
#[derive(Clone, Copy)]
pub struct CurrentUser(pub Resource<Result<Me, AppError>>);

pub fn provide_current_user() -> CurrentUser {
    let user = CurrentUser(Resource::new_blocking(|| (), |()| get_me()));
    provide_context(user);
    user
}

pub fn current_user() -> Option<CurrentUser> {
    use_context::<CurrentUser>()
}
