-- Search: one document per track, album, artist (and later playlist), holding its text
-- already folded by the application (lower case, accents removed, words split on
-- anything that is not a letter or digit). Full-text indexes per kind read their text
-- from here (FTS5 external content); search_terms is the vocabulary the typo tolerance
-- picks corrections from.
CREATE TABLE search_docs (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    kind   TEXT NOT NULL CHECK (kind IN ('track', 'album', 'artist', 'playlist')),
    ref_id TEXT NOT NULL,
    name   TEXT NOT NULL,
    artist TEXT NOT NULL DEFAULT '',
    album  TEXT NOT NULL DEFAULT '',
    UNIQUE (kind, ref_id)
);

CREATE VIRTUAL TABLE track_fts USING fts5(name, artist, album, content='search_docs',
    content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3');
CREATE VIRTUAL TABLE album_fts USING fts5(name, artist, album, content='search_docs',
    content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3');
CREATE VIRTUAL TABLE artist_fts USING fts5(name, artist, album, content='search_docs',
    content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3');
CREATE VIRTUAL TABLE playlist_fts USING fts5(name, artist, album, content='search_docs',
    content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3');

CREATE TRIGGER search_docs_ai_track AFTER INSERT ON search_docs WHEN new.kind = 'track' BEGIN
    INSERT INTO track_fts(rowid, name, artist, album) VALUES (new.id, new.name, new.artist, new.album);
END;
CREATE TRIGGER search_docs_ad_track AFTER DELETE ON search_docs WHEN old.kind = 'track' BEGIN
    INSERT INTO track_fts(track_fts, rowid, name, artist, album) VALUES ('delete', old.id, old.name, old.artist, old.album);
END;
CREATE TRIGGER search_docs_ai_album AFTER INSERT ON search_docs WHEN new.kind = 'album' BEGIN
    INSERT INTO album_fts(rowid, name, artist, album) VALUES (new.id, new.name, new.artist, new.album);
END;
CREATE TRIGGER search_docs_ad_album AFTER DELETE ON search_docs WHEN old.kind = 'album' BEGIN
    INSERT INTO album_fts(album_fts, rowid, name, artist, album) VALUES ('delete', old.id, old.name, old.artist, old.album);
END;
CREATE TRIGGER search_docs_ai_artist AFTER INSERT ON search_docs WHEN new.kind = 'artist' BEGIN
    INSERT INTO artist_fts(rowid, name, artist, album) VALUES (new.id, new.name, new.artist, new.album);
END;
CREATE TRIGGER search_docs_ad_artist AFTER DELETE ON search_docs WHEN old.kind = 'artist' BEGIN
    INSERT INTO artist_fts(artist_fts, rowid, name, artist, album) VALUES ('delete', old.id, old.name, old.artist, old.album);
END;
CREATE TRIGGER search_docs_ai_playlist AFTER INSERT ON search_docs WHEN new.kind = 'playlist' BEGIN
    INSERT INTO playlist_fts(rowid, name, artist, album) VALUES (new.id, new.name, new.artist, new.album);
END;
CREATE TRIGGER search_docs_ad_playlist AFTER DELETE ON search_docs WHEN old.kind = 'playlist' BEGIN
    INSERT INTO playlist_fts(playlist_fts, rowid, name, artist, album) VALUES ('delete', old.id, old.name, old.artist, old.album);
END;

-- A deleted track (by its owner, an admin, or with its owner's account) leaves the index.
CREATE TRIGGER tracks_search_forget AFTER DELETE ON tracks BEGIN
    DELETE FROM search_docs WHERE kind = 'track' AND ref_id = old.id;
END;

CREATE TABLE search_terms (
    term TEXT PRIMARY KEY
);

-- Album and artist pages, and search's "has a visible track" checks.
CREATE INDEX tracks_album ON tracks(album_id, disc_no, track_no);
CREATE INDEX tracks_artist ON tracks(artist_id);
CREATE INDEX tracks_album_artist ON tracks(album_artist_id);
