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

CREATE TRIGGER tracks_sort_keys_insert AFTER INSERT ON tracks BEGIN
    UPDATE tracks SET
        sort_artist = COALESCE((SELECT LOWER(ar.name) FROM artists ar WHERE ar.id = new.artist_id), ''),
        sort_album = COALESCE((SELECT LOWER(al.title) FROM albums al WHERE al.id = new.album_id), '')
     WHERE id = new.id;
END;
CREATE TRIGGER tracks_sort_keys_move AFTER UPDATE OF artist_id, album_id ON tracks BEGIN
    UPDATE tracks SET
        sort_artist = COALESCE((SELECT LOWER(ar.name) FROM artists ar WHERE ar.id = new.artist_id), ''),
        sort_album = COALESCE((SELECT LOWER(al.title) FROM albums al WHERE al.id = new.album_id), '')
     WHERE id = new.id;
END;
CREATE TRIGGER artists_sort_key AFTER UPDATE OF name ON artists
    WHEN old.name IS NOT new.name BEGIN
    UPDATE tracks SET sort_artist = LOWER(new.name) WHERE artist_id = new.id;
END;
CREATE TRIGGER albums_sort_key AFTER UPDATE OF title ON albums
    WHEN old.title IS NOT new.title BEGIN
    UPDATE tracks SET sort_album = LOWER(new.title) WHERE album_id = new.id;
END;
