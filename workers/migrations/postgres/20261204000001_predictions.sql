-- The predictor's tables (docs/predictions.md). Nothing wrote the first `predictions`
-- table; it is replaced by one with a row per model and horizon.
DROP TABLE predictions;

-- One forecast: made after the close of a session (`made_at`), of `target` over the next
-- `horizon_days` sessions, ending on `target_date`; values are annualised.
CREATE TABLE predictions (
    symbol        text COLLATE "C" NOT NULL,
    made_at       timestamptz      NOT NULL,
    horizon_days  integer          NOT NULL CHECK (horizon_days > 0),
    model         text COLLATE "C" NOT NULL,
    target        text COLLATE "C" NOT NULL,
    target_date   date             NOT NULL,
    value         double precision NOT NULL,
    lower         double precision,
    upper         double precision,
    PRIMARY KEY (symbol, made_at, horizon_days, model)
);

-- Each model's walk-forward score on a symbol's stored history, from its first scored
-- session to its last.
CREATE TABLE prediction_scores (
    symbol        text COLLATE "C" NOT NULL,
    model         text COLLATE "C" NOT NULL,
    horizon_days  integer          NOT NULL,
    n             integer          NOT NULL,
    mse           double precision NOT NULL,
    qlike         double precision NOT NULL,
    first_day     date             NOT NULL,
    last_day      date             NOT NULL,
    PRIMARY KEY (symbol, model, horizon_days)
);
