-- Users, organizations, API keys, sessions and the audit log.
-- Times are TEXT in sqliteTimeLayout (UTC, fixed width, microseconds), so
-- that comparing the text compares the instants. NULL means "never".

-- Users and organizations share one namespace of names (both own channels).
-- Each name is written here in the same transaction as its user or
-- organization, so the unique key settles races between the two kinds.
CREATE TABLE names (
	name TEXT PRIMARY KEY,
	kind TEXT NOT NULL CHECK (kind IN ('user', 'org'))
) STRICT;

CREATE TABLE users (
	id                  INTEGER PRIMARY KEY AUTOINCREMENT,
	username            TEXT NOT NULL UNIQUE REFERENCES names (name),
	email               TEXT NOT NULL DEFAULT '',
	password_hash       TEXT NOT NULL DEFAULT '',
	is_admin            INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
	disabled            INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	created_at          TEXT NOT NULL,
	password_changed_at TEXT
) STRICT;

CREATE TABLE orgs (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	name       TEXT NOT NULL UNIQUE REFERENCES names (name),
	created_at TEXT NOT NULL
) STRICT;

CREATE TABLE org_members (
	org_id   INTEGER NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
	user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	role     TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
	added_at TEXT NOT NULL,
	PRIMARY KEY (org_id, user_id)
) STRICT;
CREATE INDEX org_members_user ON org_members (user_id);

-- AUTOINCREMENT: an ID is never reused, so a key ID in an old audit event
-- or log line always means the same key.
CREATE TABLE api_keys (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name          TEXT NOT NULL,
	hash          BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
	hint          TEXT NOT NULL DEFAULT '',
	scopes        INTEGER NOT NULL,
	created_at    TEXT NOT NULL,
	expires_at    TEXT NOT NULL,
	last_used_at  TEXT,
	revoked_at    TEXT,
	revoke_reason TEXT NOT NULL DEFAULT '',
	created_via   TEXT NOT NULL DEFAULT ''
) STRICT;
-- At most one unrevoked key per user and name: two concurrent creations
-- of the same name can never both stay active.
CREATE UNIQUE INDEX api_keys_active_name ON api_keys (user_id, name) WHERE revoked_at IS NULL;
CREATE INDEX api_keys_user ON api_keys (user_id, created_at);

CREATE TABLE sessions (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	hash       BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL,
	ip         TEXT NOT NULL DEFAULT '',
	user_agent TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Append-only. actor_id is no foreign key: the record outlives the user.
CREATE TABLE audit_events (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	time     TEXT NOT NULL,
	actor_id INTEGER NOT NULL DEFAULT 0,
	actor    TEXT NOT NULL DEFAULT '',
	action   TEXT NOT NULL,
	target   TEXT NOT NULL DEFAULT '',
	ip       TEXT NOT NULL DEFAULT '',
	success  INTEGER NOT NULL CHECK (success IN (0, 1)),
	detail   TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_events_actor ON audit_events (actor_id, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
