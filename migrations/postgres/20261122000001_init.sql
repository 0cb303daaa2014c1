-- Refrain schema, PostgreSQL flavour (mirrors migrations/sqlite). Timestamps are Unix milliseconds (BIGINT), ids are UUID text.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'artist', 'listener')),
    created_at    BIGINT NOT NULL
);

-- One row per successful login; a session points at it, stream tokens name it,
-- and logging out revokes it so tokens minted under it stop working at once.
CREATE TABLE logins (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX logins_user ON logins(user_id);

-- tower-sessions records.
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    data        TEXT NOT NULL,
    expiry_date BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions(expiry_date);

CREATE TABLE artists (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE
);

CREATE TABLE albums (
    id        TEXT PRIMARY KEY,
    artist_id TEXT NOT NULL REFERENCES artists(id),
    title     TEXT NOT NULL,
    title_key TEXT NOT NULL,
    year      BIGINT,
    cover_key TEXT,
    UNIQUE (artist_id, title_key)
);

CREATE TABLE import_jobs (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    filename     TEXT NOT NULL,
    original_key TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'processing', 'done', 'failed')),
    error        TEXT,
    track_id     TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX import_jobs_user ON import_jobs(user_id, created_at);

CREATE TABLE tracks (
    id              TEXT PRIMARY KEY,
    import_job_id   TEXT NOT NULL UNIQUE REFERENCES import_jobs(id),
    owner_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    shared          BIGINT NOT NULL DEFAULT 0,
    title           TEXT NOT NULL,
    artist_id       TEXT NOT NULL REFERENCES artists(id),
    album_artist_id TEXT REFERENCES artists(id),
    album_id        TEXT REFERENCES albums(id),
    track_no        BIGINT,
    disc_no         BIGINT,
    year            BIGINT,
    genre           TEXT,
    duration_ms     BIGINT NOT NULL,
    original_key    TEXT NOT NULL,
    rendition_key   TEXT NOT NULL,
    rendition_bytes BIGINT NOT NULL,
    rendition_mime  TEXT NOT NULL,
    segment_index   TEXT NOT NULL,
    cover_key       TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX tracks_owner ON tracks(owner_id);
CREATE INDEX tracks_created ON tracks(created_at);

-- Transactional outbox: written in the same transaction as the change it announces.
CREATE TABLE outbox (
    seq          BIGSERIAL PRIMARY KEY,
    event_id     TEXT NOT NULL UNIQUE,
    topic        TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    published_at BIGINT,
    attempts     BIGINT NOT NULL DEFAULT 0,
    last_error   TEXT,
    dead         BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX outbox_pending ON outbox(published_at, seq);

-- Idempotency ledger: a handler records each event id it has applied.
CREATE TABLE processed_events (
    handler      TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    processed_at BIGINT NOT NULL,
    PRIMARY KEY (handler, event_id)
);
