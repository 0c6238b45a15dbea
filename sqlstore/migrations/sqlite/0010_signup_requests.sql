-- Self-service sign-up that waits for an administrator's approval: the
-- request keeps the argon2id hash of the chosen password (never the
-- password), until it is approved (the account is created with it) or
-- denied. A username or email may have one pending request at a time.
CREATE TABLE signup_requests (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	username      TEXT NOT NULL CHECK (username <> ''),
	email         TEXT NOT NULL CHECK (email <> ''),
	password_hash TEXT NOT NULL CHECK (password_hash <> ''),
	ip            TEXT NOT NULL DEFAULT '',
	status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied')),
	created_at    TEXT NOT NULL,
	decided_at    TEXT,
	decided_by    TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE UNIQUE INDEX signup_requests_pending_username ON signup_requests (username) WHERE status = 'pending';
CREATE UNIQUE INDEX signup_requests_pending_email ON signup_requests (lower(email)) WHERE status = 'pending';
