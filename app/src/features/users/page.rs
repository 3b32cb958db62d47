//! The Users page (admin): add a user, change roles, disable or enable, reset passwords, and see
//! and clear sign-in locks.

use leptos::prelude::*;

use super::api::{CreateUser, Unlock, UpdateUser, list_locks, list_users};
use super::model::{Locks, MIN_PASSWORD_CHARS, UserView};
use crate::components::clock::use_now;
use crate::components::error_view::ErrorView;
use crate::components::format::{relative, utc};
use crate::components::page_header::PageHeader;
use crate::error::{AppError, set_response_status};
use crate::features::auth::model::Role;

#[derive(Clone, Copy)]
struct Actions {
    update: ServerAction<UpdateUser>,
    unlock: ServerAction<Unlock>,
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let actions = Actions {
        update: ServerAction::<UpdateUser>::new(),
        unlock: ServerAction::<Unlock>::new(),
    };
    // The lists are read again after a change (and after a refused one of a row, so the row
    // shows what the server has); a refused new user changed nothing, and reading again then
    // would rebuild the rows under a choice being made in one of them.
    let added = RwSignal::new(0_u32);
    let versions = move || {
        (
            added.get(),
            actions.update.version().get(),
            actions.unlock.version().get(),
        )
    };
    let users = Resource::new(versions, |_| list_users());
    let locks = Resource::new(versions, |_| list_locks());
    // The outcome of the latest change, whichever form made it.
    let last = RwSignal::new(None::<Result<String, AppError>>);
    Effect::new(move |_| {
        if let Some(r) = create.value().get() {
            if r.is_ok() {
                added.update(|n| *n = n.wrapping_add(1));
            }
            last.set(Some(
                r.map(|u| format!("Added {} ({}).", u.username, u.role)),
            ));
        }
    });
    Effect::new(move |_| {
        if let Some(r) = actions.update.value().get() {
            last.set(Some(r.map(|u| format!("Saved {}.", u.username))));
        }
    });
    Effect::new(move |_| {
        if let Some(r) = actions.unlock.value().get() {
            last.set(Some(r.map(|()| "Lock cleared.".to_owned())));
        }
    });
    provide_context(actions);

    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading users…"</p> }>
            {move || Suspend::new(async move {
                match (users.await, locks.await) {
                    (Ok(list), Ok(locks)) => {
                        let summary = summary(&list);
                        view! {
                            <PageHeader title="Users">
                                <span class="muted" data-testid="users-summary">{summary}</span>
                            </PageHeader>
                            {move || last.get().map(notice)}
                            <UsersTable users=list/>
                            <AddressLocks locks=locks/>
                            <AddUser action=create/>
                        }
                        .into_any()
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        set_response_status(&e);
                        view! {
                            <PageHeader title="Users">""</PageHeader>
                            <ErrorView error=e/>
                        }
                        .into_any()
                    }
                }
            })}
        </Transition>
    }
}

fn notice(outcome: Result<String, AppError>) -> AnyView {
    match outcome {
        Ok(msg) => {
            view! { <p class="notice ok" role="status" data-testid="users-notice">{msg}</p> }
                .into_any()
        }
        Err(e) => view! {
            <div data-testid="users-notice">
                <ErrorView error=e/>
            </div>
        }
        .into_any(),
    }
}

fn summary(list: &[UserView]) -> String {
    let count = |r: Role| list.iter().filter(|u| u.role == r && !u.disabled).count();
    let disabled = list.iter().filter(|u| u.disabled).count();
    let mut s = format!(
        "{} users · {} admin · {} dba · {} analyst",
        list.len(),
        count(Role::Admin),
        count(Role::Dba),
        count(Role::Analyst)
    );
    if disabled > 0 {
        s.push_str(&format!(" · {disabled} disabled"));
    }
    s
}

#[component]
fn UsersTable(users: Vec<UserView>) -> impl IntoView {
    view! {
        <div class="card">
            <div class="table-scroll" tabindex="0">
            <table class="data users" data-testid="users-table">
                <thead>
                    <tr>
                        <th>"User"</th>
                        <th>"Role"</th>
                        <th>"Status"</th>
                        <th>"Last sign-in"</th>
                        <th>"Failed sign-ins"</th>
                        <th>"Password"</th>
                    </tr>
                </thead>
                <tbody>
                    {users.into_iter().map(|u| view! { <UserRow user=u/> }).collect_view()}
                </tbody>
            </table>
            </div>
        </div>
    }
}

