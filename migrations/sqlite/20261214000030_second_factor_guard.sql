-- Wrong authenticator codes in a row for an account: at 100, codes from the app are
-- refused until a recovery code is used (which resets the count).
ALTER TABLE users ADD COLUMN totp_failures BIGINT NOT NULL DEFAULT 0;
-- How a recovery code is stored: 'sha256' for codes of 124 random bits (SHA-256 suffices
-- for a secret that cannot be guessed); the 50-bit codes made before are 'legacy' until
-- start-up wraps their SHA-256 in Argon2id with a salt ('argon2id').
ALTER TABLE recovery_codes ADD COLUMN scheme TEXT NOT NULL DEFAULT 'legacy';
