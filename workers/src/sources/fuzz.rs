//! Every provider parser, fed what no provider should send: arbitrary bytes, JSON of the
//! providers' shapes with the wrong types and values, any status. Each gives an answer or a
//! [`ProviderError`], never a panic. Bounded (`PROPTEST_CASES` raises the count for a longer
//! run).

use proptest::prelude::*;
use reqwest::StatusCode;
use serde_json::Value;

use super::{cboe, twelvedata, yahoo};

/// JSON with the providers' keys at every level, and leaves of every type (also what the
/// processor's fuzz target wraps in envelopes).
pub(crate) fn provider_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[A-Z0-9 .:,-]{0,24}".prop_map(Value::from),
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]( [0-2][0-9]:[0-5][0-9]:00)?".prop_map(Value::from),
    ];
    let key = prop_oneof![
        Just("optionChain"),
        Just("result"),
        Just("error"),
        Just("options"),
        Just("calls"),
        Just("puts"),
        Just("quote"),
        Just("regularMarketPrice"),
        Just("expirationDate"),
        Just("expirationDates"),
        Just("contractSymbol"),
        Just("strike"),
        Just("bid"),
        Just("ask"),
        Just("impliedVolatility"),
        Just("data"),
        Just("option"),
        Just("current_price"),
        Just("meta"),
        Just("values"),
        Just("status"),
        Just("code"),
        Just("message"),
        Just("datetime"),
        Just("open"),
        Just("close"),
        Just("volume"),
        Just("AAPL"),
    ]
    .prop_map(str::to_owned);
    leaf.prop_recursive(5, 96, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(key.clone(), inner, 0..7)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn status() -> impl Strategy<Value = StatusCode> {
    prop_oneof![
        Just(200u16),
        Just(400),
        Just(401),
        Just(403),
        Just(404),
        Just(429),
        Just(500),
        Just(503),
        100u16..600,
    ]
    .prop_map(|s| StatusCode::from_u16(s).expect("100 to 599"))
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        provider_json().prop_map(|v| serde_json::to_vec(&v).expect("serializes")),
        prop::collection::vec(any::<u8>(), 0..256),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn twelve_data_answers(status in status(), body in body(), n in 1usize..3) {
        let symbols: Vec<String> = ["AAPL", "MSFT"][..n].iter().map(|s| s.to_string()).collect();
        let _ = twelvedata::parse_answer(status, &body, &symbols);
    }

    #[test]
    fn yahoo_chains(status in status(), body in body()) {
        let _ = yahoo::parse_chain(status, &body, "AAPL");
    }

    #[test]
    fn cboe_chains(status in status(), body in body()) {
        let _ = cboe::parse_chain(status, &body, "AAPL");
    }
}