#[component]
fn UserRow(user: UserView) -> impl IntoView {
    let Some(actions) = use_context::<Actions>() else {
        return ().into_any();
    };
    let now = use_now();
    let name = user.username.clone();
    let created = user.created_at;
    let last_login = user.last_login_at;
    let status = if user.disabled { "Disabled" } else { "Enabled" };
    let toggle = if user.disabled { "false" } else { "true" };
    let toggle_label = if user.disabled { "Enable" } else { "Disable" };
    let (name_role, name_toggle, name_reset) = (name.clone(), name.clone(), name.clone());
    let role_label = format!("Role of {name}");
    let reset_label = format!("New password for {name}");
    // Every row has the same buttons: the hidden words say whose row a button acts on, after
    // the visible word, so a screen reader's list of buttons tells them apart.
    let save_of = format!(" the role of {name}");
    let toggle_of = format!(" {name}");
    let reset_of = format!(" the password of {name}");
    let set_of = reset_of.clone();
    let current_role = user.role;
    view! {
        <tr data-testid="user-row" data-username=name.clone()>
            <td class="name">
                <strong>{name.clone()}</strong>
                <div class="muted small" title=utc(created)>
                    "added " {move || relative(created, now.get())}
                </div>
            </td>
            <td>
                <ActionForm action=actions.update attr:class="inline-form">
                    <input type="hidden" name="username" value=name_role/>
                    // A closure, so every re-render (also after a refused change) shows the
                    // role the server has, not what was picked.
                    <select name="role" aria-label=role_label prop:value=move || current_role.as_str()>
                        {Role::ALL
                            .iter()
                            .map(|r| view! { <option value=r.as_str() selected=*r == current_role>{r.as_str()}</option> })
                            .collect_view()}
                    </select>
                    <button type="submit" class="button small">"Save"<span class="visually-hidden">{save_of}</span></button>
                </ActionForm>
            </td>
            <td>
                <span class=if user.disabled { "badge bad" } else { "badge good" }>{status}</span>
                <ActionForm action=actions.update attr:class="inline-form">
                    <input type="hidden" name="username" value=name_toggle/>
                    <input type="hidden" name="disabled" value=toggle/>
                    <button type="submit" class="button small" data-testid="toggle-disabled">{toggle_label}<span class="visually-hidden">{toggle_of}</span></button>
                </ActionForm>
            </td>
            <td title=last_login.map(utc).unwrap_or_default()>
                {move || last_login.map_or_else(|| "never".to_owned(), |t| relative(t, now.get()))}
            </td>
            <td>
                {lock_cell(&user, actions)}
            </td>
            <td>
                <details class="reset">
                    <summary>"Reset…"<span class="visually-hidden">{reset_of}</span></summary>
                    <ActionForm action=actions.update attr:class="inline-form">
                        <input type="hidden" name="username" value=name_reset/>
                        <input
                            type="password"
                            name="password"
                            autocomplete="new-password"
                            minlength=MIN_PASSWORD_CHARS.to_string()
                            maxlength="1024"
                            placeholder="new password"
                            aria-label=reset_label
                            required
                        />
                        <button type="submit" class="button small">"Set"<span class="visually-hidden">{set_of}</span></button>
                    </ActionForm>
                </details>
            </td>
        </tr>
    }
    .into_any()
}

fn lock_cell(user: &UserView, actions: Actions) -> AnyView {
    let count = user.recent_failures;
    let username = user.username.clone();
    let whose = format!(" of {username}");
    match user.locked_until {
        Some(until) => view! {
            <span class="badge bad" title=format!("locked until {}", utc(until))>
                {format!("locked · {count} failed")}
            </span>
            <ActionForm action=actions.unlock attr:class="inline-form">
                <input type="hidden" name="username" value=username/>
                <button type="submit" class="button small" data-testid="clear-lock">"Clear lock"<span class="visually-hidden">{whose}</span></button>
            </ActionForm>
        }
        .into_any(),
        None if count > 0 => view! { <span class="warn-text">{format!("{count} in the last hour")}</span> }.into_any(),
        None => view! { <span class="muted">"none"</span> }.into_any(),
    }
}

#[component]
fn AddressLocks(locks: Locks) -> impl IntoView {
    let Some(actions) = use_context::<Actions>() else {
        return ().into_any();
    };
    if locks.addresses.is_empty() {
        return ().into_any();
    }
    view! {
        <div class="card" data-testid="address-locks">
            <h2 class="card-title">"Locked client addresses"</h2>
            <div class="table-scroll" tabindex="0">
            <table class="data">
                <thead><tr><th>"Address"</th><th class="num">"Failures"</th><th>"Locked until"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                <tbody>
                    {locks
                        .addresses
                        .into_iter()
                        .map(|a| view! {
                            <tr>
                                <td class="mono">{a.client_addr.clone()}</td>
                                <td class="num">{a.recent_failures}</td>
                                <td>{utc(a.locked_until)}</td>
                                <td>
                                    <ActionForm action=actions.unlock attr:class="inline-form">
                                        <button type="submit" class="button small">
                                            "Clear lock"<span class="visually-hidden">{format!(" of {}", a.client_addr)}</span>
                                        </button>
                                        <input type="hidden" name="client_addr" value=a.client_addr/>
                                    </ActionForm>
                                </td>
                            </tr>
                        })
                        .collect_view()}
                </tbody>
            </table>
            </div>
        </div>
    }
    .into_any()
}

#[component]
fn AddUser(action: ServerAction<CreateUser>) -> impl IntoView {
    // Emptied once the user exists (a refused form keeps its input to be corrected).
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let (Some(Ok(_)), Some(form)) = (action.value().get(), form.get()) {
            form.reset();
        }
    });
    view! {
        <div class="card">
            <h2 class="card-title">"Add a user"</h2>
            <ActionForm
                action=action
                node_ref=form
                attr:class="form row-form"
                attr:data-testid="add-user-form"
            >
                <label>
                    <span>"Username"</span>
                    <input type="text" name="username" maxlength="64" autocomplete="off" autocapitalize="none" required/>
                </label>
                <label>
                    <span>"Password"</span>
                    <input
                        type="password"
                        name="password"
                        minlength=MIN_PASSWORD_CHARS.to_string()
                        maxlength="1024"
                        autocomplete="new-password"
                        required
                    />
                </label>
                <label>
                    <span>"Role"</span>
                    <select name="role">
                        <option value="analyst" selected>"analyst — every view, no actions"</option>
                        <option value="dba">"dba — views and actions"</option>
                        <option value="admin">"admin — users and everything"</option>
                    </select>
                </label>
                <button type="submit" class="button primary" disabled=move || action.pending().get()>"Add user"</button>
            </ActionForm>
            <p class="muted small">
                "Passwords need at least " {MIN_PASSWORD_CHARS} " characters; any characters, no upper limit below 1,024. "
                "Usernames are case-insensitive: letters, digits and . _ - @."
            </p>
        </div>
    }
}
