//! How long to wait before retrying a pipeline whose reconcile failed: doubling from 5 s to
//! 5 min per object, reset by a success, with jitter so pipelines that failed together
//! (Kafka went away) do not come back in lockstep.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use kube::core::DeserializeGuard;
use kube::runtime::reflector::ObjectRef;
use optionsflow_api::crd::OptionsPipeline;

const FIRST: Duration = Duration::from_secs(5);
const MAX: Duration = Duration::from_secs(300);

type Key = ObjectRef<DeserializeGuard<OptionsPipeline>>;

#[derive(Default)]
pub struct Retries {
    failures: Mutex<HashMap<Key, u32>>,
}

impl Retries {
    /// The delay before the next attempt, counting this failure.
    pub fn next(&self, key: &Key) -> Duration {
        let mut failures = self.failures.lock().expect("not poisoned");
        let n = failures.entry(key.clone()).or_default();
        let base = delay(*n);
        *n = n.saturating_add(1);
        // Up to a tenth more, from the clock's nanoseconds: cheap and good enough to spread.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        base + base.mul_f64(f64::from(nanos % 1000) / 10_000.0)
    }

    pub fn reset(&self, key: &Key) {
        self.failures.lock().expect("not poisoned").remove(key);
    }
}

/// The delay after `failures` earlier failures, without jitter.
fn delay(failures: u32) -> Duration {
    FIRST
        .checked_mul(1u32.checked_shl(failures.min(16)).unwrap_or(u32::MAX))
        .unwrap_or(MAX)
        .min(MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_five_minutes_and_reset() {
        assert_eq!(delay(0), FIRST);
        assert_eq!(delay(1), Duration::from_secs(10));
        assert_eq!(delay(5), Duration::from_secs(160));
        assert_eq!(delay(6), MAX);
        assert_eq!(delay(40), MAX);
        let retries = Retries::default();
        let key = ObjectRef::new("p").within("ns");
        let first = retries.next(&key);
        let second = retries.next(&key);
        assert!(first >= FIRST && first <= FIRST.mul_f64(1.1));
        assert!(second >= Duration::from_secs(10) && second <= Duration::from_secs(11));
        retries.reset(&key);
        assert!(retries.next(&key) <= FIRST.mul_f64(1.1));
    }
}
