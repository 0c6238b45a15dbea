-- A login's access token mints one key (checklist D9): used_at marks it
-- spent. grant_id ties a token to the grant it came from, and login_keys a
-- key to that grant, so a replayed authorization code revokes what the
-- code issued. Grants are deleted an hour after they expire; the ids stay
-- here as plain numbers.
ALTER TABLE oauth_tokens ADD COLUMN grant_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE oauth_tokens ADD COLUMN used_at TEXT;
CREATE INDEX oauth_tokens_grant ON oauth_tokens (grant_id);

CREATE TABLE login_keys (
	grant_id INTEGER NOT NULL,
	key_id   INTEGER NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
	PRIMARY KEY (grant_id, key_id)
) STRICT;
