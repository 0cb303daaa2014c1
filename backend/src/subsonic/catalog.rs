//! The catalog as Subsonic apps browse it: artists, albums and songs with the fields the
//! API carries (disc, year, genre, file size and type, when starred, plays, rating), lists
//! of albums of every `getAlbumList2` type, genres, stars and ratings.
//!
//! Every query is built on the web player's own column lists and visibility predicates
//! (`library::repo`: `TRACK_COLUMNS`/`TRACK_JOINS` with `(t.owner_id = $1 OR t.shared = 1)`,
//! `ALBUM_COLUMNS`/`ALBUM_VISIBLE`, `ARTIST_COLUMNS`/`ARTIST_VISIBLE`), so an app sees
//! exactly what the user sees in the browser: another listener's personal upload never
//! appears in a list, a search, a star or a stream.

use crate::infra::actor::CurrentUser;
use crate::library::repo::{
    ALBUM_COLUMNS, ALBUM_VISIBLE, ARTIST_COLUMNS, ARTIST_VISIBLE, AlbumView, ArtistView,
    TRACK_COLUMNS, TRACK_JOINS, TrackView, album_view, artist_view, track_view,
};
use crate::{Core, Error, Result, now_ms};
use sqlx::Row;

/// Most items one list call returns (`size`, `count`).
pub const MAX_LIST: i64 = 500;

/// A song (Subsonic `Child`).
#[derive(Debug, Clone, PartialEq)]
pub struct Song {
    pub track: TrackView,
    pub disc_no: Option<i64>,
    pub year: Option<i64>,
    pub genre: Option<String>,
    pub starred_at: Option<i64>,
    pub played_at: Option<i64>,
    pub rating: Option<i64>,
    /// The original file's size and name (its extension is the suffix).
    pub size: Option<i64>,
    pub filename: Option<String>,
}

impl Song {
    /// The original's file extension, lowercase (`mp3`, `flac`, …).
    pub fn suffix(&self) -> Option<String> {
        let name = self.filename.as_deref()?;
        let (_, ext) = name.rsplit_once('.')?;
        (!ext.is_empty() && ext.len() <= 5 && ext.chars().all(|c| c.is_ascii_alphanumeric()))
            .then(|| ext.to_ascii_lowercase())
    }

    /// The original's media type, by its extension.
    pub fn content_type(&self) -> &'static str {
        match self.suffix().as_deref() {
            Some("mp3") => "audio/mpeg",
            Some("flac") => "audio/flac",
            Some("ogg" | "oga") => "audio/ogg",
            Some("opus") => "audio/ogg",
            Some("m4a" | "mp4" | "aac" | "alac") => "audio/mp4",
            Some("wav") => "audio/wav",
            Some("aif" | "aiff") => "audio/aiff",
            Some("webm") => "audio/webm",
            Some("wma") => "audio/x-ms-wma",
            _ => "application/octet-stream",
        }
    }
}

/// An album (Subsonic `AlbumID3`).
#[derive(Debug, Clone, PartialEq)]
pub struct Album {
    pub album: AlbumView,
    pub added_at: i64,
    pub duration_ms: i64,
    pub genre: Option<String>,
    pub starred_at: Option<i64>,
    pub rating: Option<i64>,
}

/// An artist (Subsonic `ArtistID3`).
#[derive(Debug, Clone, PartialEq)]
pub struct Artist {
    pub artist: ArtistView,
    pub albums: i64,
    pub starred_at: Option<i64>,
    pub rating: Option<i64>,
}

/// A genre with how many songs and albums of it the user may see.
#[derive(Debug, Clone, PartialEq)]
pub struct Genre {
    pub name: String,
    pub songs: i64,
    pub albums: i64,
}

/// What [`TRACK_COLUMNS`] lack for a song; the query joins [`SONG_JOINS`] too.
const SONG_EXTRA: &str = "t.disc_no, t.year, t.genre, lk.created_at AS starred_at,
    pc.last_played_at, rt.rating, j.size_bytes, j.filename";
const SONG_JOINS: &str = "LEFT JOIN ratings rt ON rt.user_id = $1 AND rt.item_id = t.id
    LEFT JOIN import_jobs j ON j.id = t.import_job_id";
/// The tracks `t` the user `$1` may see (the web player's predicate).
const TRACK_VISIBLE: &str = "(t.owner_id = $1 OR t.shared = 1)";

