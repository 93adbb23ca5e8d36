//! Credential requests from the endpoint's connections, answered one at a time on one thread.
//!
//! Answering in turn is the in-process single flight: a burst of requests on a cold or expiring
//! cache waits for one fetch and shares its result. Each fetch goes through
//! [`flow::obtain`], so the on-disk cache, its lock (shared with `credential_process`
//! runs in other processes), the refresh margin and the stale fallback behave exactly as in
//! credential mode.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use tokio::sync::oneshot;

use crate::cache;
use crate::config::Config;
use crate::context::Ctx;
use crate::credentials::Credentials;
use crate::flow;

/// Credentials, or the (secret-free) reason there are none.
pub(super) type Answer = Result<Credentials, String>;

struct Ask {
    /// How many fetches had finished when the request came in.
    seen: u64,
    reply: oneshot::Sender<Answer>,
}

/// The connections' end: asks for credentials and waits for the answer.
#[derive(Clone)]
pub(super) struct Asker {
    tx: mpsc::Sender<Ask>,
    fetches: Arc<AtomicU64>,
}

/// The answering thread's end.
pub(super) struct Requests {
    rx: mpsc::Receiver<Ask>,
    fetches: Arc<AtomicU64>,
}

pub(super) fn channel() -> (Asker, Requests) {
    let (tx, rx) = mpsc::channel();
    let fetches = Arc::new(AtomicU64::new(0));
    (
        Asker {
            tx,
            fetches: fetches.clone(),
        },
        Requests { rx, fetches },
    )
}

impl Asker {
    pub(super) async fn credentials(&self) -> Answer {
        let (reply, answer) = oneshot::channel();
        let ask = Ask {
            seen: self.fetches.load(Ordering::SeqCst),
            reply,
        };
        if self.tx.send(ask).is_err() {
            return Err("the endpoint is shutting down".into());
        }
        answer
            .await
            .unwrap_or_else(|_| Err("the endpoint is shutting down".into()))
    }
}

/// Answers requests until every [`Asker`] is gone.
pub(super) fn answer(ctx: &Ctx, cfg: &Config, requests: Requests, first: Credentials) {
    let margin = cache::refresh_margin(
        cfg.cache.refresh_margin.value,
        cfg.role.duration_seconds.value,
    );
    let mut current = first;
    let mut last_error: Option<String> = None;
    while let Ok(ask) = requests.rx.recv() {
        let now = ctx.clock.now();
        let done = requests.fetches.load(Ordering::SeqCst);
        let answer = if current.is_fresh(now, margin) {
            Ok(current.clone())
        } else if ask.seen < done {
            // A fetch finished after this request came in (it waited for that very fetch):
            // share its outcome rather than asking STS again for every request of a burst.
            match &last_error {
                Some(e) => Err(e.clone()),
                None if current.remaining(now) > chrono::Duration::zero() => Ok(current.clone()),
                None => fetch(ctx, cfg, &requests, &mut current, &mut last_error),
            }
        } else {
            fetch(ctx, cfg, &requests, &mut current, &mut last_error)
        };
        // The client may have gone away meanwhile; nothing to do about it.
        let _ = ask.reply.send(answer);
    }
}

fn fetch(
    ctx: &Ctx,
    cfg: &Config,
    requests: &Requests,
    current: &mut Credentials,
    last_error: &mut Option<String>,
) -> Answer {
    let outcome = flow::obtain(ctx, cfg);
    requests.fetches.fetch_add(1, Ordering::SeqCst);
    match outcome {
        Ok(creds) => {
            *current = creds.clone();
            *last_error = None;
            Ok(creds)
        }
        Err(e) => {
            ctx.diag
                .warn(format!("endpoint: could not obtain credentials: {e}"));
            let what = e.message().what.clone();
            *last_error = Some(what.clone());
            Err(what)
        }
    }
}
