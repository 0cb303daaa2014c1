-- Album lists in order without sorting every album: by title through an index, and by
-- "recently added" through albums.added_at (the newest track's time, kept by a trigger)
-- instead of computing each album's newest track on every page load.
ALTER TABLE albums ADD COLUMN added_at BIGINT NOT NULL DEFAULT 0;
UPDATE albums SET added_at = COALESCE((SELECT MAX(t.created_at) FROM tracks t WHERE t.album_id = albums.id), 0);
CREATE INDEX albums_title ON albums(title_key, id);
CREATE INDEX albums_added ON albums(added_at, id);
CREATE TRIGGER tracks_album_added AFTER INSERT ON tracks WHEN new.album_id IS NOT NULL BEGIN
    UPDATE albums SET added_at = MAX(added_at, new.created_at) WHERE id = new.album_id;
END;
