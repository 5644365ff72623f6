//! Intraday bars as InfluxDB line protocol
//! (<https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/>):
//!
//! `intraday_bars,interval=15min,source=twelvedata,symbol=AAPL open=1.5,high=2,low=1,close=1.75,volume=100i,filled=false 1732545000000000000`
//!
//! One point per bar, keyed by its tags and nanosecond timestamp, so writing a bar again
//! overwrites it: redelivery is harmless here too.

use std::fmt::Write;

use optionsflow_api::records::BarRecord;

/// The measurement intraday bars are written to.
pub const MEASUREMENT: &str = "intraday_bars";

/// The bars as line protocol, one line each (tags in key order, as InfluxDB prefers).
pub fn encode(bars: &[BarRecord]) -> String {
    let mut out = String::with_capacity(bars.len() * 140);
    for bar in bars {
        let Some(nanos) = bar.bar_time.timestamp_nanos_opt() else {
            continue;
        };
        out.push_str(MEASUREMENT);
        out.push_str(",interval=");
        escape_tag(&mut out, bar.interval.as_str());
        out.push_str(",source=");
        escape_tag(&mut out, bar.source.as_str());
        out.push_str(",symbol=");
        escape_tag(&mut out, &bar.symbol);
        let mut separator = ' ';
        for (name, value) in [
            ("open", bar.open),
            ("high", bar.high),
            ("low", bar.low),
            ("close", bar.close),
        ] {
            // Line protocol has no NaN or infinity; the processor never lets them through.
            if value.is_finite() {
                let _ = write!(out, "{separator}{name}={value}");
                separator = ',';
            }
        }
        if let Some(volume) = bar.volume {
            let _ = write!(out, "{separator}volume={volume}i");
        }
        let _ = writeln!(out, ",filled={} {nanos}", bar.is_filled());
    }
    out
}

/// Tag values escape commas, equals signs and spaces with a backslash.
fn escape_tag(out: &mut String, value: &str) {
    for c in value.chars() {
        if matches!(c, ',' | '=' | ' ') {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};
    use optionsflow_api::Source;
    use optionsflow_api::records::{BarInterval, QualityFlag};

    use super::*;

    fn bar(symbol: &str) -> BarRecord {
        BarRecord {
            symbol: symbol.into(),
            interval: BarInterval::FifteenMinutes,
            trade_date: NaiveDate::from_ymd_opt(2024, 11, 25).unwrap(),
            bar_time: Utc.with_ymd_and_hms(2024, 11, 25, 14, 30, 0).unwrap(),
            open: 1.5,
            high: 2.0,
            low: 1.0,
            close: 1.75,
            volume: Some(100),
            source: Source::TwelveData,
            fetched_at: None,
            flags: vec![],
        }
    }

    #[test]
    fn a_bar_is_one_line_with_integer_volume_and_nanosecond_time() {
        assert_eq!(
            encode(&[bar("AAPL")]),
            "intraday_bars,interval=15min,source=twelvedata,symbol=AAPL \
             open=1.5,high=2,low=1,close=1.75,volume=100i,filled=false 1732545000000000000\n"
        );
    }

    #[test]
    fn filled_bars_say_so_and_missing_volume_is_left_out() {
        let mut b = bar("BRK.B");
        b.volume = None;
        b.flags = vec![QualityFlag::Filled];
        let line = encode(&[b]);
        assert!(line.contains("close=1.75,filled=true "), "{line}");
        assert!(!line.contains("volume"), "{line}");
    }

    #[test]
    fn tag_values_are_escaped() {
        let line = encode(&[bar("A B,C=D")]);
        assert!(line.contains(r"symbol=A\ B\,C\=D "), "{line}");
    }
}
