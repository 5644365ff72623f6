//! Exponential backoff with full jitter: the pause before attempt `n` is uniform in
//! `[0, min(max, initial·2ⁿ)]`, so replicas that failed together do not retry together.

use std::time::Duration;

use optionsflow_api::runtime_config::RetryPolicy;
use rand::RngExt;

#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max,
            attempt: 0,
        }
    }

    pub fn from_policy(policy: &RetryPolicy) -> Backoff {
        Backoff::new(
            Duration::from_millis(policy.initial_backoff_ms),
            Duration::from_millis(policy.max_backoff_ms),
        )
    }

    /// The ceiling of the next pause, before jitter.
    pub fn ceiling(&self) -> Duration {
        self.initial
            .saturating_mul(2u32.saturating_pow(self.attempt.min(30)))
            .min(self.max)
    }

    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt += 1;
        let nanos = ceiling.as_nanos().min(u128::from(u64::MAX)) as u64;
        Duration::from_nanos(rand::rng().random_range(0..=nanos))
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_maximum_and_delays_stay_below_them() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let mut ceilings = Vec::new();
        for _ in 0..6 {
            let ceiling = b.ceiling();
            ceilings.push(ceiling.as_millis());
            assert!(b.next_delay() <= ceiling);
        }
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        b.reset();
        assert_eq!(b.ceiling(), Duration::from_millis(100));
    }

    #[test]
    fn delays_are_jittered() {
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(10));
        let delays: std::collections::BTreeSet<_> = (0..20).map(|_| b.next_delay()).collect();
        assert!(delays.len() > 10, "{delays:?}");
    }
}
