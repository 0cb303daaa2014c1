-- An album's tracks by album, with what an album card needs of each: who may see it
-- (owner, sharing), whether it has a cover, and its id. The album grid, an artist's
-- albums and album search answer each card's visibility check, track count and cover
-- choice from this index alone (an index-only scan) instead of reading every track's
-- row: an album's tracks lie anywhere in a big table, so those reads went to a different
-- page each.
DROP INDEX tracks_album;
CREATE INDEX tracks_album ON tracks(album_id, disc_no, track_no) INCLUDE (owner_id, shared, cover_key, id);
