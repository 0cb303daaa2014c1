-- Bookmarks: a position in a song a listener wants to come back to (an audiobook's
-- chapter, a long mix), made by Subsonic apps (`createBookmark`). Personal: only their
-- maker sees them. One per user and song; gone with the song or the account.
CREATE TABLE bookmarks (
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    track_id    TEXT NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    position_ms BIGINT NOT NULL CHECK (position_ms >= 0),
    comment     TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    changed_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, track_id)
);
CREATE INDEX bookmarks_track ON bookmarks(track_id);
