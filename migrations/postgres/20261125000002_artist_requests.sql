-- Artists publish to the shared catalog under their artist profile. Becoming one is a
-- request an admin approves; an approved request links the account to its profile
-- (one account per profile).
ALTER TABLE users ADD COLUMN artist_id TEXT REFERENCES artists(id);
CREATE UNIQUE INDEX users_artist ON users(artist_id);

CREATE TABLE artist_requests (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    artist_name TEXT NOT NULL,
    note        TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'declined')),
    created_at  BIGINT NOT NULL,
    decided_at  BIGINT,
    decided_by  TEXT
);
-- At most one request waiting per account.
CREATE UNIQUE INDEX artist_requests_pending ON artist_requests(user_id) WHERE state = 'pending';
CREATE INDEX artist_requests_state ON artist_requests(state, created_at);
