use super::*;
use optionsflow_api::runtime_config::Budget;

fn account(id: &str, rotation: u32, per_window: u32, per_day: Option<u32>) -> AccountSpec {
    AccountSpec {
        pool: Pool::TwelveData,
        id: id.into(),
        rotation,
        budget: Budget {
            per_window,
            window_seconds: 60,
            per_day,
            burst: None,
        },
    }
}

fn free_key(id: &str, rotation: u32) -> AccountSpec {
    account(id, rotation, 8, Some(800))
}

/// 2026-11-24 10:00:00 UTC, the start of a window.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap()
}

fn at(seconds: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(seconds)
}

/// Partition `p`'s share of a free key (rotation 0) in the window holding `t`.
fn share(p: u32, t: DateTime<Utc>) -> u32 {
    window_share(8, 5, 0, t.timestamp().div_euclid(60), p)
}

fn gate(accounts: Vec<AccountSpec>, owned: &[u32], assigned_at: DateTime<Utc>) -> GateState {
    let mut g = GateState::new(accounts, Duration::seconds(2));
    g.assign(owned, assigned_at);
    g.set_partitions(5, at(-1000));
    for p in g.pending_ledgers() {
        g.load_ledger(p, None, assigned_at);
    }
    g
}

/// Takes one credit at a time until refused; returns what was granted and the refusal.
fn drain(g: &mut GateState, now: DateTime<Utc>) -> (u32, Take) {
    let mut total = 0;
    loop {
        match g.try_take(Pool::TwelveData, 1, now) {
            Take::Granted(grant) => total += grant.credits,
            other => return (total, other),
        }
    }
}

#[test]
fn one_owner_of_every_partition_gets_the_whole_window_then_waits() {
    let mut g = gate(vec![free_key("k", 0)], &[0, 1, 2, 3, 4], at(-30));
    let (granted, refusal) = drain(&mut g, at(10));
    assert_eq!(granted, 8);
    assert_eq!(refusal, Take::Wait(at(62)), "next window plus the guard");
    assert_eq!(drain(&mut g, at(62)).0, 8);
}

#[test]
fn a_new_owner_waits_for_the_next_window() {
    let mut g = gate(vec![free_key("k", 0)], &[0, 1, 2, 3, 4], at(5));
    assert_eq!(g.try_take(Pool::TwelveData, 8, at(10)), Take::Wait(at(62)));
    assert_eq!(drain(&mut g, at(62)).0, 8);
}

#[test]
fn requests_keep_away_from_window_edges() {
    let mut g = gate(vec![free_key("k", 0)], &[0, 1, 2, 3, 4], at(-90));
    assert_eq!(g.try_take(Pool::TwelveData, 1, at(1)), Take::Wait(at(2)));
    assert_eq!(g.try_take(Pool::TwelveData, 1, at(59)), Take::Wait(at(62)));
    assert!(matches!(
        g.try_take(Pool::TwelveData, 1, at(2)),
        Take::Granted(_)
    ));
}

#[test]
fn two_owners_together_spend_exactly_the_budget_every_window() {
    let keys = || vec![free_key("a", 0), free_key("b", 1)];
    let mut first = gate(keys(), &[0, 1, 2], at(-60));
    let mut second = gate(keys(), &[3, 4], at(-60));
    for window in 0..25 {
        let now = at(window * 60 + 30);
        let mut per_key = [0u32; 2];
        for g in [&mut first, &mut second] {
            while let Take::Granted(grant) = g.try_take(Pool::TwelveData, 3, now) {
                per_key[grant.account] += grant.credits;
                assert_eq!(
                    grant.charges.iter().map(|(_, n)| n).sum::<u32>(),
                    grant.credits
                );
            }
        }
        assert_eq!(per_key, [8, 8], "window {window}");
    }
}

