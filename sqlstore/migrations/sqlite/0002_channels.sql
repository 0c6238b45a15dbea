-- Channels, their grants and packages; the registration gate's network
-- rules and the clients seen on channel requests.

-- Channel names are global, like URLs, and a namespace of their own.
-- Exactly one of owner_user_id and owner_org_id is set. An owner cannot be
-- deleted while they own channels (no CASCADE): losing a channel and its
-- packages must be a decision, never a side effect.
CREATE TABLE channels (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	name          TEXT NOT NULL UNIQUE,
	visibility    TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
	owner_user_id INTEGER REFERENCES users (id),
	owner_org_id  INTEGER REFERENCES orgs (id),
	created_at    TEXT NOT NULL,
	revision      INTEGER NOT NULL DEFAULT 1 CHECK (revision >= 1),
	CHECK ((owner_user_id IS NULL) <> (owner_org_id IS NULL))
) STRICT;
CREATE INDEX channels_owner_user ON channels (owner_user_id);
CREATE INDEX channels_owner_org ON channels (owner_org_id);

CREATE TABLE channel_grants (
	channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	role       TEXT NOT NULL CHECK (role IN ('read', 'write', 'admin')),
	granted_at TEXT NOT NULL,
	PRIMARY KEY (channel_id, user_id)
) STRICT;
CREATE INDEX channel_grants_user ON channel_grants (user_id);

-- The unique key on (channel_id, subdir, filename) also serves listings,
-- which are ordered by subdir then filename. uploader becomes NULL if the
-- user goes away: the package stays.
CREATE TABLE packages (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	subdir     TEXT NOT NULL CHECK (subdir <> ''),
	filename   TEXT NOT NULL CHECK (filename <> ''),
	name       TEXT NOT NULL,
	version    TEXT NOT NULL,
	build      TEXT NOT NULL,
	size       INTEGER NOT NULL,
	md5        TEXT NOT NULL,
	sha256     TEXT NOT NULL,
	record     BLOB NOT NULL,
	meta       BLOB NOT NULL,
	blob_key   TEXT NOT NULL CHECK (blob_key <> ''),
	uploader   INTEGER REFERENCES users (id) ON DELETE SET NULL,
	created_at TEXT NOT NULL,
	CONSTRAINT packages_file UNIQUE (channel_id, subdir, filename),
	CONSTRAINT packages_blob_key UNIQUE (blob_key)
) STRICT;
CREATE INDEX packages_uploader ON packages (uploader);

-- cidr is stored as the administrator wrote it; the gate package parses
-- and validates it before it gets here.
CREATE TABLE network_rules (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	cidr       TEXT NOT NULL CHECK (cidr <> ''),
	action     TEXT NOT NULL CHECK (action IN ('require-registration')),
	note       TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL,
	created_by TEXT NOT NULL DEFAULT ''
) STRICT;

-- A record of what was seen, like the audit log: no foreign keys, so it
-- outlives keys and users and never stands in the way of changing them.
-- key_name and username are as they were at the last request.
CREATE TABLE clients (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	key_id     INTEGER NOT NULL,
	key_name   TEXT NOT NULL DEFAULT '',
	user_id    INTEGER NOT NULL,
	username   TEXT NOT NULL DEFAULT '',
	ip         TEXT NOT NULL,
	user_agent TEXT NOT NULL,
	first_seen TEXT NOT NULL,
	last_seen  TEXT NOT NULL,
	requests   INTEGER NOT NULL CHECK (requests >= 0),
	CONSTRAINT clients_seen UNIQUE (key_id, ip, user_agent)
) STRICT;
CREATE INDEX clients_last_seen ON clients (last_seen);
