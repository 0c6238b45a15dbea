-- Organization-wide registration: organization registration tokens, and
-- client records that say which organization, client (anaconda-anon-usage
-- c/), machine (m/), conda version, platform and gated network they are.

-- Only the SHA-256 of a token is kept.
CREATE TABLE registration_tokens (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id       INTEGER NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
	name         TEXT NOT NULL CHECK (name <> ''),
	hash         BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
	hint         TEXT NOT NULL DEFAULT '',
	created_at   TEXT NOT NULL,
	created_by   TEXT NOT NULL DEFAULT '',
	last_seen_at TEXT,
	revoked_at   TEXT
) STRICT;
CREATE UNIQUE INDEX registration_tokens_active_name ON registration_tokens (org_id, name) WHERE revoked_at IS NULL;

-- A client is one per key or token and ident: "c/<client token>" when the
-- User-Agent has one (so a new conda session is not a new client), else
-- the address and user agent as before. key_id and token_id are 0 when
-- absent. SQLite cannot drop a constraint, so the table is rebuilt.
CREATE TABLE clients_0008 (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	key_id        INTEGER NOT NULL DEFAULT 0,
	key_name      TEXT NOT NULL DEFAULT '',
	user_id       INTEGER NOT NULL DEFAULT 0,
	username      TEXT NOT NULL DEFAULT '',
	org_id        INTEGER NOT NULL DEFAULT 0,
	org_name      TEXT NOT NULL DEFAULT '',
	token_id      INTEGER NOT NULL DEFAULT 0,
	ident         TEXT NOT NULL,
	client_token  TEXT NOT NULL DEFAULT '',
	machine       TEXT NOT NULL DEFAULT '',
	conda_version TEXT NOT NULL DEFAULT '',
	platform      TEXT NOT NULL DEFAULT '',
	network       TEXT NOT NULL DEFAULT '',
	ip            TEXT NOT NULL,
	user_agent    TEXT NOT NULL,
	first_seen    TEXT NOT NULL,
	last_seen     TEXT NOT NULL,
	requests      INTEGER NOT NULL CHECK (requests >= 0),
	CONSTRAINT clients_ident UNIQUE (key_id, token_id, ident)
) STRICT;
INSERT INTO clients_0008 (id, key_id, key_name, user_id, username, ident, ip, user_agent, first_seen, last_seen, requests)
	SELECT id, key_id, key_name, user_id, username, ip || ' ' || user_agent, ip, user_agent, first_seen, last_seen, requests FROM clients;
DROP TABLE clients;
ALTER TABLE clients_0008 RENAME TO clients;
CREATE INDEX clients_last_seen ON clients (last_seen);
CREATE INDEX clients_org ON clients (org_id, last_seen);
CREATE INDEX clients_key ON clients (key_id, last_seen);
CREATE INDEX clients_token ON clients (token_id);