#[test]
fn grants_never_exceed_what_was_asked_for() {
    let mut g = gate(vec![free_key("k", 0)], &[0, 1, 2, 3, 4], at(-60));
    match g.try_take(Pool::TwelveData, 3, at(10)) {
        Take::Granted(grant) => assert_eq!(grant.credits, 3),
        other => panic!("{other:?}"),
    }
    match g.try_take(Pool::TwelveData, 120, at(10)) {
        Take::Granted(grant) => assert_eq!(grant.credits, 5),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_day_budget_is_split_and_then_waits_for_midnight() {
    let key = || vec![account("k", 0, 8, Some(20))];
    let mut first = gate(key(), &[0, 1, 2], at(-60));
    let mut second = gate(key(), &[3, 4], at(-60));
    let mut total = 0;
    for window in 0..10 {
        let now = at(window * 60 + 30);
        total += drain(&mut first, now).0 + drain(&mut second, now).0;
    }
    assert_eq!(total, 20);
    let midnight = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 2).unwrap();
    assert_eq!(
        first.try_take(Pool::TwelveData, 1, at(700)),
        Take::Wait(midnight)
    );
    assert!(matches!(
        first.try_take(Pool::TwelveData, 1, midnight),
        Take::Granted(_)
    ));
}

#[test]
fn a_partition_handed_over_keeps_its_day_usage_through_the_ledger() {
    let key = || vec![account("k", 0, 8, Some(20))];
    let mut before = gate(key(), &[0], at(-60));
    let (spent, _) = drain(&mut before, at(30));
    assert_eq!(spent, share(0, at(30)));
    let record = before.ledger_record(0, "collector-a", at(30));
    assert_eq!(record.used["k"], 2);

    let mut after = GateState::new(key(), Duration::seconds(2));
    after.assign(&[0], at(40));
    after.set_partitions(5, at(40));
    assert_eq!(after.pending_ledgers(), [0]);
    assert_eq!(
        after.try_take(Pool::TwelveData, 1, at(70)),
        Take::Idle,
        "not before the ledger is read"
    );
    after.load_ledger(0, Some(&record), at(40));
    let mut total = spent;
    for window in 1..20 {
        total += drain(&mut after, at(window * 60 + 30)).0;
    }
    assert_eq!(total, 4, "partition 0's day share of 20 over 5 partitions");
}

#[test]
fn yesterdays_ledger_does_not_count() {
    let key = || vec![account("k", 0, 8, Some(20))];
    let mut g = GateState::new(key(), Duration::seconds(2));
    g.assign(&[0], at(0));
    g.set_partitions(5, at(-1000));
    let old = LedgerRecord {
        partition: 0,
        day: t0().date_naive().pred_opt().unwrap(),
        used: [("k".to_string(), 4)].into(),
        writer: "x".into(),
        written_at: at(-86_400),
    };
    g.load_ledger(0, Some(&old), at(0));
    assert_eq!(drain(&mut g, at(90)).0, share(0, at(90)));
}

#[test]
fn rate_limits_pause_the_account() {
    let mut g = gate(vec![free_key("k", 0)], &[0, 1, 2, 3, 4], at(-60));
    g.rate_limited(0, RateScope::Window, at(10));
    assert_eq!(g.try_take(Pool::TwelveData, 1, at(11)), Take::Wait(at(62)));
    g.rate_limited(0, RateScope::Day, at(70));
    let midnight = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 2).unwrap();
    assert_eq!(
        g.try_take(Pool::TwelveData, 1, at(71)),
        Take::Wait(midnight)
    );
}

/// Yahoo's default: 30 a minute, two back to back.
fn yahoo() -> AccountSpec {
    AccountSpec {
        pool: Pool::Yahoo,
        id: "yahoo".into(),
        rotation: 0,
        budget: Budget {
            per_window: 30,
            window_seconds: 60,
            per_day: None,
            burst: Some(2),
        },
    }
}

/// Takes one credit at a time as soon as the gate allows, from `from` to `to`; the instants
/// of the grants.
fn paced_grants(g: &mut GateState, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut now = from;
    let mut grants = Vec::new();
    while now < to {
        match g.try_take(Pool::Yahoo, 1, now) {
            Take::Granted(grant) => {
                assert_eq!(grant.credits, 1);
                grants.push(now);
            }
            Take::Wait(next) => now = next,
            Take::Idle => panic!("idle"),
        }
    }
    grants
}

#[test]
fn paced_requests_are_spread_over_the_window() {
    // The only collector: 30 a minute means one every 2 s after a burst of two.
    let mut g = gate(vec![yahoo()], &[0, 1, 2, 3, 4], at(-60));
    let grants = paced_grants(&mut g, at(0), at(60));
    assert_eq!(&grants[..3], [at(2), at(2), at(4)], "after the guard band");
    for pair in grants[1..].windows(2) {
        assert_eq!(pair[1] - pair[0], Duration::seconds(2), "{grants:?}");
    }
    // No more than the window's 30, and never more than two within any second.
    assert!(grants.len() <= 30 && grants.len() >= 28, "{}", grants.len());
}

#[test]
fn a_replica_paces_in_proportion_to_its_partitions() {
    // Two of five partitions: 2/5 of 30 a minute, one every 5 s.
    let mut g = gate(vec![yahoo()], &[1, 3], at(-60));
    let grants = paced_grants(&mut g, at(0), at(30));
    assert_eq!(grants[2] - grants[1], Duration::seconds(5), "{grants:?}");
}

#[test]
fn unspecified_rate_limits_slow_the_pace_without_minutes_of_silence() {
    let mut g = gate(vec![yahoo()], &[0, 1, 2, 3, 4], at(-60));
    let _ = paced_grants(&mut g, at(0), at(10));
    // A 429 without Retry-After: a pause of one new interval (4 s), then one every 4 s.
    g.rate_limited(0, RateScope::Unspecified, at(10));
    let grants = paced_grants(&mut g, at(10), at(30));
    assert_eq!(grants[0], at(14), "{grants:?}");
    assert_eq!(grants[1] - grants[0], Duration::seconds(4), "{grants:?}");
    // A second one: 8 s.
    g.rate_limited(0, RateScope::Unspecified, at(30));
    let grants = paced_grants(&mut g, at(30), at(50));
    assert_eq!(grants[0], at(38), "{grants:?}");
    // Ten good answers speed it up one step.
    for _ in 0..10 {
        g.succeeded(0);
    }
    let grants = paced_grants(&mut g, at(50), at(80));
    assert_eq!(grants[2] - grants[1], Duration::seconds(4), "{grants:?}");
}

