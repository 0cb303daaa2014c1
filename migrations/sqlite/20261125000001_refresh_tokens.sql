-- Refresh tokens of API clients. Each login made through POST /api/v1/auth/token is one
-- token family; every refresh uses its token up and issues the next. Presenting a used
-- token again revokes the family (its login and every token in it). Stored as SHA-256
-- hashes; the raw token only travels to the client.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    login_id   TEXT NOT NULL REFERENCES logins(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_login ON refresh_tokens(login_id);
