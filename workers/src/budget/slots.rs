//! How an account's credits are dealt out to partitions. Pure arithmetic, no state.
//!
//! Number the credits of window `w` globally as `w·B + s` (`s` in `0..B`), shift by the
//! account's rotation, and give credit `c` to partition `c mod P`. Every window's credits go
//! to exactly one partition each, so the partitions' shares add up to the budget and never
//! more; over any `P` consecutive windows every partition gets exactly `B` credits, so no
//! partition is starved even when there are more partitions than credits. Day budgets are
//! dealt the same way once per day.

/// Credits partition `p` may spend in window `window` from a budget of `per_window`.
pub fn window_share(per_window: u32, partitions: u32, rotation: u32, window: i64, p: u32) -> u32 {
    let n = i64::from(partitions.max(1));
    let b = i64::from(per_window);
    let first = (window * b + i64::from(rotation)).rem_euclid(n);
    let extra = (i64::from(p) - first).rem_euclid(n) < b % n;
    per_window / partitions.max(1) + u32::from(extra)
}

/// Credits partition `p` may spend in one day from a budget of `per_day`.
pub fn day_share(per_day: u32, partitions: u32, rotation: u32, p: u32) -> u32 {
    window_share(per_day, partitions, rotation, 0, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_of_a_window_add_up_to_the_budget() {
        for per_window in [1, 3, 8, 9, 120, 377] {
            for partitions in 1..=12 {
                for rotation in 0..3 {
                    for window in [-3, 0, 1, 7, 29_000_000] {
                        let total: u32 = (0..partitions)
                            .map(|p| window_share(per_window, partitions, rotation, window, p))
                            .sum();
                        assert_eq!(
                            total, per_window,
                            "B={per_window} P={partitions} w={window}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn over_p_windows_every_partition_gets_the_full_budget() {
        for (per_window, partitions) in [(8, 5), (3, 5), (8, 10), (120, 7)] {
            for p in 0..partitions {
                let sum: u32 = (100..100 + i64::from(partitions))
                    .map(|w| window_share(per_window, partitions, 1, w, p))
                    .sum();
                assert_eq!(sum, per_window, "B={per_window} P={partitions} p={p}");
            }
        }
    }

    #[test]
    fn free_plan_over_five_partitions() {
        let shares: Vec<u32> = (0..5).map(|p| window_share(8, 5, 0, 0, p)).collect();
        assert_eq!(shares, [2, 2, 2, 1, 1]);
        let next: Vec<u32> = (0..5).map(|p| window_share(8, 5, 0, 1, p)).collect();
        assert_eq!(next, [2, 1, 1, 2, 2]);
        let day: Vec<u32> = (0..5).map(|p| day_share(800, 5, 0, p)).collect();
        assert_eq!(day, [160; 5]);
        assert_eq!((0..5).map(|p| day_share(803, 5, 2, p)).sum::<u32>(), 803);
    }
}
