-- Album lists in order without sorting every album: by title through an index, and by
-- "recently added" through albums.added_at (the newest track's time, kept by a trigger)
-- instead of computing each album's newest track on every page load.
ALTER TABLE albums ADD COLUMN added_at BIGINT NOT NULL DEFAULT 0;
UPDATE albums SET added_at = COALESCE((SELECT MAX(t.created_at) FROM tracks t WHERE t.album_id = albums.id), 0);
CREATE INDEX albums_title ON albums(title_key, id);
CREATE INDEX albums_added ON albums(added_at, id);
CREATE FUNCTION albums_track_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE albums SET added_at = GREATEST(added_at, NEW.created_at) WHERE id = NEW.album_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER tracks_album_added AFTER INSERT ON tracks
    FOR EACH ROW WHEN (NEW.album_id IS NOT NULL) EXECUTE FUNCTION albums_track_added();
