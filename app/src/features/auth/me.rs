//! The signed-in user as the UI sees it: the request's caller, read by the frame while the server
//! renders the page and handed to the browser in the frame's props.

use leptos::prelude::*;

use super::model::{Me, Role};

/// The signed-in user as the frame read it for this page (None: nobody), in the browser as on the
/// server: the frame's island provides it from its props.
#[derive(Clone)]
struct SignedIn(Option<Me>);

pub fn provide_signed_in(me: Option<Me>) {
    provide_context(SignedIn(me));
}

/// The role of the signed-in user (None: nobody, or outside a frame).
pub fn signed_in_role() -> Option<Role> {
    use_context::<SignedIn>().and_then(|s| s.0.map(|me| me.role))
}

/// One line on pages with actions, for analysts: the buttons are missing on purpose. `actions`
/// names the page's actions ("Cancelling, terminating and maintenance" by default).
#[component]
pub fn ReadOnlyNote(#[prop(optional, into)] actions: Option<&'static str>) -> impl IntoView {
    let actions = actions.unwrap_or("Cancelling, terminating and maintenance");
    (signed_in_role() == Some(Role::Analyst)).then(|| {
        view! {
                <p class="muted read-only-note" data-testid="read-only-note">
                    "Read-only: you are signed in as an analyst. "{actions}" need the dba role."
                </p>
        }
    })
}
