//! The title line of every page.

use leptos::prelude::*;

/// A page title with an optional line of context on the right.
#[component]
pub fn PageHeader(#[prop(into)] title: String, children: Children) -> impl IntoView {
    view! {
        <div class="page-header">
            <h1>{title}</h1>
            <div class="page-header-end">{children()}</div>
        </div>
    }
}
