-- What the sessions list in settings shows about each login: the device (user agent),
-- the address it came from, and when it was last used.
ALTER TABLE logins ADD COLUMN user_agent TEXT;
ALTER TABLE logins ADD COLUMN ip TEXT;
ALTER TABLE logins ADD COLUMN last_seen_at BIGINT;
