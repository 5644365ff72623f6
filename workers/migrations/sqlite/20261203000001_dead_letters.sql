-- Dead letters, kept by the db-writer from the dead-letter topic (docs/storage.md): what the
-- page's status view counts per dataset and day, and what people query to see what went
-- wrong. The key is the letter's own place on its topic, so a redelivered letter is stored
-- once.
CREATE TABLE dead_letters (
    topic        TEXT    NOT NULL,
    "partition"  INTEGER NOT NULL,
    "offset"     INTEGER NOT NULL,
    dead_at      TEXT    NOT NULL,
    stage        TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    dataset      TEXT,
    symbol       TEXT    NOT NULL,
    detail       TEXT    NOT NULL,
    letter       TEXT    NOT NULL,
    PRIMARY KEY (topic, "partition", "offset")
);
CREATE INDEX dead_letters_time ON dead_letters (dead_at);
