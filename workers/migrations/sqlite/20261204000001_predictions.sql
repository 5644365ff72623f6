-- The predictor's tables (docs/predictions.md). Nothing wrote the first `predictions`
-- table; it is replaced by one with a row per model and horizon.
DROP TABLE predictions;

CREATE TABLE predictions (
    symbol        TEXT    NOT NULL,
    made_at       TEXT    NOT NULL,
    horizon_days  INTEGER NOT NULL CHECK (horizon_days > 0),
    model         TEXT    NOT NULL,
    target        TEXT    NOT NULL,
    target_date   TEXT    NOT NULL,
    value         REAL    NOT NULL,
    lower         REAL,
    upper         REAL,
    PRIMARY KEY (symbol, made_at, horizon_days, model)
) WITHOUT ROWID;

CREATE TABLE prediction_scores (
    symbol        TEXT    NOT NULL,
    model         TEXT    NOT NULL,
    horizon_days  INTEGER NOT NULL,
    n             INTEGER NOT NULL,
    mse           REAL    NOT NULL,
    qlike         REAL    NOT NULL,
    first_day     TEXT    NOT NULL,
    last_day      TEXT    NOT NULL,
    PRIMARY KEY (symbol, model, horizon_days)
) WITHOUT ROWID;
