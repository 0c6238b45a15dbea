-- A user who must choose a new password before using the web pages: the
-- first administrator, whose password was printed at first start. Set at
-- creation, cleared when the password changes; keys are unaffected.
ALTER TABLE users ADD COLUMN IF NOT EXISTS must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
