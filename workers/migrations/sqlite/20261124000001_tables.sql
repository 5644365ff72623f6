-- optionsflow's tables on SQLite, for one machine: the same columns as on PostgreSQL.
-- Times are UTC text, `YYYY-MM-DDTHH:MM:SS.ffffffZ` (fixed width, so text order is time
-- order); dates are `YYYY-MM-DD`; flags are comma-separated.

CREATE TABLE daily_bars (
    symbol      TEXT NOT NULL,
    trade_date  TEXT NOT NULL,
    bar_time    TEXT NOT NULL,
    open        REAL NOT NULL,
    high        REAL NOT NULL,
    low         REAL NOT NULL,
    close       REAL NOT NULL,
    volume      INTEGER,
    source      TEXT NOT NULL,
    flags       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (symbol, trade_date)
) WITHOUT ROWID;

CREATE TABLE intraday_bars (
    symbol      TEXT NOT NULL,
    "interval"  TEXT NOT NULL,
    bar_time    TEXT NOT NULL,
    trade_date  TEXT NOT NULL,
    open        REAL NOT NULL,
    high        REAL NOT NULL,
    low         REAL NOT NULL,
    close       REAL NOT NULL,
    volume      INTEGER,
    source      TEXT NOT NULL,
    flags       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (symbol, "interval", bar_time)
) WITHOUT ROWID;

CREATE TABLE option_quotes (
    contract          TEXT NOT NULL,
    snapshot_time     TEXT NOT NULL,
    underlying        TEXT NOT NULL,
    root              TEXT NOT NULL,
    expiry            TEXT NOT NULL,
    "right"           TEXT NOT NULL CHECK ("right" IN ('call', 'put')),
    strike            REAL NOT NULL,
    bid               REAL,
    ask               REAL,
    last              REAL,
    volume            INTEGER,
    open_interest     INTEGER,
    provider_iv       REAL,
    underlying_price  REAL,
    mid               REAL,
    spread            REAL,
    moneyness         REAL,
    log_moneyness     REAL,
    years_to_expiry   REAL NOT NULL,
    rate              REAL NOT NULL,
    dividend_yield    REAL NOT NULL,
    iv                REAL,
    delta             REAL,
    gamma             REAL,
    theta             REAL,
    vega              REAL,
    rho               REAL,
    iv_status         TEXT NOT NULL,
    source            TEXT NOT NULL,
    flags             TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (contract, snapshot_time)
) WITHOUT ROWID;

CREATE INDEX option_quotes_chain ON option_quotes (underlying, snapshot_time DESC, expiry);
CREATE INDEX option_quotes_expiry ON option_quotes (underlying, expiry, snapshot_time DESC);

CREATE TABLE predictions (
    symbol       TEXT NOT NULL,
    model        TEXT NOT NULL,
    made_at      TEXT NOT NULL,
    target_date  TEXT NOT NULL,
    value        REAL NOT NULL,
    lower        REAL,
    upper        REAL,
    PRIMARY KEY (symbol, model, target_date, made_at)
) WITHOUT ROWID;
