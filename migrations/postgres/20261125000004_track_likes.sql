-- Tracks a user liked ("Liked Songs"), newest first. Gone with the track or the account.
CREATE TABLE track_likes (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    track_id   TEXT NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, track_id)
);
CREATE INDEX track_likes_recent ON track_likes(user_id, created_at);
CREATE INDEX track_likes_track ON track_likes(track_id);
