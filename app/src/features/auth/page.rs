//! The sign-in page, the user menu in the header, and the gate that keeps a page from a role
//! that may not see it (the server functions behind it check again).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{Login, Logout};
use super::me::current_user;
use super::model::{Role, safe_next};
use crate::components::error_view::ErrorView;
use crate::components::page_header::PageHeader;
use crate::error::{AppError, set_response_status};

/// A full page load, so every part of the page (header, navigation) reads the new session.
fn reload_at(path: &str) {
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        let _ = window().location().set_href(path);
    }
    #[cfg(not(all(feature = "hydrate", not(feature = "ssr"))))]
    let _ = path;
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || safe_next(query.read().get("next").as_deref());
    let action = ServerAction::<Login>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            reload_at(&next());
        }
    });
    let error = move || action.value().get().and_then(Result::err);
    view! {
        <Title text="Sign in · pgpanel"/>
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

/// Username, role and the sign-out button, for the header.
#[component]
pub fn UserMenu() -> impl IntoView {
    let action = ServerAction::<Logout>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = action.value().get() {
            reload_at("/login");
        }
    });
    let user = current_user();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match user?.0.await {
                    Ok(me) => Some(
                        view! {
                            <div class="user-menu" data-testid="user-menu">
                                <span class="user-name" data-testid="user-name">{me.username}</span>
                                <span class=format!("role-badge role-{}", me.role) data-testid="user-role">
                                    {me.role.as_str()}
                                </span>
                                <ActionForm action=action attr:class="inline-form">
                                    <button type="submit" class="button small" data-testid="logout">
                                        "Sign out"
                                    </button>
                                </ActionForm>
                            </div>
                        },
                    ),
                    Err(_) => None,
                }
            })}
        </Suspense>
    }
}

/// Shows `children` only to a signed-in user with at least `min`; others get a 403 (or 401)
/// page, with that status during server rendering.
#[component]
pub fn RoleGate(min: Role, #[prop(into)] title: String, children: ChildrenFn) -> impl IntoView {
    let user = current_user();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let title = title.clone();
                Suspend::new(async move {
                    let result = match user {
                        Some(u) => u.0.await,
                        None => Err(AppError::unauthorized("Sign in first.")),
                    };
                    match result {
                        Ok(me) if me.role >= min => children.with_value(|c| c()).into_any(),
                        Ok(me) => denied(
                            &title,
                            AppError::forbidden(super::model::needs_role(
                                "This page",
                                min,
                                &me.username,
                                me.role,
                            )),
                        ),
                        Err(e) => denied(&title, e),
                    }
                })
            }}
        </Suspense>
    }
}

fn denied(title: &str, error: AppError) -> AnyView {
    set_response_status(&error);
    view! {
        <Title text=format!("{title} · pgpanel")/>
        <PageHeader title=title.to_owned()>""</PageHeader>
        <div data-testid="denied">
            <ErrorView error=error/>
        </div>
    }
    .into_any()
}
