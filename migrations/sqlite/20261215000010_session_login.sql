-- The login a stored session belongs to, so ending a login deletes its session records
-- at once (not only refuses them when they come back).
ALTER TABLE sessions ADD COLUMN login_id TEXT;
CREATE INDEX sessions_login ON sessions(login_id);
