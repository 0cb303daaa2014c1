-- Playlists: a listener's ordered lists of tracks, private or public (a public one can be
-- played and copied by anyone signed in, never edited). Entries keep dense positions
-- 0..n-1; a track may appear more than once.
CREATE TABLE playlists (
    id          TEXT PRIMARY KEY,
    owner_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    public      BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX playlists_owner ON playlists(owner_id, updated_at);

CREATE TABLE playlist_tracks (
    id          TEXT PRIMARY KEY,
    playlist_id TEXT NOT NULL REFERENCES playlists(id) ON DELETE CASCADE,
    track_id    TEXT NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    added_at    BIGINT NOT NULL
);
CREATE INDEX playlist_tracks_order ON playlist_tracks(playlist_id, position);
CREATE INDEX playlist_tracks_track ON playlist_tracks(track_id);

-- A deleted playlist leaves the search index.
CREATE TRIGGER playlists_search_forget AFTER DELETE ON playlists BEGIN
    DELETE FROM search_docs WHERE kind = 'playlist' AND ref_id = old.id;
END;
