//! The web page: one self-contained HTML file (no external scripts, fonts or styles, so it
//! works offline) that reads the API it is served by. Choose a symbol and an expiry; see the
//! chain as a table, the implied-volatility smile as a chart, the underlying's bars as a
//! chart, and its volatility forecasts against realized and implied volatility with the
//! models' scores. When the API wants a token, the page asks for one and keeps it in the browser.

use axum::http::header;
use axum::response::IntoResponse;

const PAGE: &str = include_str!("page.html");

pub async fn index() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
            ),
        ],
        PAGE,
    )
}