fn song(r: sqlx::any::AnyRow) -> Song {
    let extra = (
        r.get("disc_no"),
        r.get("year"),
        r.get("genre"),
        r.get("starred_at"),
        r.get("last_played_at"),
        r.get("rating"),
        r.get("size_bytes"),
        r.get("filename"),
    );
    Song {
        track: track_view(r),
        disc_no: extra.0,
        year: extra.1,
        genre: extra.2,
        starred_at: extra.3,
        played_at: extra.4,
        rating: extra.5,
        size: extra.6,
        filename: extra.7,
    }
}

/// What [`ALBUM_COLUMNS`] lack for an album.
fn album_extra() -> String {
    format!(
        "al.added_at,
        (SELECT CAST(COALESCE(SUM(t.duration_ms), 0) AS BIGINT) FROM tracks t
           WHERE t.album_id = al.id AND {TRACK_VISIBLE}) AS duration_ms,
        (SELECT MAX(t.genre) FROM tracks t WHERE t.album_id = al.id AND {TRACK_VISIBLE}) AS genre,
        (SELECT l.created_at FROM album_likes l WHERE l.album_id = al.id AND l.user_id = $1) AS starred_at,
        (SELECT r.rating FROM ratings r WHERE r.user_id = $1 AND r.item_id = al.id) AS rating"
    )
}

fn album(r: sqlx::any::AnyRow) -> Album {
    let extra = (
        r.get("added_at"),
        r.get("duration_ms"),
        r.get("genre"),
        r.get("starred_at"),
        r.get("rating"),
    );
    Album {
        album: album_view(r),
        added_at: extra.0,
        duration_ms: extra.1,
        genre: extra.2,
        starred_at: extra.3,
        rating: extra.4,
    }
}

fn artist_extra() -> String {
    format!(
        "(SELECT COUNT(*) FROM albums al WHERE al.artist_id = ar.id AND {ALBUM_VISIBLE}) AS albums,
        (SELECT l.created_at FROM artist_likes l WHERE l.artist_id = ar.id AND l.user_id = $1) AS starred_at,
        (SELECT r.rating FROM ratings r WHERE r.user_id = $1 AND r.item_id = ar.id) AS rating"
    )
}

fn artist(r: sqlx::any::AnyRow) -> Artist {
    let extra = (r.get("albums"), r.get("starred_at"), r.get("rating"));
    Artist {
        artist: artist_view(r),
        albums: extra.0,
        starred_at: extra.1,
        rating: extra.2,
    }
}

/// Songs the user may see, narrowed by `filter` (ending in AND; `$3`… are `args`), in
/// `order`, `limit` from `offset`.
async fn songs(
    core: &Core,
    user: &CurrentUser,
    from: &str,
    filter: &str,
    order: &str,
    (offset, limit): (i64, i64),
    args: &[&str],
) -> Result<Vec<Song>> {
    // The offset is an integer, so writing it into the SQL is safe.
    let sql = format!(
        "SELECT {TRACK_COLUMNS}, {SONG_EXTRA} FROM {from} {TRACK_JOINS} {SONG_JOINS}
         WHERE {filter} {TRACK_VISIBLE} ORDER BY {order}, t.id LIMIT $2 OFFSET {}",
        offset.max(0)
    );
    let mut q = sqlx::query(&sql)
        .bind(&user.id)
        .bind(limit.clamp(0, MAX_LIST));
    for a in args {
        q = q.bind(*a);
    }
    Ok(q.fetch_all(&core.db).await?.into_iter().map(song).collect())
}

/// Rows the user `$1` may see (`visible`) of `select` from `from`, narrowed by `filter`
/// (ending in AND; `$4`… are `args`), in `order` and then by `key` (in the direction of
/// the order's last term), `$2` of them from `$3`.
///
/// The page's keys are found first and its columns computed for those rows only: with
/// the columns in the same query, PostgreSQL computed every per-row subquery for each
/// row the OFFSET skipped (540 ms for 500 albums from the 9,000th of 10,000, against 64).
/// The key's direction matters to SQLite: `added_at DESC, id` could not walk the index
/// backwards and sorted every album (90 ms against 30).
#[allow(clippy::too_many_arguments)]
async fn paged<T>(
    core: &Core,
    user: &CurrentUser,
    (select, from, visible, key): (&str, &str, &str, &str),
    filter: &str,
    order: &str,
    (offset, limit): (i64, i64),
    args: &[&str],
    map: fn(sqlx::any::AnyRow) -> T,
) -> Result<Vec<T>> {
    let dir = if order.trim_end().ends_with("DESC") {
        " DESC"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {select} FROM {from} WHERE {filter} {key} IN (
            SELECT {key} FROM {from} WHERE {filter} {visible}
             ORDER BY {order}, {key}{dir} LIMIT $2 OFFSET $3)
         ORDER BY {order}, {key}{dir}"
    );
    let mut q = sqlx::query(&sql)
        .bind(&user.id)
        .bind(limit.clamp(0, MAX_LIST))
        .bind(offset.max(0));
    for a in args {
        q = q.bind(*a);
    }
    Ok(q.fetch_all(&core.db).await?.into_iter().map(map).collect())
}

