-- Loudness measured at import (EBU R128: integrated loudness and true peak), from which
-- the player's normalization gain is computed; NULL for tracks imported before.
ALTER TABLE tracks ADD COLUMN loudness_lufs DOUBLE PRECISION;
ALTER TABLE tracks ADD COLUMN true_peak_db DOUBLE PRECISION;
-- 1 when the import made cover thumbnails (96, 320 and 640 pixels) beside the original.
ALTER TABLE tracks ADD COLUMN cover_thumbs BIGINT NOT NULL DEFAULT 0;
-- 0: imported before the two above existed (the worker analyses it in the background),
-- 2: being analysed, 1: done (imports set it).
ALTER TABLE tracks ADD COLUMN analysed BIGINT NOT NULL DEFAULT 0;
CREATE INDEX tracks_unanalysed ON tracks(analysed) WHERE analysed = 0;

-- Albums a user liked, newest first. Gone with the album or the account.
CREATE TABLE album_likes (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    album_id   TEXT NOT NULL REFERENCES albums(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, album_id)
);
CREATE INDEX album_likes_recent ON album_likes(user_id, created_at);
CREATE INDEX album_likes_album ON album_likes(album_id);

-- Most tracks have no album artist: indexing only those that do keeps the planner's
-- estimate right (with every NULL in one key, SQLite scanned the tracks instead).
DROP INDEX tracks_album_artist;
CREATE INDEX tracks_album_artist ON tracks(album_artist_id) WHERE album_artist_id IS NOT NULL;
