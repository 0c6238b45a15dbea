-- CLI login (OAuth 2.0 for public clients): grants in flight and the
-- short-lived access tokens they become. Only SHA-256 hashes of codes and
-- tokens are stored. Rows live minutes; DeleteExpiredOAuth removes them.

-- A grant is an authorization code (kind 'code', created approved) or a
-- device code (kind 'device', created pending). user_id is NULL until
-- someone approves or denies.
CREATE TABLE oauth_grants (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	kind           TEXT NOT NULL CHECK (kind IN ('code', 'device')),
	code_hash      BLOB NOT NULL UNIQUE CHECK (length(code_hash) = 32),
	user_code      TEXT NOT NULL DEFAULT '',
	client_id      TEXT NOT NULL,
	redirect_uri   TEXT NOT NULL DEFAULT '',
	code_challenge TEXT NOT NULL DEFAULT '',
	scopes         INTEGER NOT NULL,
	client_name    TEXT NOT NULL DEFAULT '',
	user_id        INTEGER REFERENCES users (id) ON DELETE CASCADE,
	status         TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'used')),
	created_at     TEXT NOT NULL,
	expires_at     TEXT NOT NULL,
	last_polled_at TEXT
) STRICT;
-- A user code a person types names at most one pending grant.
CREATE UNIQUE INDEX oauth_grants_pending_user_code ON oauth_grants (user_code)
	WHERE status = 'pending' AND user_code <> '';
CREATE INDEX oauth_grants_expires ON oauth_grants (expires_at);

CREATE TABLE oauth_tokens (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	hash        BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
	user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	scopes      INTEGER NOT NULL,
	client_name TEXT NOT NULL DEFAULT '',
	created_at  TEXT NOT NULL,
	expires_at  TEXT NOT NULL
) STRICT;
CREATE INDEX oauth_tokens_user ON oauth_tokens (user_id);
CREATE INDEX oauth_tokens_expires ON oauth_tokens (expires_at);