/// Albums the user may see, from `from` (aliasing `albums al` and `artists ar`); see
/// [`paged`].
async fn albums(
    core: &Core,
    user: &CurrentUser,
    from: &str,
    filter: &str,
    order: &str,
    page: (i64, i64),
    args: &[&str],
) -> Result<Vec<Album>> {
    let select = format!("{ALBUM_COLUMNS}, {}", album_extra());
    let what = (select.as_str(), from, ALBUM_VISIBLE, "al.id");
    paged(core, user, what, filter, order, page, args, album).await
}

const ALBUMS_FROM: &str = "albums al JOIN artists ar ON ar.id = al.artist_id";

/// Artists the user may see, from `from` (aliasing `artists ar`); see [`paged`].
async fn artists(
    core: &Core,
    user: &CurrentUser,
    from: &str,
    filter: &str,
    order: &str,
    page: (i64, i64),
    args: &[&str],
) -> Result<Vec<Artist>> {
    let select = format!("{ARTIST_COLUMNS}, {}", artist_extra());
    let what = (select.as_str(), from, ARTIST_VISIBLE, "ar.id");
    paged(core, user, what, filter, order, page, args, artist).await
}

/// One song, if the user may see it.
pub async fn get_song(core: &Core, user: &CurrentUser, id: &str) -> Result<Song> {
    songs(
        core,
        user,
        "tracks t",
        "t.id = $3 AND",
        "t.id",
        (0, 1),
        &[id],
    )
    .await?
    .pop()
    .ok_or(Error::NotFound("song"))
}

/// One album, if the user may see a track of it.
pub async fn one_album(core: &Core, user: &CurrentUser, id: &str) -> Result<Album> {
    albums(
        core,
        user,
        ALBUMS_FROM,
        "al.id = $4 AND",
        "al.id",
        (0, 1),
        &[id],
    )
    .await?
    .pop()
    .ok_or(Error::NotFound("album"))
}

/// One artist, if the user may see a track of theirs.
pub async fn one_artist(core: &Core, user: &CurrentUser, id: &str) -> Result<Artist> {
    artists(
        core,
        user,
        "artists ar",
        "ar.id = $4 AND",
        "ar.id",
        (0, 1),
        &[id],
    )
    .await?
    .pop()
    .ok_or(Error::NotFound("artist"))
}

/// The songs of `ids` the user may see, in the order of `ids` (repeats kept).
pub async fn songs_by_ids(core: &Core, user: &CurrentUser, ids: &[String]) -> Result<Vec<Song>> {
    let mut distinct: Vec<&str> = ids.iter().map(String::as_str).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut found = std::collections::HashMap::new();
    for chunk in distinct.chunks(200) {
        let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
        let filter = format!("t.id IN ({}) AND", marks.join(", "));
        for s in songs(
            core,
            user,
            "tracks t",
            &filter,
            "t.id",
            (0, MAX_LIST),
            chunk,
        )
        .await?
        {
            found.insert(s.track.id.clone(), s);
        }
    }
    Ok(ids.iter().filter_map(|id| found.get(id).cloned()).collect())
}

/// An album and its songs the user may see, in disc and track order.
pub async fn get_album(core: &Core, user: &CurrentUser, id: &str) -> Result<(Album, Vec<Song>)> {
    let a = one_album(core, user, id).await?;
    let list = songs(
        core,
        user,
        "tracks t",
        "t.album_id = $3 AND",
        "COALESCE(t.disc_no, 1), COALESCE(t.track_no, 0), t.title",
        (0, MAX_LIST * 4),
        &[id],
    )
    .await?;
    Ok((a, list))
}

/// An artist and their albums the user may see, newest first.
pub async fn get_artist(core: &Core, user: &CurrentUser, id: &str) -> Result<(Artist, Vec<Album>)> {
    let a = one_artist(core, user, id).await?;
    let list = albums(
        core,
        user,
        ALBUMS_FROM,
        "al.artist_id = $4 AND",
        "COALESCE(al.year, 0) DESC, al.title",
        (0, MAX_LIST),
        &[id],
    )
    .await?;
    Ok((a, list))
}

