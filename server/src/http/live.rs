//! `GET /live?target=ID&topics=overview,activity,statements,locks`: Server-Sent Events, one stream per
//! browser tab. A new stream starts with the latest frame of each topic, then gets every frame the
//! sampler publishes. A viewer that falls behind loses frames (the hub's channel overwrites them)
//! and gets the latest ones again, so it never slows anyone else. The session is checked again
//! every 30 s: sign-out, a disabled account or a timeout ends the stream.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, Request, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use app::error::AppError;
use app::features::auth::context::{Caller, check};
use app::features::auth::model::{Access, Role};
use app::features::auth::session::resolve_hash;
use app::features::live::hub::{Message, StatementsWatch, TargetHub};
use app::features::live::model::Topic;
use app::state::AppState;

use super::api_errors::json_error;

const RECHECK: Duration = Duration::from_secs(30);

#[derive(Debug, Deserialize)]
pub struct LiveQuery {
    target: Option<String>,
    topics: Option<String>,
}

fn parse_topics(raw: Option<&str>) -> Result<Vec<Topic>, AppError> {
    let raw = raw
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("overview");
    let mut topics = Vec::new();
    for name in raw.split(',').map(str::trim) {
        let topic = Topic::parse(name).ok_or_else(|| {
            AppError::validation(
                "topics must be a comma-separated list of overview, activity, statements, locks.",
            )
        })?;
        if !topics.contains(&topic) {
            topics.push(topic);
        }
    }
    Ok(topics)
}

pub async fn live(
    State(state): State<AppState>,
    Query(query): Query<LiveQuery>,
    req: Request,
) -> Response {
    let caller = req.extensions().get::<Caller>().cloned();
    if let Err(e) = check(Access::AtLeast(Role::Analyst), caller.as_ref()) {
        return json_error(&e);
    }
    let Some(target) = query.target.as_deref().filter(|t| !t.is_empty()) else {
        return json_error(&AppError::validation("target is required."));
    };
    let hub = match state.live.require(target) {
        Ok(hub) => hub.clone(),
        Err(e) => return json_error(&e),
    };
    let topics = match parse_topics(query.topics.as_deref()) {
        Ok(t) => t,
        Err(e) => return json_error(&e),
    };
    // The session the guard accepted (by its hash: the right one even with several cookies).
    let token = caller.map(|c| c.token_hash);
    let stream = frames(state, hub, topics, token);
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

struct Viewer {
    state: AppState,
    hub: Arc<TargetHub>,
    topics: Vec<Topic>,
    token: Option<String>,
    rx: tokio::sync::broadcast::Receiver<Arc<Message>>,
    queue: VecDeque<Arc<Message>>,
    recheck_at: Instant,
    /// Held while the stream follows the statements topic: the sampler reads pg_stat_statements
    /// every slow tick while someone watches it, and less often otherwise.
    _statements: Option<StatementsWatch>,
}

impl Viewer {
    fn resync(&mut self) {
        self.queue.clear();
        for topic in &self.topics {
            if let Some(m) = self.hub.latest(*topic) {
                self.queue.push_back(m);
            }
        }
    }

    async fn still_allowed(&self) -> bool {
        let Some(token) = &self.token else {
            return false;
        };
        let auth = &self.state.auth;
        match resolve_hash(
            &self.state.store,
            &auth.clock,
            &auth.settings,
            token.clone(),
        )
        .await
        {
            Ok(caller) => check(Access::AtLeast(Role::Analyst), caller.as_ref()).is_ok(),
            // A session that cannot be re-checked is not kept: the page reconnects, and the
            // guard answers it (503 while the store is down).
            Err(e) => {
                tracing::warn!(error = %e, "re-checking a live stream's session failed; ending it");
                false
            }
        }
    }

    /// The next frame for this viewer, or None when the stream must end.
    async fn next(&mut self) -> Option<Arc<Message>> {
        loop {
            if let Some(m) = self.queue.pop_front() {
                return Some(m);
            }
            tokio::select! {
                got = self.rx.recv() => match got {
                    Ok(m) if self.topics.contains(&m.topic) => return Some(m),
                    Ok(_) => {}
                    Err(RecvError::Lagged(n)) => {
                        tracing::debug!(target_id = %self.hub.id, skipped = n, "slow live viewer resyncs");
                        self.resync();
                    }
                    Err(RecvError::Closed) => return None,
                },
                () = tokio::time::sleep_until(self.recheck_at) => {
                    if !self.still_allowed().await {
                        return None;
                    }
                    self.recheck_at = Instant::now() + RECHECK;
                }
            }
        }
    }
}

fn frames(
    state: AppState,
    hub: Arc<TargetHub>,
    topics: Vec<Topic>,
    token: Option<String>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let rx = hub.subscribe();
    let statements = topics
        .contains(&Topic::Statements)
        .then(|| hub.watch_statements());
    let mut viewer = Viewer {
        state,
        hub,
        topics,
        token,
        rx,
        queue: VecDeque::new(),
        recheck_at: Instant::now() + RECHECK,
        _statements: statements,
    };
    viewer.resync();
    stream::unfold(viewer, |mut viewer| async move {
        let m = viewer.next().await?;
        let event = Event::default().event(m.topic.as_str()).data(&*m.json);
        Some((Ok(event), viewer))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_default_to_overview_and_refuse_unknown_names() {
        assert_eq!(parse_topics(None).ok(), Some(vec![Topic::Overview]));
        assert_eq!(
            parse_topics(Some("activity, overview,activity")).ok(),
            Some(vec![Topic::Activity, Topic::Overview])
        );
        assert_eq!(
            parse_topics(Some("overview,locks")).ok(),
            Some(vec![Topic::Overview, Topic::Locks])
        );
        assert!(parse_topics(Some("overview,bloat")).is_err());
        assert!(parse_topics(Some("<script>")).is_err());
    }
}
