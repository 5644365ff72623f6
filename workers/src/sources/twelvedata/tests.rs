use super::*;

fn syms(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

const MSFT: &str = r#"{
  "meta": {"symbol":"MSFT","interval":"1day","currency":"USD","exchange_timezone":"America/New_York",
           "exchange":"NASDAQ","mic_code":"XNGS","type":"Common Stock"},
  "values": [
    {"datetime":"2025-03-13","open":"380.10000","high":"384.0","low":"379.5","close":"381.90","volume":"18000000"},
    {"datetime":"2025-03-14","open":"383.10000","high":"389.20000","low":"382.90000","close":"388.56000","volume":"19952800"}
  ],
  "status": "ok"
}"#;

fn series(r: &SymbolResult) -> &TimeSeries {
    match r {
        Ok(SymbolOutcome::Series(s)) => &s.series,
        other => panic!("expected a series, got {other:?}"),
    }
}

#[test]
fn single_symbol_answer() {
    let out = parse_answer(StatusCode::OK, MSFT.as_bytes(), &syms(&["MSFT"])).unwrap();
    assert_eq!(out.len(), 1);
    let s = series(&out[0].1);
    assert_eq!(s.values.len(), 2);
    assert_eq!(s.values[1].close.to_f64(), 388.56);
    assert_eq!(
        s.meta.exchange_timezone.as_deref(),
        Some("America/New_York")
    );
}

#[test]
fn batch_answer_with_a_failing_symbol() {
    let body = format!(
        r#"{{"MSFT": {MSFT}, "ZZZZ": {{"code":404,"message":"**symbol** not found: ZZZZ","status":"error"}}}}"#
    );
    let out = parse_answer(StatusCode::OK, body.as_bytes(), &syms(&["MSFT", "ZZZZ"])).unwrap();
    assert_eq!(series(&out[0].1).values.len(), 2);
    let err = out[1].1.as_ref().unwrap_err();
    assert_eq!(err.reason().as_str(), "not_found");
    assert!(err.to_string().contains("ZZZZ"), "{err}");
}

#[test]
fn batch_answer_missing_a_symbol_is_malformed_for_that_symbol_only() {
    let body = format!(r#"{{"MSFT": {MSFT}}}"#);
    let out = parse_answer(StatusCode::OK, body.as_bytes(), &syms(&["MSFT", "AAPL"])).unwrap();
    assert!(out[0].1.is_ok());
    let err = out[1].1.as_ref().unwrap_err();
    assert_eq!(err.reason().as_str(), "malformed_answer");
    assert!(err.to_string().contains("AAPL"));
}

#[test]
fn error_body_with_http_200_is_an_error() {
    let body = r#"{"code":401,"message":"**apikey** parameter is incorrect or not specified.","status":"error"}"#;
    let err = parse_answer(StatusCode::OK, body.as_bytes(), &syms(&["AAPL"])).unwrap_err();
    assert_eq!(err.reason().as_str(), "unauthorized");
}

#[test]
fn minute_and_day_rate_limits_are_told_apart() {
    let minute = r#"{"code":429,"message":"You have run out of API credits for the current minute. 9 API credits were used, with the current limit being 8. Wait for the next minute or consider switching to a higher tier plan at https://twelvedata.com/pricing","status":"error"}"#;
    let day = r#"{"code":429,"message":"You have run out of API credits for the day. 801 API credits were used, with the current limit being 800. Wait for the next day or consider switching to a higher tier plan at https://twelvedata.com/pricing","status":"error"}"#;
    for (status, body, expected) in [
        (StatusCode::OK, minute, RateScope::Window),
        (StatusCode::TOO_MANY_REQUESTS, minute, RateScope::Window),
        (StatusCode::OK, day, RateScope::Day),
        (StatusCode::TOO_MANY_REQUESTS, day, RateScope::Day),
    ] {
        match parse_answer(status, body.as_bytes(), &syms(&["AAPL", "MSFT"])).unwrap_err() {
            ProviderError::RateLimited { scope, .. } => assert_eq!(scope, expected),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn no_data_is_an_empty_result() {
    let body = r#"{"code":400,"message":"No data is available on the specified dates. Try setting different start/end dates.","status":"error"}"#;
    let out = parse_answer(StatusCode::OK, body.as_bytes(), &syms(&["AAPL"])).unwrap();
    assert!(matches!(out[0].1, Ok(SymbolOutcome::NoData { .. })));
    let in_batch = format!(r#"{{"AAPL": {body}, "MSFT": {MSFT}}}"#);
    let out = parse_answer(
        StatusCode::OK,
        in_batch.as_bytes(),
        &syms(&["AAPL", "MSFT"]),
    )
    .unwrap();
    assert!(matches!(out[0].1, Ok(SymbolOutcome::NoData { .. })));
    assert!(out[1].1.is_ok());
}

#[test]
fn other_errors_keep_their_codes() {
    let cases = [
        (400, "**interval** is not valid", "rejected"),
        (403, "upgrade your plan", "rejected"),
        (414, "too long", "rejected"),
        (500, "internal error", "server_error"),
    ];
    for (code, message, reason) in cases {
        let body = format!(r#"{{"code":{code},"message":"{message}","status":"error"}}"#);
        let err = parse_answer(StatusCode::OK, body.as_bytes(), &syms(&["AAPL"])).unwrap_err();
        assert_eq!(err.reason().as_str(), reason, "{code}");
        assert_eq!(err.is_transient(), code >= 500, "{code}");
    }
}

#[test]
fn non_json_bodies() {
    let err = parse_answer(
        StatusCode::BAD_GATEWAY,
        b"<html>bad gateway</html>",
        &syms(&["AAPL"]),
    )
    .unwrap_err();
    assert_eq!(err.reason().as_str(), "server_error");
    let err = parse_answer(
        StatusCode::TOO_MANY_REQUESTS,
        b"slow down",
        &syms(&["AAPL"]),
    )
    .unwrap_err();
    assert_eq!(err.reason().as_str(), "rate_limited");
    let err = parse_answer(StatusCode::OK, b"{\"meta\": {\"sym", &syms(&["AAPL"])).unwrap_err();
    assert_eq!(err.reason().as_str(), "malformed_answer");
    assert!(err.to_string().contains("twelvedata") && err.to_string().contains("AAPL"));
}

#[test]
fn a_bad_number_names_the_field() {
    let body = MSFT.replace("\"388.56000\"", "\"n/a\"");
    let out = parse_answer(StatusCode::OK, body.as_bytes(), &syms(&["MSFT"])).unwrap();
    let err = out[0].1.as_ref().unwrap_err().to_string();
    assert!(err.contains("values[1].close"), "{err}");
    assert!(err.contains("MSFT"), "{err}");
}

#[test]
fn missing_optional_fields_are_fine() {
    let body = r#"{"meta":{},"values":[{"datetime":"2025-03-14","open":"1","high":"1","low":"1","close":"1"}],"status":"ok"}"#;
    let out = parse_answer(StatusCode::OK, body.as_bytes(), &syms(&["X"])).unwrap();
    assert_eq!(series(&out[0].1).values[0].volume, None);
}

#[test]
fn the_raw_answer_is_kept_verbatim() {
    let out = parse_answer(StatusCode::OK, MSFT.as_bytes(), &syms(&["MSFT"])).unwrap();
    let Ok(SymbolOutcome::Series(s)) = &out[0].1 else {
        panic!()
    };
    assert_eq!(s.raw, serde_json::from_str::<Value>(MSFT).unwrap());
}
