//! A shared "now" that ticks once a second in the browser, so uptimes and "3 min ago" stay true
//! between data refreshes without every widget running its own timer.

use leptos::prelude::*;
use time::OffsetDateTime;

#[derive(Clone, Copy)]
struct Clock(RwSignal<OffsetDateTime>);

pub fn provide_clock() {
    let now = RwSignal::new(OffsetDateTime::now_utc());
    // Effects run only in the browser: the server renders one instant.
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || now.set(OffsetDateTime::now_utc()),
            std::time::Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    provide_context(Clock(now));
}

pub fn use_now() -> Signal<OffsetDateTime> {
    match use_context::<Clock>() {
        Some(Clock(now)) => now.into(),
        None => Signal::derive(OffsetDateTime::now_utc),
    }
}
