//! Default values of the runtime config's fields (serde `default = "..."` functions).

use super::sources::Budget;

pub(super) fn yes() -> bool {
    true
}
pub(super) fn five() -> u32 {
    5
}
pub(super) fn eight() -> u32 {
    8
}
pub(super) fn ten() -> u32 {
    10
}
pub(super) fn thirty() -> u64 {
    30
}
pub(super) fn sixty() -> u32 {
    60
}
pub(super) fn ninety() -> u32 {
    90
}
pub(super) fn one_twenty() -> u32 {
    120
}
pub(super) fn half_second_ms() -> u64 {
    500
}
pub(super) fn minute_ms() -> u64 {
    60_000
}
pub(super) fn ten_seconds_ms() -> u32 {
    10_000
}
pub(super) fn new_york() -> String {
    "America/New_York".into()
}
pub(super) fn us_east_1() -> String {
    "us-east-1".into()
}
pub(super) fn database_url_env() -> String {
    "DATABASE_URL".into()
}
pub(super) fn twelvedata_url() -> String {
    "https://api.twelvedata.com".into()
}
pub(super) fn twelvedata_keys_env() -> String {
    "TWELVEDATA_API_KEYS".into()
}
pub(super) fn twelvedata_budget() -> Budget {
    Budget {
        per_window: 8,
        window_seconds: 60,
        per_day: Some(800),
        burst: None,
    }
}
pub(super) fn yahoo_url() -> String {
    "https://query2.finance.yahoo.com".into()
}
pub(super) fn yahoo_cookie_url() -> String {
    "https://fc.yahoo.com".into()
}
pub(super) fn yahoo_crumb_url() -> String {
    "https://query1.finance.yahoo.com/v1/test/getcrumb".into()
}
pub(super) fn yahoo_budget() -> Budget {
    Budget {
        per_window: 30,
        window_seconds: 60,
        per_day: None,
        burst: None,
    }
}
pub(super) fn cboe_url() -> String {
    "https://cdn.cboe.com".into()
}
pub(super) fn cboe_budget() -> Budget {
    Budget {
        per_window: 30,
        window_seconds: 60,
        per_day: None,
        burst: None,
    }
}
pub(super) fn index_symbols() -> Vec<String> {
    [
        "SPX", "SPXW", "XSP", "VIX", "NDX", "NDXP", "RUT", "MRUT", "DJX", "OEX", "XEO",
    ]
    .map(String::from)
    .to_vec()
}
pub(super) fn browser_user_agent() -> String {
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0 Safari/537.36"
        .into()
}
pub(super) fn five_thousand() -> u32 {
    5_000
}
pub(super) fn sixty_four_mib() -> u64 {
    64 << 20
}
pub(super) fn five_minutes_s() -> u64 {
    300
}
