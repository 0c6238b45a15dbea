-- Identity: key policies (channel restrictions, lifetimes), organization
-- service keys, single sign-on per organization, and trusted publishing.

-- An organization service key has org_id set; user_id is then the person
-- who created it, for the audit log. channels is the comma-separated list
-- the key is limited to ('' for none); channel_access caps its role.
ALTER TABLE api_keys ADD COLUMN org_id INTEGER REFERENCES orgs (id) ON DELETE CASCADE;
ALTER TABLE api_keys ADD COLUMN channels TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN channel_access TEXT NOT NULL DEFAULT '' CHECK (channel_access IN ('', 'read', 'write'));
-- One active key per name: per person for personal keys, per organization
-- for service keys.
DROP INDEX api_keys_active_name;
CREATE UNIQUE INDEX api_keys_active_name ON api_keys (user_id, name) WHERE revoked_at IS NULL AND org_id IS NULL;
CREATE UNIQUE INDEX api_keys_active_org_name ON api_keys (org_id, name) WHERE revoked_at IS NULL AND org_id IS NOT NULL;
CREATE INDEX api_keys_org ON api_keys (org_id, created_at) WHERE org_id IS NOT NULL;

-- org_id 0 is the server's policy; no foreign key for that reason.
CREATE TABLE key_policies (
	org_id                INTEGER PRIMARY KEY,
	max_key_lifetime_days INTEGER NOT NULL CHECK (max_key_lifetime_days BETWEEN 0 AND 365),
	expiry_warning_days   INTEGER NOT NULL CHECK (expiry_warning_days BETWEEN 0 AND 90),
	updated_at            TEXT NOT NULL
) STRICT;

-- client_secret is sealed with the server's key, or a reference (env:,
-- file:); never the secret in clear.
CREATE TABLE sso_configs (
	org_id         INTEGER PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
	issuer         TEXT NOT NULL CHECK (issuer <> ''),
	client_id      TEXT NOT NULL CHECK (client_id <> ''),
	client_secret  TEXT NOT NULL DEFAULT '',
	required       INTEGER NOT NULL DEFAULT 0 CHECK (required IN (0, 1)),
	group_roles    TEXT NOT NULL DEFAULT '{}',
	group_channels TEXT NOT NULL DEFAULT '{}',
	updated_at     TEXT NOT NULL
) STRICT;

-- Several organizations may claim a domain; a server administrator
-- confirms at most one claim per domain.
CREATE TABLE sso_domains (
	domain       TEXT NOT NULL CHECK (domain <> ''),
	org_id       INTEGER NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
	confirmed_at TEXT,
	confirmed_by TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (domain, org_id)
) STRICT;
CREATE UNIQUE INDEX sso_domains_confirmed ON sso_domains (domain) WHERE confirmed_at IS NOT NULL;

CREATE TABLE sso_identities (
	issuer           TEXT NOT NULL,
	subject          TEXT NOT NULL,
	user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	org_id           INTEGER NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
	email            TEXT NOT NULL DEFAULT '',
	provider_groups  TEXT NOT NULL DEFAULT '[]',
	granted_role     TEXT NOT NULL DEFAULT '',
	granted_channels TEXT NOT NULL DEFAULT '{}',
	last_login_at    TEXT NOT NULL,
	PRIMARY KEY (issuer, subject)
) STRICT;
CREATE INDEX sso_identities_user ON sso_identities (user_id);

-- Sign-ins in flight: hashes only; rows live ten minutes.
CREATE TABLE sso_logins (
	state_hash   BLOB PRIMARY KEY CHECK (length(state_hash) = 32),
	browser_hash BLOB NOT NULL CHECK (length(browser_hash) = 32),
	org_id       INTEGER NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
	next         TEXT NOT NULL DEFAULT '',
	created_at   TEXT NOT NULL,
	expires_at   TEXT NOT NULL
) STRICT;
CREATE INDEX sso_logins_expires ON sso_logins (expires_at);

CREATE TABLE trusted_publishers (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
	issuer     TEXT NOT NULL CHECK (issuer <> ''),
	audience   TEXT NOT NULL CHECK (audience <> ''),
	claims     TEXT NOT NULL,
	created_at TEXT NOT NULL,
	created_by TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX trusted_publishers_channel ON trusted_publishers (channel_id);

-- SHA-256 of ID tokens already exchanged, until they expire (replays).
CREATE TABLE used_id_tokens (
	hash       BLOB PRIMARY KEY CHECK (length(hash) = 32),
	expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX used_id_tokens_expires ON used_id_tokens (expires_at);
