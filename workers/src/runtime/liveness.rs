//! Whether a role is getting on with the work it holds, for `/healthz`: each holder (a
//! partition's worker) says when it made progress (took a message, stored a batch) and when
//! it holds nothing. A holder that holds work and has made no progress for longer than the
//! limit is stalled (a hung call, a store that never answers), and `/healthz` fails so that
//! Kubernetes restarts the pod; what it held is redone from the last committed offset.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long work may be held without progress by default: longer than any batch waits to
/// fill (`sinks.files.maxAgeSeconds`, 300 s by default) and than a flush's retries take to
/// outlast a short outage.
pub const DEFAULT_STALL_LIMIT: Duration = Duration::from_secs(600);

#[derive(Clone, Debug)]
pub struct Liveness {
    limit: Duration,
    /// Holder → when it last made progress on the work it holds.
    holders: Arc<Mutex<HashMap<String, Instant>>>,
}

impl Default for Liveness {
    fn default() -> Liveness {
        Liveness::new(DEFAULT_STALL_LIMIT)
    }
}

impl Liveness {
    pub fn new(limit: Duration) -> Liveness {
        Liveness {
            limit,
            holders: Arc::default(),
        }
    }

    /// `holder` made progress, and may hold work.
    pub fn progressed(&self, holder: &str) {
        self.holders
            .lock()
            .expect("not poisoned")
            .insert(holder.to_owned(), Instant::now());
    }

    /// `holder` holds nothing (it stored what it had, or stopped).
    pub fn idle(&self, holder: &str) {
        self.holders.lock().expect("not poisoned").remove(holder);
    }

    /// The holders with no progress for longer than the limit, and for how long, in name
    /// order.
    pub fn stalled(&self) -> Vec<(String, Duration)> {
        let mut out: Vec<(String, Duration)> = self
            .holders
            .lock()
            .expect("not poisoned")
            .iter()
            .map(|(h, at)| (h.clone(), at.elapsed()))
            .filter(|(_, quiet)| *quiet > self.limit)
            .collect();
        out.sort();
        out
    }

    pub fn limit(&self) -> Duration {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_work_held_without_progress_past_the_limit_is_stalled() {
        let live = Liveness::new(Duration::from_millis(40));
        live.progressed("t/0");
        live.progressed("t/1");
        assert!(live.stalled().is_empty());
        std::thread::sleep(Duration::from_millis(60));
        live.progressed("t/1");
        live.progressed("t/2");
        live.idle("t/2");
        let stalled: Vec<String> = live.stalled().into_iter().map(|(h, _)| h).collect();
        assert_eq!(stalled, ["t/0"]);
        live.idle("t/0");
        assert!(live.stalled().is_empty());
    }
}
