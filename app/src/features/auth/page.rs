//! The sign-in page, the user menu in the header, and the gate that keeps a page from a role
//! that may not see it (the server functions behind it check again).

use leptos::prelude::*;

use super::api::{Login, Logout};
use super::model::{Me, safe_next};
use crate::components::location::{go_to, use_query};

/// A full page load, so every part of the page (header, navigation) reads the new session.
fn reload_at(path: &str) {
    go_to(path);
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query();
    let next = move || safe_next(query.read().get("next").as_deref());
    let action = ServerAction::<Login>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            reload_at(&next());
        }
    });
    let error = move || action.value().get().and_then(Result::err);
    view! {
        <div class="login-wrap">
            <div class="card login-card">
                <h1>"Sign in"</h1>
                <p class="muted">"pgpanel watches your PostgreSQL servers. Sign in to continue."</p>
                <ActionForm action=action attr:class="form" attr:data-testid="login-form">
                    <label>
                        <span>"Username"</span>
                        <input
                            type="text"
                            name="username"
                            autocomplete="username"
                            autocapitalize="none"
                            spellcheck="false"
                            maxlength="64"
                            required
                            autofocus
                        />
                    </label>
                    <label>
                        <span>"Password"</span>
                        <input
                            type="password"
                            name="password"
                            autocomplete="current-password"
                            maxlength="1024"
                            required
                        />
                    </label>
                    <input type="hidden" name="next" value=next/>
                    {move || {
                        error()
                            .map(|e| {
                                view! {
                                    <div class="error-box" role="alert">
                                        {e.to_string()}
                                    </div>
                                }
                            })
                    }}
                    <button type="submit" class="button primary" disabled=move || action.pending().get()>
                        {move || if action.pending().get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
            </div>
        </div>
    }
}

/// Username, role and the sign-out button, for the header. The button posts a plain form (it
/// signs out before the scripts have loaded too); once they have, it calls the server function
/// and goes to the sign-in page.
#[component]
pub fn UserMenu(me: Me) -> impl IntoView {
    let pending = RwSignal::new(false);
    let logout_url = <Logout as leptos::server_fn::ServerFn>::PATH;
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        pending.set(true);
        leptos::task::spawn_local(async move {
            match super::api::logout().await {
                Ok(()) => reload_at("/login"),
                Err(_) => pending.set(false),
            }
        });
    };
    view! {
        <div class="user-menu" data-testid="user-menu">
            <span class="user-name" data-testid="user-name">{me.username}</span>
            <span class=format!("role-badge role-{}", me.role) data-testid="user-role">
                {me.role.as_str()}
            </span>
            <form class="inline-form" method="post" action=logout_url on:submit=on_submit>
                <button type="submit" class="button small" data-testid="logout" disabled=move || pending.get()>
                    "Sign out"
                </button>
            </form>
        </div>
    }
}

/// Shows `children` only to a signed-in user with at least `min`; others get a 403 (or 401)
/// page, with that status during server rendering. On the server only: the page's island is
/// rendered inside it. The caller is the request's (checked by the session layer before the
/// render), so the gate decides at once: the page is built exactly once (a `Suspense` here built
/// it three times, and wrote each page's data into the HTML three times).
#[cfg(feature = "ssr")]
#[component]
pub fn RoleGate(
    min: super::model::Role,
    #[prop(into)] title: String,
    children: Children,
) -> impl IntoView {
    use super::model::{Access, needs_role};
    use crate::error::AppError;
    match super::context::require_user(Access::SignedIn) {
        Ok(me) if me.role >= min => children().into_any(),
        Ok(me) => denied(
            &title,
            AppError::forbidden(needs_role("This page", min, &me.username, me.role)),
        ),
        Err(e) => denied(&title, e),
    }
}

#[cfg(feature = "ssr")]
fn denied(title: &str, error: crate::error::AppError) -> AnyView {
    use crate::components::error_view::ErrorView;
    use crate::components::page_header::PageHeader;
    crate::error::set_response_status(&error);
    view! {
        <PageHeader title=title.to_owned()>""</PageHeader>
        <div data-testid="denied">
            <ErrorView error=error/>
        </div>
    }
    .into_any()
}
