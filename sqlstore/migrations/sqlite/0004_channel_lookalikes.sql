-- A channel's canonical name: its name with '_' read as '-' and trailing
-- '.' and '-' dropped (gatehouse.CanonicalChannelName). Two channels whose
-- names differ only that way look alike in a URL, so a new channel may not
-- take the canonical name of an existing one (checklist G6).
ALTER TABLE channels ADD COLUMN canonical_name TEXT NOT NULL DEFAULT '';
UPDATE channels SET canonical_name = rtrim(replace(name, '_', '-'), '.-');
CREATE INDEX channels_canonical ON channels (canonical_name);
