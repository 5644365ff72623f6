use super::params::*;
use super::*;
use crate::stages::predict::models::Model;

fn quote(strike: f64, right: &str, iv: Option<f64>, log_moneyness: f64) -> QuoteRow {
    QuoteRow {
        contract: format!(
            "SPY   261218{}{:08}",
            if right == "call" { 'C' } else { 'P' },
            (strike * 1000.0) as u64
        ),
        snapshot_time: "2026-11-20T21:10:00.000000Z".into(),
        underlying: "SPY".into(),
        expiry: "2026-12-18".into(),
        right: right.into(),
        strike,
        bid: None,
        ask: None,
        last: None,
        volume: None,
        open_interest: None,
        underlying_price: Some(100.0),
        mid: None,
        spread: None,
        moneyness: None,
        log_moneyness: Some(log_moneyness),
        forward: Some(100.0 / log_moneyness.exp()),
        dividend_yield: 0.012,
        years_to_expiry: 0.077,
        iv,
        provider_iv: None,
        delta: None,
        gamma: None,
        theta: None,
        vega: None,
        rho: None,
        iv_status: "ok".into(),
        otm: Some((right == "call") == (log_moneyness >= 0.0)),
        exercise: "american".into(),
        source: "sample".into(),
        flags: String::new(),
    }
}

#[test]
fn an_american_smile_never_borrows_the_in_the_money_side() {
    // The out-of-the-money put at 90 has no IV; its in-the-money call does.
    let mut rows = vec![
        quote(90.0, "call", Some(0.30), -0.105),
        quote(90.0, "put", None, -0.105),
    ];
    assert_eq!(
        smile(&rows)[0].otm_iv,
        None,
        "American: a gap, not a biased IV"
    );
    for r in &mut rows {
        r.exercise = "european".into();
    }
    assert_eq!(
        smile(&rows)[0].otm_iv,
        Some(0.30),
        "European: parity makes them one"
    );
}

#[test]
fn the_smile_takes_puts_below_the_forward_and_calls_above() {
    let rows = [
        quote(90.0, "call", Some(0.30), -0.105),
        quote(90.0, "put", Some(0.28), -0.105),
        quote(100.0, "call", Some(0.20), 0.0),
        quote(100.0, "put", Some(0.21), 0.0),
        quote(110.0, "call", Some(0.18), 0.095),
        quote(110.0, "put", None, 0.095),
    ];
    let smile = smile(&rows);
    let otm: Vec<(f64, Option<f64>)> = smile.iter().map(|p| (p.strike, p.otm_iv)).collect();
    assert_eq!(
        otm,
        vec![(90.0, Some(0.28)), (100.0, Some(0.20)), (110.0, Some(0.18))]
    );
    assert_eq!(smile[2].put_iv, None);

    let atm = at_the_money(&rows).unwrap();
    assert_eq!(atm.atm_strike, 100.0);
    assert!((atm.atm_iv - 0.205).abs() < 1e-12);
    assert_eq!(atm.expiry, "2026-12-18");
    assert!(at_the_money(&[quote(100.0, "call", None, 0.0)]).is_none());
}

fn at_cursor(text: &str) -> Params {
    Params {
        cursor: Some(text.to_owned()),
        ..Params::default()
    }
}

#[test]
fn positions_read_back_and_anything_else_is_a_400() {
    let (at, strike, right) = at_cursor("1732545000123456/50.5/call")
        .chain_position()
        .unwrap()
        .unwrap();
    assert_eq!(stored(at), "2024-11-25T14:30:00.123456Z");
    assert_eq!((strike, right.as_str()), (50.5, "call"));
    for bad in ["x/1/call", "1/NaN/call", "1/inf/put", "1/1/both", "1/1", ""] {
        let e = at_cursor(bad).chain_position().unwrap_err();
        assert_eq!(e.status, 400, "{bad}");
        assert!(e.detail.contains(CHAIN_CURSOR), "{}", e.detail);
    }
    let (made, horizon, model) = at_cursor("1732545000000000/21/har_rv")
        .prediction_position()
        .unwrap()
        .unwrap();
    assert_eq!(stored(made), "2024-11-25T14:30:00.000000Z");
    assert_eq!((horizon, model), (21, Model::HarRv));
    assert_eq!(
        *PREDICTION_CURSOR,
        "^[0-9]{1,16}/(1|5|21)/(naive|ewma|har_rv|atm_iv)$"
    );
    for bad in ["0/2/naive", "0/1/m", "x/1/ewma", "0/1", ""] {
        let e = at_cursor(bad).prediction_position().unwrap_err();
        assert_eq!(e.status, 400, "{bad}");
    }
    assert_eq!(
        at_cursor("DROP TABLE")
            .symbol_position()
            .unwrap_err()
            .status,
        400
    );
    assert_eq!(
        at_cursor("brk.b").symbol_position().unwrap(),
        Some("BRK.B".into())
    );
}

