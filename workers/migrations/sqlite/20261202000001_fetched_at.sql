-- When the provider gave each bar: a later answer revises an earlier one (a session's bar
-- while the session is open), and an upsert keeps the most recently fetched bar, so a
-- replayed older message never overwrites newer data (docs/storage.md). Null for rows
-- written before this column existed; any fetched bar replaces those. Fixed-width UTC text.
ALTER TABLE daily_bars ADD COLUMN fetched_at TEXT;
ALTER TABLE intraday_bars ADD COLUMN fetched_at TEXT;
