-- Each listener's play queue, kept on the server so a reload or another device continues
-- where they left off: the tracks in play order (a JSON array of ids), which one is
-- current and how far into it. Tracks deleted since are skipped when it is read.
CREATE TABLE play_queues (
    user_id     TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    track_ids   TEXT NOT NULL,
    position    BIGINT NOT NULL,
    position_ms BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