#[test]
fn retry_after_is_honoured() {
    let mut g = gate(vec![yahoo()], &[0, 1, 2, 3, 4], at(-60));
    g.rate_limited(
        0,
        RateScope::After(std::time::Duration::from_secs(17)),
        at(10),
    );
    assert_eq!(g.try_take(Pool::Yahoo, 1, at(11)), Take::Wait(at(27)));
    assert!(matches!(
        g.try_take(Pool::Yahoo, 1, at(27)),
        Take::Granted(_)
    ));
    // One only, then the slowed pace.
    assert_eq!(g.try_take(Pool::Yahoo, 1, at(27)), Take::Wait(at(31)));
}

#[test]
fn unpaced_accounts_spend_a_window_at_once() {
    let mut g = gate(vec![free_key("k", 0)], &[0, 1, 2, 3, 4], at(-60));
    match g.try_take(Pool::TwelveData, 8, at(10)) {
        Take::Granted(grant) => assert_eq!(grant.credits, 8),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_account_with_most_credits_left_is_chosen() {
    let mut g = gate(
        vec![free_key("a", 0), free_key("b", 1)],
        &[0, 1, 2, 3, 4],
        at(-60),
    );
    match g.try_take(Pool::TwelveData, 5, at(10)) {
        Take::Granted(grant) => assert_eq!((grant.account, grant.credits), (0, 5)),
        other => panic!("{other:?}"),
    }
    match g.try_take(Pool::TwelveData, 5, at(10)) {
        Take::Granted(grant) => assert_eq!((grant.account, grant.credits), (1, 5)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn nothing_owned_or_unknown_partition_count_is_idle() {
    let mut g = GateState::new(vec![free_key("k", 0)], Duration::seconds(2));
    g.set_partitions(5, at(-1000));
    assert_eq!(g.try_take(Pool::TwelveData, 1, at(10)), Take::Idle);
    g.assign(&[1], at(-60));
    assert_eq!(
        g.partitions(),
        None,
        "a rebalance forgets the partition count"
    );
    assert_eq!(g.try_take(Pool::TwelveData, 1, at(10)), Take::Idle);
    g.revoke(&[1]);
    assert!(g.owned().is_empty());
}

#[test]
fn other_pools_are_not_touched() {
    let mut g = gate(vec![free_key("k", 0)], &[0, 1, 2, 3, 4], at(-60));
    assert_eq!(g.try_take(Pool::Yahoo, 1, at(10)), Take::Idle);
}

#[test]
fn short_windows_shrink_the_guard() {
    let mut spec = free_key("k", 0);
    spec.budget.window_seconds = 5;
    let mut g = gate(vec![spec], &[0, 1, 2, 3, 4], at(-10));
    assert_eq!(
        g.try_take(Pool::TwelveData, 1, at(0)),
        Take::Wait(t0() + Duration::milliseconds(500))
    );
}

#[test]
fn credits_left_reports_this_processs_share() {
    let mut g = gate(vec![free_key("k", 0)], &[0, 1, 2], at(-60));
    let window: u32 = (0..3).map(|p| share(p, at(10))).sum();
    assert_eq!(g.credits_left(0, at(10)), (window, Some(480)));
    drain(&mut g, at(10));
    assert_eq!(g.credits_left(0, at(10)), (0, Some(480 - window)));
}

#[test]
fn credits_left_without_a_day_limit() {
    let mut g = gate(vec![account("y", 0, 30, None)], &[0, 1, 2, 3, 4], at(-60));
    assert_eq!(g.credits_left(0, at(10)), (30, None));
}

#[test]
fn a_new_partition_count_waits_for_the_next_window() {
    let mut g = gate(vec![free_key("k", 0)], &[0, 1, 2], at(-60));
    let before = drain(&mut g, at(10)).0;
    assert!(before > 0);
    // task-queue grew to 6 partitions: this window's shares are not comparable any more.
    g.assign(&[], at(20));
    g.set_partitions(6, at(20));
    assert_eq!(g.try_take(Pool::TwelveData, 1, at(30)), Take::Wait(at(62)));
    let after: u32 = (0..3)
        .map(|p| window_share(8, 6, 0, at(70).timestamp().div_euclid(60), p))
        .sum();
    assert_eq!(drain(&mut g, at(70)).0, after);
    // The same count again fences nothing.
    g.set_partitions(6, at(125));
    assert!(drain(&mut g, at(130)).0 > 0);
}
