-- Search: one document per track, album, artist (and later playlist), holding its text
-- already folded by the application (lower case, accents removed, words split on
-- anything that is not a letter or digit), with a weighted tsvector (name A, artist B,
-- album C) indexed per kind. search_terms is the vocabulary the typo tolerance picks
-- corrections from (byte order, so a first-letter range is an index range).
CREATE TABLE search_docs (
    id     BIGSERIAL PRIMARY KEY,
    kind   TEXT NOT NULL CHECK (kind IN ('track', 'album', 'artist', 'playlist')),
    ref_id TEXT NOT NULL,
    name   TEXT NOT NULL,
    artist TEXT NOT NULL DEFAULT '',
    album  TEXT NOT NULL DEFAULT '',
    tsv    tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', name), 'A') ||
        setweight(to_tsvector('simple', artist), 'B') ||
        setweight(to_tsvector('simple', album), 'C')) STORED,
    UNIQUE (kind, ref_id)
);
CREATE INDEX search_docs_track_tsv ON search_docs USING gin (tsv) WHERE kind = 'track';
CREATE INDEX search_docs_album_tsv ON search_docs USING gin (tsv) WHERE kind = 'album';
CREATE INDEX search_docs_artist_tsv ON search_docs USING gin (tsv) WHERE kind = 'artist';
CREATE INDEX search_docs_playlist_tsv ON search_docs USING gin (tsv) WHERE kind = 'playlist';

-- A deleted track (by its owner, an admin, or with its owner's account) leaves the index.
CREATE FUNCTION search_forget_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM search_docs WHERE kind = 'track' AND ref_id = OLD.id;
    RETURN OLD;
END
$$;
CREATE TRIGGER tracks_search_forget AFTER DELETE ON tracks
    FOR EACH ROW EXECUTE FUNCTION search_forget_track();

CREATE TABLE search_terms (
    term TEXT COLLATE "C" PRIMARY KEY
);

-- Album and artist pages, and search's "has a visible track" checks.
CREATE INDEX tracks_album ON tracks(album_id, disc_no, track_no);
CREATE INDEX tracks_artist ON tracks(artist_id);
CREATE INDEX tracks_album_artist ON tracks(album_artist_id);
