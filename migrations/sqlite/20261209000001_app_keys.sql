-- Credentials for Subsonic apps (OpenSubsonic `/rest`), made, named and revoked by their
-- user in Settings; never the account password. An API key (`apiKey=`) is stored as the
-- SHA-256 of the key. An app password (for legacy clients that sign requests with
-- md5(password + salt), which needs the secret itself) is stored sealed with the server
-- key (ChaCha20-Poly1305), never in clear. Neither expires; deleting the row revokes it.
CREATE TABLE app_keys (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('api_key', 'app_password')),
    key_hash      TEXT UNIQUE,
    sealed_secret TEXT,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX app_keys_user ON app_keys(user_id, kind);

-- Stars on artists (tracks and albums have theirs: track_likes, album_likes), for
-- Subsonic apps' `star artistId=`.
CREATE TABLE artist_likes (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    artist_id  TEXT NOT NULL REFERENCES artists(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, artist_id)
);
CREATE INDEX artist_likes_recent ON artist_likes(user_id, created_at);

-- A listener's 1-to-5 rating of a track, an album or an artist (Subsonic `setRating`;
-- rating 0 deletes the row).
CREATE TABLE ratings (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    item_id    TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('track', 'album', 'artist')),
    rating     BIGINT NOT NULL CHECK (rating BETWEEN 1 AND 5),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, item_id)
);
CREATE INDEX ratings_best ON ratings(user_id, kind, rating);

-- What each user's Subsonic apps said they are playing (`scrobble submission=false`),
-- one row per user and app, for `getNowPlaying`.
CREATE TABLE now_playing (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client     TEXT NOT NULL,
    track_id   TEXT NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    started_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client)
);

-- Lyrics embedded in a track's tags (plain, or LRC lines with time stamps), for Subsonic
-- apps' `getLyricsBySongId`.
ALTER TABLE tracks ADD COLUMN lyrics TEXT;
