-- Music folders scanned into the shared catalog in place (nothing is copied). Paths are
-- canonical and absolute; no folder lies inside another.
CREATE TABLE library_roots (
    id         TEXT PRIMARY KEY,
    path       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- One row per audio file seen under a root. A rescan compares size and mtime only; the
-- content hash (SHA-256 of the size and the first and last 64 KiB) recognizes a file that
-- moved. `error` says why a file is not in the catalog.
CREATE TABLE library_files (
    id           TEXT PRIMARY KEY,
    root_id      TEXT NOT NULL REFERENCES library_roots(id) ON DELETE CASCADE,
    rel_path     TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    mtime_ms     BIGINT NOT NULL,
    content_hash TEXT NOT NULL,
    track_id     TEXT REFERENCES tracks(id) ON DELETE SET NULL,
    error        TEXT,
    UNIQUE (root_id, rel_path)
);
CREATE INDEX library_files_hash ON library_files(content_hash);
CREATE INDEX library_files_track ON library_files(track_id);

-- Scans, requested from the admin page, by schedule or by `refrain scan`, or run for the
-- changes a folder watch saw (`scope` says which), with live progress. At most one waits
-- and one runs.
CREATE TABLE library_scans (
    id           TEXT PRIMARY KEY,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    requested_by TEXT,
    scope        TEXT,
    seen         BIGINT NOT NULL DEFAULT 0,
    added        BIGINT NOT NULL DEFAULT 0,
    changed      BIGINT NOT NULL DEFAULT 0,
    moved        BIGINT NOT NULL DEFAULT 0,
    removed      BIGINT NOT NULL DEFAULT 0,
    failed       BIGINT NOT NULL DEFAULT 0,
    report       TEXT NOT NULL DEFAULT '',
    error        TEXT,
    created_at   BIGINT NOT NULL,
    started_at   BIGINT,
    heartbeat_at BIGINT,
    finished_at  BIGINT
);
CREATE UNIQUE INDEX library_scans_active ON library_scans(state) WHERE state IN ('queued', 'running');
CREATE INDEX library_scans_recent ON library_scans(created_at);

-- A scanned track has no rendition until it is first played or the background pass makes
-- one (0); uploads are imported with theirs (1).
ALTER TABLE tracks ADD COLUMN rendition_ready BIGINT NOT NULL DEFAULT 1;
CREATE INDEX tracks_rendition_pending ON tracks(rendition_ready) WHERE rendition_ready = 0;

-- Where a job's audio came from: 'upload' or 'scan' (URL and YouTube imports come next).
ALTER TABLE import_jobs ADD COLUMN source TEXT NOT NULL DEFAULT 'upload';
-- A user's Imports panel lists their own imports, not the files a scan registered.
CREATE INDEX import_jobs_user_own ON import_jobs(user_id, created_at) WHERE source <> 'scan';
