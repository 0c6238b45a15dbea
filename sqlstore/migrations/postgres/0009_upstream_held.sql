-- Upstream records that a proxy or mirror channel's filters keep out for a
-- reason the file name alone does not tell (the record's licence, or a
-- release newer than the channel's minimum age). Only the verdict is kept,
-- not the record: a direct request for such a file is refused naming the
-- rule, and a record held for its age says when it may be admitted.
CREATE TABLE upstream_held (
	channel_id BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	subdir     TEXT NOT NULL,
	filename   TEXT NOT NULL,
	rule       TEXT NOT NULL CHECK (rule IN ('licenses', 'min_age_days')),
	reason     TEXT NOT NULL,
	until_at   TIMESTAMPTZ,
	PRIMARY KEY (channel_id, subdir, filename)
);
