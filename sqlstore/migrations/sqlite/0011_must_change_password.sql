-- A user who must choose a new password before using the web pages: the
-- first administrator, whose password was printed at first start. Set at
-- creation, cleared when the password changes; keys are unaffected.
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1));
