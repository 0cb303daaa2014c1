-- Single sign-on (OpenID Connect).
-- An account made by a sign-in has no password of its own until one is set (a reset link);
-- it may not unlink its last sign-in before then.
ALTER TABLE users ADD COLUMN password_set_at BIGINT;
UPDATE users SET password_set_at = created_at;
-- A sign-in under way: its state (hashed, single use), nonce and PKCE verifier, for ten
-- minutes.
CREATE TABLE sso_flows (
    state_hash TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    nonce TEXT NOT NULL,
    verifier TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    -- A signed-in user connecting this sign-in to their account (from Settings).
    link_user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
-- Which account an issuer's subject signs in to.
CREATE TABLE user_identities (
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);
-- A first sign-in whose verified email matches an account: linked once that account's
-- password is given (token hashed, single use, fifteen minutes).
CREATE TABLE sso_links (
    token_hash TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