/// Every artist the user may see, by name (apps index them by first letter), `limit`
/// from `offset`.
pub async fn all_artists(
    core: &Core,
    user: &CurrentUser,
    offset: i64,
    limit: i64,
) -> Result<Vec<Artist>> {
    artists(
        core,
        user,
        "artists ar",
        "",
        "ar.name_key",
        (offset, limit),
        &[],
    )
    .await
}

/// The kinds of `getAlbumList2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlbumList {
    Random,
    Newest,
    Highest,
    Frequent,
    Recent,
    AlphabeticalByName,
    AlphabeticalByArtist,
    Starred,
    ByYear { from: i64, to: i64 },
    ByGenre(String),
}

impl AlbumList {
    /// The list named `type` (with `fromYear`/`toYear` or `genre` where it needs them).
    pub fn parse(
        kind: &str,
        from_year: Option<i64>,
        to_year: Option<i64>,
        genre: Option<&str>,
    ) -> Result<AlbumList> {
        Ok(match kind {
            "random" => AlbumList::Random,
            "newest" => AlbumList::Newest,
            "highest" => AlbumList::Highest,
            "frequent" => AlbumList::Frequent,
            "recent" => AlbumList::Recent,
            "alphabeticalByName" => AlbumList::AlphabeticalByName,
            "alphabeticalByArtist" => AlbumList::AlphabeticalByArtist,
            "starred" => AlbumList::Starred,
            "byYear" => match (from_year, to_year) {
                (Some(from), Some(to)) => AlbumList::ByYear { from, to },
                _ => return Err(Error::Invalid("byYear needs fromYear and toYear".into())),
            },
            "byGenre" => match genre.filter(|g| !g.is_empty()) {
                Some(g) => AlbumList::ByGenre(g.to_string()),
                None => return Err(Error::Invalid("byGenre needs genre".into())),
            },
            other => {
                return Err(Error::Invalid(format!(
                    "unknown album list type {:?}",
                    other.chars().take(40).collect::<String>()
                )));
            }
        })
    }
}

/// One page of an album list.
pub async fn album_list(
    core: &Core,
    user: &CurrentUser,
    list: &AlbumList,
    offset: i64,
    limit: i64,
) -> Result<Vec<Album>> {
    let page = (offset, limit);
    match list {
        AlbumList::Random => albums(core, user, ALBUMS_FROM, "", "RANDOM()", page, &[]).await,
        AlbumList::Newest => {
            albums(core, user, ALBUMS_FROM, "", "al.added_at DESC", page, &[]).await
        }
        AlbumList::AlphabeticalByName => {
            albums(core, user, ALBUMS_FROM, "", "al.title_key", page, &[]).await
        }
        AlbumList::AlphabeticalByArtist => {
            albums(core, user, ALBUMS_FROM, "", "ar.name_key, al.title_key", page, &[]).await
        }
        AlbumList::Starred => {
            albums(
                core,
                user,
                "album_likes l JOIN albums al ON al.id = l.album_id JOIN artists ar ON ar.id = al.artist_id",
                "l.user_id = $1 AND",
                "l.created_at DESC",
                page,
                &[],
            )
            .await
        }
        AlbumList::Highest => {
            albums(
                core,
                user,
                "ratings r JOIN albums al ON al.id = r.item_id JOIN artists ar ON ar.id = al.artist_id",
                "r.user_id = $1 AND r.kind = 'album' AND",
                "r.rating DESC, r.updated_at DESC",
                page,
                &[],
            )
            .await
        }
        AlbumList::Frequent | AlbumList::Recent => {
            // The user's plays summed per album, most played or most recently played first.
            let (measure, order) = if *list == AlbumList::Frequent {
                ("SUM(pc.plays)", "f.m DESC")
            } else {
                ("MAX(pc.last_played_at)", "f.m DESC")
            };
            albums(
                core,
                user,
                &format!(
                    "(SELECT t.album_id AS id, {measure} AS m FROM play_counts pc
                       JOIN tracks t ON t.id = pc.track_id
                      WHERE pc.user_id = $1 AND t.album_id IS NOT NULL AND {TRACK_VISIBLE}
                      GROUP BY t.album_id) f
                     JOIN albums al ON al.id = f.id JOIN artists ar ON ar.id = al.artist_id"
                ),
                "",
                order,
                page,
                &[],
            )
            .await
        }
        AlbumList::ByYear { from, to } => {
            let (lo, hi, order) = if from <= to {
                (from, to, "COALESCE(al.year, 0), al.title_key")
            } else {
                (to, from, "COALESCE(al.year, 0) DESC, al.title_key")
            };
            albums(
                core,
                user,
                ALBUMS_FROM,
                &format!("al.year BETWEEN {lo} AND {hi} AND"),
                order,
                page,
                &[],
            )
            .await
        }
        AlbumList::ByGenre(g) => {
            albums(
                core,
                user,
                ALBUMS_FROM,
                &format!(
                    "EXISTS (SELECT 1 FROM tracks t WHERE t.album_id = al.id AND t.genre = $4
                       AND {TRACK_VISIBLE}) AND"
                ),
                "al.title_key",
                page,
                &[g.as_str()],
            )
            .await
        }
    }
}

