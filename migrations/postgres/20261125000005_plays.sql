-- Plays: one row per playback that counted (30 s, or half the track), keyed by the id the
-- player gave that playback, so a retried event counts once. play_counts keeps each
-- user's count per track for sorting and "most played".
CREATE TABLE play_history (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    track_id    TEXT NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    played_at   BIGINT NOT NULL,
    listened_ms BIGINT NOT NULL
);
CREATE INDEX play_history_recent ON play_history(user_id, played_at);
CREATE INDEX play_history_track ON play_history(track_id);

CREATE TABLE play_counts (
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    track_id       TEXT NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    plays          BIGINT NOT NULL,
    last_played_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, track_id)
);
CREATE INDEX play_counts_track ON play_counts(track_id);
CREATE INDEX play_counts_recent ON play_counts(user_id, last_played_at);
