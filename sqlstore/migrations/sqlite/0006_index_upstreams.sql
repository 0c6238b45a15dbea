-- The change log of channels' packages, and upstream channels.

-- One row per package name touched by a revision of a channel: a replica
-- that built a channel's index at revision r rebuilds only the names of
-- the rows after r (the index is derived data; the packages table is the
-- source of truth). Rows are written in the same transaction as the change.
CREATE TABLE package_changes (
	channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	revision   INTEGER NOT NULL,
	subdir     TEXT NOT NULL,
	name       TEXT NOT NULL,
	at         TEXT NOT NULL,
	PRIMARY KEY (channel_id, revision, subdir, name)
) STRICT;

-- Rebuilding one name reads its rows in order; a full build streams a
-- subdir in the same order.
CREATE INDEX packages_name ON packages (channel_id, subdir, name, filename);

-- A proxy or mirror channel's upstream. filters and status are JSON;
-- credential is sealed (AES-GCM) by the service, never stored in clear.
CREATE TABLE channel_upstreams (
	channel_id INTEGER PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
	url        TEXT NOT NULL CHECK (url <> ''),
	mode       TEXT NOT NULL CHECK (mode IN ('proxy', 'mirror')),
	filters    BLOB NOT NULL,
	credential BLOB NOT NULL,
	status     BLOB NOT NULL
) STRICT;
