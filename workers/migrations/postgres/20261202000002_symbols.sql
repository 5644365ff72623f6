-- One row per symbol with data, kept by the db-writer in the transaction that writes the
-- symbol's rows (docs/storage.md): what /api/v1/symbols lists, without scanning the data
-- tables on every page load.
CREATE TABLE symbols (
    symbol         text COLLATE "C" PRIMARY KEY,
    daily_bars     bigint NOT NULL DEFAULT 0,
    intraday_bars  bigint NOT NULL DEFAULT 0
);

INSERT INTO symbols (symbol, daily_bars, intraday_bars)
SELECT s.symbol,
       (SELECT count(*) FROM daily_bars d WHERE d.symbol = s.symbol),
       (SELECT count(*) FROM intraday_bars i WHERE i.symbol = s.symbol)
  FROM (SELECT symbol FROM daily_bars UNION SELECT symbol FROM intraday_bars
        UNION SELECT underlying FROM option_quotes) s;
