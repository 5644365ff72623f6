//! Facts about collection that both sides compute with: the trigger and collector act on
//! them, the operator predicts a pipeline's provider demand from them (docs/budgets.md).

/// The regular session in New York: 09:30 to 16:00 (hours, minutes).
pub const REGULAR_OPEN: (u32, u32) = (9, 30);
pub const REGULAR_CLOSE: (u32, u32) = (16, 0);

/// How long after the close an intraday run still collects the day's last bar.
pub const INTRADAY_GRACE_MINUTES: i64 = 15;

/// Trading days of daily bars one history request may cover: below Twelve Data's 5,000-bar
/// cap, with room for the extra day the client asks for.
pub const HISTORY_WINDOW_DAYS: usize = 4000;

/// Twelve Data credits one symbol costs in one time-series request.
pub const CREDITS_PER_SYMBOL: u64 = 1;