#[test]
fn pages_end_with_a_cursor_only_when_rows_remain() {
    let (rows, next) = paginate(vec![1, 2, 3], 2, |n| n.to_string());
    assert_eq!((rows, next.as_deref()), (vec![1, 2], Some("2")));
    let (rows, next) = paginate(vec![1, 2], 2, |n| n.to_string());
    assert_eq!((rows, next), (vec![1, 2], None));
}

#[test]
fn bounds_are_validated_with_messages_that_say_what_is_wrong() {
    assert_eq!(
        stored(time("from", "2026-11-20", false).unwrap()),
        "2026-11-20T00:00:00.000000Z"
    );
    assert_eq!(
        stored(time("to", "2026-11-20", true).unwrap()),
        "2026-11-20T23:59:59.999999Z"
    );
    assert_eq!(
        stored(time("from", "2026-11-20T09:30:00-05:00", false).unwrap()),
        "2026-11-20T14:30:00.000000Z"
    );
    let e = time("from", "yesterday", false).unwrap_err();
    assert!(
        e.detail.contains("yesterday") && e.detail.contains("RFC 3339"),
        "{}",
        e.detail
    );
    let p = Params {
        limit: Some(0),
        ..Params::default()
    };
    assert!(p.limit().unwrap_err().detail.contains("1 to 10000"));
    let p = Params {
        expiry: Some("2026-12-18".into()),
        ..Params::default()
    };
    assert!(
        only(&p, &["from", "to"])
            .unwrap_err()
            .detail
            .contains("expiry")
    );
    assert!(symbol("spy").is_ok());
    assert_eq!(symbol("DROP TABLE").unwrap_err().status, 400);
}

#[test]
fn crafted_cursors_and_dates_at_the_edge_of_the_calendar_are_a_400_not_a_panic() {
    let with_cursor = |_kind: &str, key: &str| at_cursor(key);
    for key in [
        "+262142-12-31",
        "262142-12-31",
        "-0001-01-01",
        "2026-1-5",
        "2026-02-30",
    ] {
        let e = with_cursor("day", key).date_range().unwrap_err();
        assert_eq!(e.status, 400, "{key}");
    }
    for key in ["+262142-12-31T23:59:59.999999Z", "+262142-12-31"] {
        let e = with_cursor("time", key).time_range().unwrap_err();
        assert_eq!(e.status, 400, "{key}");
    }
    // No row is after the last day a date may name.
    assert_eq!(
        with_cursor("day", "9999-12-31")
            .date_range()
            .unwrap_err()
            .status,
        400
    );
    let (from, _) = with_cursor("day", "2026-11-20").date_range().unwrap();
    assert_eq!(from.to_string(), "2026-11-21");
    for text in ["+262142-12-31", "20261120", "2026-11-20x"] {
        assert_eq!(date("from", text).unwrap_err().status, 400, "{text}");
    }
}

mod never_panics {
    use proptest::prelude::*;

    use super::*;

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,40}",
            "[+-]?[0-9]{1,7}-[0-9]{1,2}-[0-9]{1,2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2}))?",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn any_cursor_and_bounds(
            key in text(),
            raw in "\\PC{0,40}",
            from in prop::option::of(text()),
            to in prop::option::of(text()),
            at in prop::option::of(text()),
            limit in prop::option::of(any::<u32>()),
        ) {
            for cursor in [key.clone(), raw.clone()] {
                let p = Params {
                    cursor: Some(cursor),
                    from: from.clone(),
                    to: to.clone(),
                    at: at.clone(),
                    limit,
                    ..Params::default()
                };
                let _ = p.limit();
                let _ = p.symbol_position();
                let _ = p.prediction_position();
                let _ = p.date_range();
                let _ = p.time_range();
                let _ = p.at();
                let _ = p.chain_position();
            }
        }

        #[test]
        fn any_symbol(text in "\\PC{0,24}") {
            let _ = symbol(&text);
        }
    }
}