/// Random songs, optionally of a genre and within years.
pub async fn random_songs(
    core: &Core,
    user: &CurrentUser,
    size: i64,
    genre: Option<&str>,
    years: (Option<i64>, Option<i64>),
) -> Result<Vec<Song>> {
    let mut filter = String::new();
    if let Some(from) = years.0 {
        filter.push_str(&format!("t.year >= {from} AND "));
    }
    if let Some(to) = years.1 {
        filter.push_str(&format!("t.year <= {to} AND "));
    }
    let mut args = Vec::new();
    if let Some(g) = genre.filter(|g| !g.is_empty()) {
        filter.push_str("t.genre = $3 AND ");
        args.push(g);
    }
    songs(
        core,
        user,
        "tracks t",
        &filter,
        "RANDOM()",
        (0, size),
        &args,
    )
    .await
}

/// Songs of a genre, by title.
pub async fn songs_by_genre(
    core: &Core,
    user: &CurrentUser,
    genre: &str,
    offset: i64,
    count: i64,
) -> Result<Vec<Song>> {
    songs(
        core,
        user,
        "tracks t",
        "t.genre = $3 AND",
        "t.title",
        (offset, count),
        &[genre],
    )
    .await
}

/// The genres of the songs the user may see, with counts, by name.
pub async fn genres(core: &Core, user: &CurrentUser) -> Result<Vec<Genre>> {
    let rows = sqlx::query(&format!(
        "SELECT t.genre AS name, COUNT(*) AS songs, COUNT(DISTINCT t.album_id) AS albums
         FROM tracks t WHERE t.genre IS NOT NULL AND t.genre <> '' AND {TRACK_VISIBLE}
         GROUP BY t.genre ORDER BY t.genre"
    ))
    .bind(&user.id)
    .fetch_all(&core.db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Genre {
            name: r.get("name"),
            songs: r.get("songs"),
            albums: r.get("albums"),
        })
        .collect())
}

/// What the user starred: artists, albums and songs, most recent first.
pub async fn starred(
    core: &Core,
    user: &CurrentUser,
) -> Result<(Vec<Artist>, Vec<Album>, Vec<Song>)> {
    let a = artists(
        core,
        user,
        "artist_likes l JOIN artists ar ON ar.id = l.artist_id",
        "l.user_id = $1 AND",
        "l.created_at DESC",
        (0, MAX_LIST),
        &[],
    )
    .await?;
    let b = album_list(core, user, &AlbumList::Starred, 0, MAX_LIST).await?;
    let s = songs(
        core,
        user,
        "track_likes sl JOIN tracks t ON t.id = sl.track_id",
        "sl.user_id = $1 AND",
        "sl.created_at DESC",
        (0, MAX_LIST),
        &[],
    )
    .await?;
    Ok((a, b, s))
}

/// The most played songs (by everyone) of the artist named `name`.
pub async fn top_songs(
    core: &Core,
    user: &CurrentUser,
    name: &str,
    count: i64,
) -> Result<Vec<Song>> {
    songs(
        core,
        user,
        "tracks t",
        "t.artist_id IN (SELECT id FROM artists WHERE name_key = $3) AND",
        "(SELECT COALESCE(SUM(p2.plays), 0) FROM play_counts p2 WHERE p2.track_id = t.id) DESC, t.title",
        (0, count),
        &[&crate::library::repo::name_key(name)],
    )
    .await
}

