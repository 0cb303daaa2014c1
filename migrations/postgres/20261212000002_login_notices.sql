-- Links in new-device sign-in notices: each ends one login, once, within a week (the
-- token is stored hashed).
CREATE TABLE login_notice_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    login_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
