-- optionsflow's tables (docs/storage.md). Natural primary keys make every write an
-- idempotent upsert: a redelivered message changes nothing.
-- `right` is a keyword in SQL: quote it ("right") in queries.
-- Symbols and contracts are ASCII and compare by bytes (COLLATE "C"): cheaper index
-- maintenance than a locale's collation, and the same order everywhere.

CREATE TABLE daily_bars (
    symbol      text COLLATE "C" NOT NULL,
    trade_date  date             NOT NULL,
    bar_time    timestamptz      NOT NULL,
    open        double precision NOT NULL,
    high        double precision NOT NULL,
    low         double precision NOT NULL,
    close       double precision NOT NULL,
    volume      bigint,
    source      text             NOT NULL,
    flags       text[]           NOT NULL DEFAULT '{}',
    PRIMARY KEY (symbol, trade_date)
);

CREATE TABLE intraday_bars (
    symbol      text COLLATE "C" NOT NULL,
    "interval"  text COLLATE "C" NOT NULL,
    bar_time    timestamptz      NOT NULL,
    trade_date  date             NOT NULL,
    open        double precision NOT NULL,
    high        double precision NOT NULL,
    low         double precision NOT NULL,
    close       double precision NOT NULL,
    volume      bigint,
    source      text             NOT NULL,
    flags       text[]           NOT NULL DEFAULT '{}',
    PRIMARY KEY (symbol, "interval", bar_time)
);

CREATE TABLE option_quotes (
    contract          text COLLATE "C" NOT NULL,
    snapshot_time     timestamptz      NOT NULL,
    underlying        text COLLATE "C" NOT NULL,
    root              text COLLATE "C" NOT NULL,
    expiry            date             NOT NULL,
    "right"           text             NOT NULL CHECK ("right" IN ('call', 'put')),
    strike            double precision NOT NULL,
    bid               double precision,
    ask               double precision,
    last              double precision,
    volume            bigint,
    open_interest     bigint,
    provider_iv       double precision,
    underlying_price  double precision,
    mid               double precision,
    spread            double precision,
    moneyness         double precision,
    log_moneyness     double precision,
    years_to_expiry   double precision NOT NULL,
    rate              double precision NOT NULL,
    dividend_yield    double precision NOT NULL,
    iv                double precision,
    delta             double precision,
    gamma             double precision,
    theta             double precision,
    vega              double precision,
    rho               double precision,
    iv_status         text             NOT NULL,
    source            text             NOT NULL,
    flags             text[]           NOT NULL DEFAULT '{}',
    PRIMARY KEY (contract, snapshot_time)
);

-- A chain: one underlying's contracts at one snapshot, by expiry (the latest snapshot is
-- the first row of a descending scan). A contract's history is the primary key's prefix.
CREATE INDEX option_quotes_chain ON option_quotes (underlying, snapshot_time DESC, expiry);
-- The smile and term structure of one expiry across snapshots.
CREATE INDEX option_quotes_expiry ON option_quotes (underlying, expiry, snapshot_time DESC);

CREATE TABLE predictions (
    symbol       text COLLATE "C" NOT NULL,
    model        text COLLATE "C" NOT NULL,
    made_at      timestamptz      NOT NULL,
    target_date  date             NOT NULL,
    value        double precision NOT NULL,
    lower        double precision,
    upper        double precision,
    PRIMARY KEY (symbol, model, target_date, made_at)
);
