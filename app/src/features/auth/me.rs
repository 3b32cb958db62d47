//! The signed-in user as the UI sees it: read once per page load (on the server during
//! rendering) and shared by the shell and every page.

use leptos::prelude::*;

use super::api::get_me;
use super::model::{Me, Role};
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

/// One line on pages with actions, for analysts: the buttons are missing on purpose. `actions`
/// names the page's actions ("Cancelling, terminating and maintenance" by default).
#[component]
pub fn ReadOnlyNote(#[prop(optional, into)] actions: Option<&'static str>) -> impl IntoView {
    let user = current_user();
    let actions = actions.unwrap_or("Cancelling, terminating and maintenance");
    move || {
        let role = user
            .and_then(|u| u.0.get())
            .and_then(Result::ok)
            .map(|me| me.role);
        (role == Some(Role::Analyst)).then(|| {
            view! {
                <p class="muted read-only-note" data-testid="read-only-note">
                    "Read-only: you are signed in as an analyst. "{actions}" need the dba role."
                </p>
            }
        })
    }
}