/// Songs like `id` (a song, album or artist): others by the same artist, then of the
/// same genre, in random order.
pub async fn similar_songs(
    core: &Core,
    user: &CurrentUser,
    id: &str,
    count: i64,
) -> Result<Vec<Song>> {
    // What the id names, among what the user may see.
    let (artist_id, genre) = if let Ok(s) = get_song(core, user, id).await {
        (s.track.artist_id.clone(), s.genre.clone())
    } else if let Ok(a) = one_album(core, user, id).await {
        (a.album.artist_id.clone(), a.genre.clone())
    } else {
        (one_artist(core, user, id).await?.artist.id, None)
    };
    let mut out = songs(
        core,
        user,
        "tracks t",
        "(t.artist_id = $3 OR t.album_artist_id = $3) AND t.id <> $4 AND",
        "RANDOM()",
        (0, count),
        &[&artist_id, id],
    )
    .await?;
    if let Some(g) = genre
        && (out.len() as i64) < count
    {
        let more = songs(
            core,
            user,
            "tracks t",
            "t.genre = $3 AND t.artist_id <> $4 AND",
            "RANDOM()",
            (0, count - out.len() as i64),
            &[&g, &artist_id],
        )
        .await?;
        out.extend(more);
    }
    Ok(out)
}

/// What an id names, among what the user may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Song,
    Album,
    Artist,
}

/// Whether the user may see the `kind` with this id (one index lookup, no columns).
async fn visible(core: &Core, user: &CurrentUser, kind: Kind, id: &str) -> Result<bool> {
    let sql = match kind {
        Kind::Song => format!("SELECT 1 FROM tracks t WHERE t.id = $2 AND {TRACK_VISIBLE}"),
        Kind::Album => format!("SELECT 1 FROM albums al WHERE al.id = $2 AND {ALBUM_VISIBLE}"),
        Kind::Artist => {
            format!("SELECT 1 FROM artists ar WHERE ar.id = $2 AND {ARTIST_VISIBLE}")
        }
    };
    let found: Option<i64> = sqlx::query_scalar(&sql)
        .bind(&user.id)
        .bind(id)
        .fetch_optional(&core.db)
        .await?;
    Ok(found.is_some())
}

