-- Ed25519 signing keys shared by every server node (PKCS#8, base64). The newest live key
-- signs; retired keys keep verifying until their grace period ends.
CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,
    pkcs8_b64  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);
CREATE INDEX signing_keys_purpose ON signing_keys(purpose, created_at);
