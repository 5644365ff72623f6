-- Dead letters, kept by the db-writer from the dead-letter topic (docs/storage.md): what the
-- page's status view counts per dataset and day, and what people query to see what went
-- wrong. The key is the letter's own place on its topic, so a redelivered letter is stored
-- once.
CREATE TABLE dead_letters (
    topic        text COLLATE "C" NOT NULL,
    "partition"  integer          NOT NULL,
    "offset"     bigint           NOT NULL,
    dead_at      timestamptz      NOT NULL,
    stage        text             NOT NULL,
    reason       text             NOT NULL,
    dataset      text,
    symbol       text COLLATE "C" NOT NULL,
    detail       text             NOT NULL,
    letter       text             NOT NULL,
    PRIMARY KEY (topic, "partition", "offset")
);
CREATE INDEX dead_letters_time ON dead_letters (dead_at);
