//! The InfluxDB sink: the v1 API against a real InfluxDB 1.x (Debian's influxd), the v2 API
//! against a local server that checks each request as InfluxDB's documentation describes
//! `POST /api/v2/write` (Debian's InfluxDB 1.6 has no v2 endpoint).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use optionsflow_api::runtime_config::{InfluxApi, InfluxSink};
use optionsflow_testkit::influx::Influxd;
use optionsflow_testkit::records;
use optionsflow_workers::sinks::WriteError;
use optionsflow_workers::sinks::influx::Influx;
use optionsflow_workers::stages::write::line_protocol;

#[tokio::test]
async fn v1_bars_written_to_influxdb_are_answered_by_a_query() {
    let server = Influxd::start();
    server.query("", "CREATE DATABASE market");
    let sink = InfluxSink {
        url: server.url(),
        database: "market".into(),
        api: InfluxApi::V1,
        org: None,
        token_env: None,
    };
    let influx = Influx::new(&sink, None).unwrap();
    let mut bars = records::intraday_bars("AAPL", 26);
    bars.extend(records::intraday_bars("BRK B", 3));
    influx.write(&line_protocol::encode(&bars)).await.unwrap();
    // Written twice: points are keyed by series and time, so nothing doubles.
    influx.write(&line_protocol::encode(&bars)).await.unwrap();

    let answer = server.query(
        "market",
        "SELECT count(close) FROM intraday_bars GROUP BY symbol",
    );
    let series = answer["results"][0]["series"].as_array().unwrap();
    let counts: Vec<(String, i64)> = series
        .iter()
        .map(|s| {
            (
                s["tags"]["symbol"].as_str().unwrap().to_owned(),
                s["values"][0][1].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts, vec![("AAPL".into(), 26), ("BRK B".into(), 3)]);

    let answer = server.query(
        "market",
        "SELECT open, high, low, close, volume, filled FROM intraday_bars WHERE symbol = 'AAPL' ORDER BY time LIMIT 1",
    );
    let row = &answer["results"][0]["series"][0]["values"][0];
    let b = &bars[0];
    assert_eq!(row[0], "2024-11-25T14:30:00Z");
    assert_eq!(row[1].as_f64(), Some(b.open));
    assert_eq!(row[2].as_f64(), Some(b.high));
    assert_eq!(row[3].as_f64(), Some(b.low));
    assert_eq!(row[4].as_f64(), Some(b.close));
    assert_eq!(row[5].as_i64(), b.volume);
    assert_eq!(row[6], false);
}

#[tokio::test]
async fn v1_errors_are_told_apart_rejected_data_from_an_unavailable_server() {
    let server = Influxd::start();
    server.query("", "CREATE DATABASE market");
    let sink = |database: &str| InfluxSink {
        url: server.url(),
        database: database.into(),
        api: InfluxApi::V1,
        org: None,
        token_env: None,
    };
    let influx = Influx::new(&sink("market"), None).unwrap();
    let error = influx
        .write("intraday_bars close=oops\n")
        .await
        .unwrap_err();
    assert!(matches!(error, WriteError::Rejected { .. }), "{error}");

    // A database nobody created: InfluxDB answers 404; the role stops and says so.
    let missing = Influx::new(&sink("nowhere"), None).unwrap();
    let error = missing.write("intraday_bars close=1\n").await.unwrap_err();
    assert!(matches!(error, WriteError::Misconfigured { .. }), "{error}");
    assert!(error.to_string().contains("nowhere"), "{error}");

    let closed = InfluxSink {
        url: format!(
            "http://127.0.0.1:{}",
            optionsflow_testkit::tansu::free_port()
        ),
        ..sink("market")
    };
    let error = Influx::new(&closed, None)
        .unwrap()
        .write("intraday_bars close=1\n")
        .await
        .unwrap_err();
    assert!(matches!(error, WriteError::Unavailable { .. }), "{error}");
}

/// One request the fake server received: its query pairs, headers and body.
type Request = (Vec<(String, String)>, HeaderMap, String);

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Request>>>);

async fn v2_write(
    State(seen): State<Seen>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    seen.0
        .lock()
        .unwrap()
        .push((query.clone(), headers.clone(), body.clone()));
    // As InfluxDB 2.x does: 401 without the token, 400 with a JSON error for bad lines.
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Token s3cret") {
        return (
            StatusCode::UNAUTHORIZED,
            r#"{"code":"unauthorized","message":"unauthorized access"}"#.into(),
        );
    }
    if body.lines().any(|l| !l.starts_with("intraday_bars,")) {
        return (
            StatusCode::BAD_REQUEST,
            r#"{"code":"invalid","message":"unable to parse points"}"#.into(),
        );
    }
    (StatusCode::NO_CONTENT, String::new())
}

#[tokio::test]
async fn v2_requests_carry_org_bucket_precision_token_and_line_protocol() {
    let seen = Seen::default();
    let app = Router::new()
        .route("/api/v2/write", post(v2_write))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let sink = InfluxSink {
        url,
        database: "market".into(),
        api: InfluxApi::V2,
        org: Some("desk".into()),
        token_env: Some("INFLUX_TOKEN".into()),
    };
    let bars = records::intraday_bars("AAPL", 12_000);
    let lines = line_protocol::encode(&bars);
    Influx::new(&sink, Some("s3cret"))
        .unwrap()
        .write(&lines)
        .await
        .unwrap();
    {
        let seen = seen.0.lock().unwrap();
        // 12,000 points in requests of at most 5,000 lines.
        assert_eq!(seen.len(), 3);
        let (query, headers, _) = &seen[0];
        let q: Vec<(&str, &str)> = query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            q,
            vec![("org", "desk"), ("bucket", "market"), ("precision", "ns")]
        );
        assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
        assert_eq!(headers["accept"], "application/json");
        let sent: String = seen.iter().map(|(_, _, body)| body.as_str()).collect();
        assert_eq!(sent, lines);
        assert_eq!(seen[0].2.lines().count(), 5_000);
    }

    let error = Influx::new(&sink, Some("wrong"))
        .unwrap()
        .write(&lines)
        .await
        .unwrap_err();
    assert!(matches!(error, WriteError::Misconfigured { .. }), "{error}");
    assert!(error.to_string().contains("401"), "{error}");
    let error = Influx::new(&sink, Some("s3cret"))
        .unwrap()
        .write("garbage\n")
        .await
        .unwrap_err();
    assert!(matches!(error, WriteError::Rejected { .. }), "{error}");
    assert!(
        error.to_string().contains("unable to parse points"),
        "{error}"
    );
}
