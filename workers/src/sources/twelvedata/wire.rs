//! Twelve Data's `time_series` format, as the provider sends it (numbers as JSON strings).
//!
//! The processor reads raw envelopes with these same types, so the rules for what a valid
//! answer is live in one place.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One symbol's successful answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeSeries {
    pub meta: Meta,
    pub values: Vec<Bar>,
    pub status: String,
}

/// The spec marks these required; we accept their absence and let the processor decide.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mic_code: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub instrument_type: Option<String>,
}

/// One bar. `datetime` is exchange-local and marks the bar's open: `YYYY-MM-DD` for daily
/// bars, `YYYY-MM-DD HH:MM:SS` for intraday ones.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    pub datetime: String,
    pub open: DecimalText,
    pub high: DecimalText,
    pub low: DecimalText,
    pub close: DecimalText,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<DecimalText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_close: Option<DecimalText>,
}

/// Twelve Data's error object, also used per symbol inside batch answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    #[serde(default)]
    pub code: Option<u16>,
    #[serde(default)]
    pub message: String,
    pub status: String,
}

/// A decimal number as Twelve Data writes it: a JSON string such as `"383.10000"` (a JSON
/// number is accepted too). The text is kept exactly, so no precision is lost before the
/// processor decides how to read it; it is checked to be a finite number on arrival.
#[derive(Clone, PartialEq, Eq)]
pub struct DecimalText(String);

impl DecimalText {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn to_f64(&self) -> f64 {
        self.0.parse().expect("checked on construction")
    }

    pub fn parse(text: &str) -> Result<DecimalText, String> {
        let t = text.trim();
        let plain = !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
        match t.parse::<f64>() {
            Ok(v) if plain && v.is_finite() => Ok(DecimalText(t.to_owned())),
            _ => Err(format!("{text:?} is not a finite decimal number")),
        }
    }
}

impl fmt::Debug for DecimalText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for DecimalText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DecimalText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(serde_json::Number),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Text(t) => t,
            Raw::Number(n) => n.to_string(),
        };
        DecimalText::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_arrive_as_strings_or_numbers() {
        let bar: Bar = serde_json::from_str(
            r#"{"datetime":"2025-03-14","open":"383.10000","high":389.2,"low":"382.9","close":"388.56","volume":"19952800"}"#,
        )
        .unwrap();
        assert_eq!(bar.open.as_str(), "383.10000");
        assert_eq!(bar.high.to_f64(), 389.2);
        assert_eq!(bar.volume.unwrap().to_f64(), 19_952_800.0);
        assert_eq!(bar.previous_close, None);
    }

    #[test]
    fn non_numbers_are_refused() {
        for bad in ["\"abc\"", "\"NaN\"", "\"inf\"", "\"\"", "null", "\"1,5\""] {
            let text =
                format!(r#"{{"datetime":"d","open":{bad},"high":"1","low":"1","close":"1"}}"#);
            assert!(serde_json::from_str::<Bar>(&text).is_err(), "{bad}");
        }
    }

    #[test]
    fn serializes_back_to_the_provider_format() {
        let bar: Bar = serde_json::from_str(
            r#"{"datetime":"2025-03-14 09:30:00","open":"1.5","high":"2","low":"1","close":"1.75"}"#,
        )
        .unwrap();
        let json = serde_json::to_value(&bar).unwrap();
        assert_eq!(json["open"], "1.5");
        assert!(json.get("volume").is_none());
    }
}
