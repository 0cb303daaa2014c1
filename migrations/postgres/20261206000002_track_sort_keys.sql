-- The track list sorted by artist or by album walks an index instead of sorting the whole
-- catalog (a second at 1,000,000 tracks): each track keeps its artist's name and its
-- album's title, lower-cased as the sort compares them, and triggers keep them current
-- when a track moves or an artist or album is renamed.
ALTER TABLE tracks ADD COLUMN sort_artist TEXT NOT NULL DEFAULT '';
ALTER TABLE tracks ADD COLUMN sort_album TEXT NOT NULL DEFAULT '';
UPDATE tracks SET
    sort_artist = COALESCE((SELECT LOWER(ar.name) FROM artists ar WHERE ar.id = tracks.artist_id), ''),
    sort_album = COALESCE((SELECT LOWER(al.title) FROM albums al WHERE al.id = tracks.album_id), '');
CREATE INDEX tracks_by_artist ON tracks(sort_artist, sort_album, COALESCE(track_no, 0), id);
CREATE INDEX tracks_by_album ON tracks(sort_album, COALESCE(disc_no, 1), COALESCE(track_no, 0), id);
-- The most played first walks the user's counts in order.
CREATE INDEX play_counts_most ON play_counts(user_id, plays);

CREATE FUNCTION tracks_sort_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.sort_artist := COALESCE((SELECT LOWER(ar.name) FROM artists ar WHERE ar.id = NEW.artist_id), '');
    NEW.sort_album := COALESCE((SELECT LOWER(al.title) FROM albums al WHERE al.id = NEW.album_id), '');
    RETURN NEW;
END
$$;
CREATE TRIGGER tracks_sort_keys_insert BEFORE INSERT ON tracks
    FOR EACH ROW EXECUTE FUNCTION tracks_sort_keys();
CREATE TRIGGER tracks_sort_keys_move BEFORE UPDATE OF artist_id, album_id ON tracks
    FOR EACH ROW EXECUTE FUNCTION tracks_sort_keys();

CREATE FUNCTION artists_sort_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tracks SET sort_artist = LOWER(NEW.name) WHERE artist_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER artists_sort_key AFTER UPDATE OF name ON artists
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION artists_sort_key();
CREATE FUNCTION albums_sort_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tracks SET sort_album = LOWER(NEW.title) WHERE album_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER albums_sort_key AFTER UPDATE OF title ON albums
    FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title) EXECUTE FUNCTION albums_sort_key();
