//! Links between the pages of one area (the Audit area: pgpanel's trail, application tables),
//! the current one marked for assistive technology.

use leptos::prelude::*;

#[component]
pub fn SubNav(
    #[prop(into)] label: String,
    items: &'static [(&'static str, &'static str)],
    current: &'static str,
) -> impl IntoView {
    let links = items
        .iter()
        .map(|(href, text)| {
            let here = *href == current;
            view! { <a href=*href aria-current=here.then_some("page")>{*text}</a> }
        })
        .collect_view();
    view! { <nav class="subnav" aria-label=label>{links}</nav> }
}

/// The Audit area's pages.
pub const AUDIT_AREA: &[(&str, &str)] = &[
    ("/audit", "pgpanel's actions"),
    ("/audit/app", "Application audit tables"),
];