/// Stars (`on`) or unstars songs, albums and artists the user may see: `any` are ids of
/// either kind (folder-based apps send an album's or an artist's id as `id`), the others
/// ids of their kind. Nothing changes unless every id is found.
pub async fn star(
    core: &Core,
    user: &CurrentUser,
    (any, album_ids, artist_ids): (&[&str], &[&str], &[&str]),
    on: bool,
) -> Result<()> {
    let mut items = Vec::new();
    'ids: for id in any {
        for kind in [Kind::Song, Kind::Album, Kind::Artist] {
            if visible(core, user, kind, id).await? {
                items.push((kind, *id));
                continue 'ids;
            }
        }
        return Err(Error::NotFound("song, album or artist"));
    }
    for (kind, ids, what) in [
        (Kind::Album, album_ids, "album"),
        (Kind::Artist, artist_ids, "artist"),
    ] {
        for id in ids {
            if !visible(core, user, kind, id).await? {
                return Err(Error::NotFound(what));
            }
            items.push((kind, *id));
        }
    }
    if items.is_empty() {
        return Err(Error::Invalid("Name a song, an album or an artist.".into()));
    }
    let now = now_ms();
    let mut tx = crate::db::begin(&core.db).await?;
    for (kind, id) in items {
        match kind {
            Kind::Song => crate::library::repo::set_liked(&mut *tx, &user.id, id, on, now).await?,
            Kind::Album => {
                crate::library::repo::set_album_liked(&mut *tx, &user.id, id, on, now).await?
            }
            Kind::Artist => {
                let q = if on {
                    sqlx::query(
                        "INSERT INTO artist_likes (user_id, artist_id, created_at) VALUES ($1, $2, $3)
                         ON CONFLICT (user_id, artist_id) DO NOTHING",
                    )
                    .bind(&user.id)
                    .bind(id)
                    .bind(now)
                } else {
                    sqlx::query("DELETE FROM artist_likes WHERE user_id = $1 AND artist_id = $2")
                        .bind(&user.id)
                        .bind(id)
                };
                q.execute(&mut *tx).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Rates a song, an album or an artist the user may see from 1 to 5; 0 removes the
/// rating.
pub async fn set_rating(core: &Core, user: &CurrentUser, id: &str, rating: i64) -> Result<()> {
    if !(0..=5).contains(&rating) {
        return Err(Error::Invalid("a rating is 0 (none) to 5".into()));
    }
    let kind = if get_song(core, user, id).await.is_ok() {
        "track"
    } else if one_album(core, user, id).await.is_ok() {
        "album"
    } else {
        one_artist(core, user, id).await?;
        "artist"
    };
    if rating == 0 {
        sqlx::query("DELETE FROM ratings WHERE user_id = $1 AND item_id = $2")
            .bind(&user.id)
            .bind(id)
            .execute(&core.db)
            .await?;
    } else {
        sqlx::query(
            "INSERT INTO ratings (user_id, item_id, kind, rating, updated_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (user_id, item_id) DO UPDATE SET rating = $4, updated_at = $5",
        )
        .bind(&user.id)
        .bind(id)
        .bind(kind)
        .bind(rating)
        .bind(now_ms())
        .execute(&core.db)
        .await?;
    }
    Ok(())
}

/// `search3`: with an empty query every artist, album and song the user may see (how
/// apps copy a whole library), each list paged on its own; otherwise the web player's
/// search (same matching, typo tolerance and visibility), paged within its best hits.
pub async fn search(
    core: &Core,
    user: &CurrentUser,
    query: &str,
    artists_page: (i64, i64),
    albums_page: (i64, i64),
    songs_page: (i64, i64),
) -> Result<(Vec<Artist>, Vec<Album>, Vec<Song>)> {
    let q = query.trim().trim_matches('"').trim();
    if q.is_empty() || q == "*" {
        let a = if artists_page.1 > 0 {
            all_artists(core, user, artists_page.0, artists_page.1.min(MAX_LIST)).await?
        } else {
            Vec::new()
        };
        let b = if albums_page.1 > 0 {
            album_list(
                core,
                user,
                &AlbumList::AlphabeticalByName,
                albums_page.0,
                albums_page.1,
            )
            .await?
        } else {
            Vec::new()
        };
        let s = if songs_page.1 > 0 {
            // The page's ids first, walking the album-order index alone (it carries who
            // may see each track), then their columns and joins for those 500 rows only.
            const ORDER: &str = "t.sort_album, COALESCE(t.disc_no, 1), COALESCE(t.track_no, 0)";
            let page = format!(
                "t.id IN (SELECT t.id FROM tracks t WHERE {TRACK_VISIBLE}
                   ORDER BY {ORDER}, t.id LIMIT $2 OFFSET {}) AND",
                songs_page.0.max(0)
            );
            songs(core, user, "tracks t", &page, ORDER, (0, songs_page.1), &[]).await?
        } else {
            Vec::new()
        };
        return Ok((a, b, s));
    }
    let found = crate::search::search(core, user, q).await?;
    let pick = |ids: Vec<String>, (offset, limit): (i64, i64)| -> Vec<String> {
        ids.into_iter()
            .skip(usize::try_from(offset.max(0)).unwrap_or(0))
            .take(usize::try_from(limit.max(0)).unwrap_or(0))
            .collect()
    };
    let mut a = Vec::new();
    for id in pick(
        found.artists.into_iter().map(|x| x.id).collect(),
        artists_page,
    ) {
        if let Ok(x) = one_artist(core, user, &id).await {
            a.push(x);
        }
    }
    let mut b = Vec::new();
    for id in pick(
        found.albums.into_iter().map(|x| x.id).collect(),
        albums_page,
    ) {
        if let Ok(x) = one_album(core, user, &id).await {
            b.push(x);
        }
    }
    let ids = pick(found.tracks.into_iter().map(|x| x.id).collect(), songs_page);
    let s = songs_by_ids(core, user, &ids).await?;
    Ok((a, b, s))
}

/// A Subsonic scrobble: a whole play of song `id` at `at` (Unix ms), counted like the web
/// player's (same event, same handler). The playback id is made from the user, the song
/// and the time, so a scrobble an app retries counts once.
pub async fn scrobble(core: &Core, user: &CurrentUser, id: &str, at: i64) -> Result<()> {
    let s = get_song(core, user, id).await?;
    let playback = crate::infra::crypto::sha256_hex(&format!("{}|{id}|{at}", user.id));
    crate::playback::plays::record_play_at(
        core,
        user,
        id,
        &format!("sub-{}", &playback[..40]),
        s.track.duration_ms,
        at,
    )
    .await
}

/// A song's embedded lyrics, if the user may see the song (`None`: it has none).
pub async fn lyrics(core: &Core, user: &CurrentUser, id: &str) -> Result<(Song, Option<String>)> {
    let s = get_song(core, user, id).await?;
    let text: Option<String> = sqlx::query_scalar("SELECT lyrics FROM tracks WHERE id = $1")
        .bind(id)
        .fetch_one(&core.db)
        .await?;
    Ok((s, text))
}

/// The legacy `getLyrics`: the embedded lyrics of a song the user may see with this
/// title (and artist, when given), compared without case; the first such song with lyrics.
pub async fn lyrics_by_name(
    core: &Core,
    user: &CurrentUser,
    artist: &str,
    title: &str,
) -> Result<Option<(Song, String)>> {
    let (artist, title) = (artist.trim(), title.trim());
    if title.is_empty() {
        return Ok(None);
    }
    let mut filter = String::from("t.lyrics IS NOT NULL AND LOWER(t.title) = LOWER($3) AND");
    let mut args = vec![title];
    if !artist.is_empty() {
        filter.push_str(" LOWER(ar.name) = LOWER($4) AND");
        args.push(artist);
    }
    let Some(song) = songs(
        core,
        user,
        "tracks t",
        &filter,
        "t.created_at",
        (0, 1),
        &args,
    )
    .await?
    .pop() else {
        return Ok(None);
    };
    let (song, text) = lyrics(core, user, &song.track.id).await?;
    Ok(text.map(|t| (song, t)))
}

/// Lyrics as lines: with their start (ms) when every line with text carries an LRC time
/// stamp (`[mm:ss.xx]`; a line with several gets a line per stamp, in time order), else
/// the plain lines. LRC tags such as `[ar:…]` and `[offset:…]` are left out; the offset
/// is returned (ms; positive: lyrics appear sooner).
pub fn parse_lyrics(text: &str) -> (Vec<(Option<i64>, String)>, i64) {
    fn stamp(s: &str) -> Option<i64> {
        let (m, rest) = s.split_once(':')?;
        let m: i64 = m.trim().parse().ok()?;
        let secs: f64 = rest.trim().replace(',', ".").parse().ok()?;
        (secs >= 0.0 && m >= 0).then(|| m * 60_000 + (secs * 1000.0).round() as i64)
    }
    let mut offset = 0;
    let mut timed = Vec::new();
    let mut plain = Vec::new();
    let mut all_timed = true;
    for line in text.lines() {
        let mut rest = line.trim();
        let mut stamps = Vec::new();
        let mut tag = false;
        while let Some(inner) = rest.strip_prefix('[') {
            let Some((head, tail)) = inner.split_once(']') else {
                break;
            };
            match stamp(head) {
                Some(ms) => stamps.push(ms),
                None => {
                    tag = true;
                    if let Some(v) = head.strip_prefix("offset:") {
                        offset = v.trim().parse().unwrap_or(0);
                    }
                }
            }
            rest = tail.trim_start();
        }
        if tag && stamps.is_empty() {
            continue;
        }
        if stamps.is_empty() {
            if !rest.is_empty() {
                all_timed = false;
            }
            plain.push(rest.to_string());
        } else {
            plain.push(rest.to_string());
            timed.extend(stamps.into_iter().map(|ms| (Some(ms), rest.to_string())));
        }
    }
    if all_timed && !timed.is_empty() {
        timed.sort_by_key(|(ms, _)| *ms);
        return (timed, offset);
    }
    while plain.last().is_some_and(String::is_empty) {
        plain.pop();
    }
    (plain.into_iter().map(|l| (None, l)).collect(), 0)
}

#[cfg(test)]
mod tests {
    use super::parse_lyrics;

    #[test]
    fn lrc_lines_are_timed_and_plain_lyrics_are_not() {
        let (lines, offset) = parse_lyrics(
            "[ar:Someone]\n[offset:-250]\n[00:12.50]First line\n[00:05.00][01:00.00]Chorus\n[00:20.10]\n",
        );
        assert_eq!(offset, -250);
        assert_eq!(
            lines,
            vec![
                (Some(5_000), "Chorus".to_string()),
                (Some(12_500), "First line".to_string()),
                (Some(20_100), String::new()),
                (Some(60_000), "Chorus".to_string()),
            ]
        );
        let (lines, offset) = parse_lyrics("Hello\n\nWorld\n");
        assert_eq!(offset, 0);
        assert_eq!(
            lines,
            vec![
                (None, "Hello".to_string()),
                (None, String::new()),
                (None, "World".to_string())
            ]
        );
        // A stamp on some lines only: plain lines, as written.
        let (lines, _) = parse_lyrics("[00:01.00]One\nTwo");
        assert_eq!(
            lines,
            vec![(None, "One".to_string()), (None, "Two".to_string())]
        );
    }
}
