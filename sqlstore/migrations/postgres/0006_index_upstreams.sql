-- The change log of channels' packages, and upstream channels.

-- One row per package name touched by a revision of a channel: a replica
-- that built a channel's index at revision r rebuilds only the names of
-- the rows after r (the index is derived data; the packages table is the
-- source of truth). Rows are written in the same transaction as the change.
CREATE TABLE package_changes (
	channel_id BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	revision   BIGINT NOT NULL,
	subdir     TEXT COLLATE "C" NOT NULL,
	name       TEXT COLLATE "C" NOT NULL,
	at         TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (channel_id, revision, subdir, name)
);

-- Rebuilding one name reads its rows in order; a full build streams a
-- subdir in the same order. name sorts byte by byte, as on SQLite.
ALTER TABLE packages ALTER COLUMN name TYPE TEXT COLLATE "C";
CREATE INDEX packages_name ON packages (channel_id, subdir, name, filename);

-- A proxy or mirror channel's upstream. filters and status are JSON;
-- credential is sealed (AES-GCM) by the service, never stored in clear.
CREATE TABLE channel_upstreams (
	channel_id BIGINT PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
	url        TEXT NOT NULL CHECK (url <> ''),
	mode       TEXT NOT NULL CHECK (mode IN ('proxy', 'mirror')),
	filters    BYTEA NOT NULL,
	credential BYTEA NOT NULL,
	status     BYTEA NOT NULL
);
