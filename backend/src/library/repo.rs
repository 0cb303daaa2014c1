use crate::Result;
use sqlx::{AnyConnection, Executor, Row};

/// A track as listed in the library.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TrackView {
    pub id: String,
    pub title: String,
    pub artist: String,
    pub artist_id: String,
    pub album: Option<String>,
    pub album_id: Option<String>,
    pub track_no: Option<i64>,
    pub duration_ms: i64,
    pub has_cover: bool,
    /// Changes when the cover does (cover URLs carry it, so browsers may cache them for good).
    pub cover_v: String,
    pub created_at: i64,
    pub owner_id: String,
    /// The user the list was made for liked it.
    pub liked: bool,
    /// How often that user played it.
    pub plays: i64,
}

/// Columns of a [`TrackView`] for the user `$1`; the query joins [`TRACK_JOINS`] to `t`.
pub(crate) const TRACK_COLUMNS: &str =
    "t.id, t.title, ar.name AS artist, t.artist_id, al.title AS album, t.album_id, t.track_no, t.duration_ms,
        t.cover_key, t.created_at,
        t.owner_id, CAST(CASE WHEN lk.user_id IS NULL THEN 0 ELSE 1 END AS BIGINT) AS liked,
        COALESCE(pc.plays, 0) AS plays";

/// What [`TRACK_COLUMNS`] need joined to the tracks `t`. Every track has an artist, so
/// the LEFT JOIN to it changes no result; it keeps the tracks the outer loop in SQLite,
/// whose planner otherwise went through the artists and sorted every track to find the
/// newest hundred (6 ms instead of 0.2 at 10,000 tracks, and growing with the catalog).
pub(crate) const TRACK_JOINS: &str =
    "LEFT JOIN artists ar ON ar.id = t.artist_id LEFT JOIN albums al ON al.id = t.album_id
     LEFT JOIN track_likes lk ON lk.track_id = t.id AND lk.user_id = $1
     LEFT JOIN play_counts pc ON pc.track_id = t.id AND pc.user_id = $1";

/// A short version of a cover object key for cover URLs ("" without a cover).
pub fn cover_version(key: Option<&str>) -> String {
    key.map(|k| crate::infra::crypto::sha256_hex(k)[..10].to_string())
        .unwrap_or_default()
}

/// Splits a `cover_ref` column (`track id` and cover key, space-separated) into the
/// track whose cover stands for a list and the cover's version.
pub(crate) fn cover_ref(r: &sqlx::any::AnyRow) -> (Option<String>, String) {
    match r.get::<Option<String>, _>("cover_ref") {
        Some(s) => match s.split_once(' ') {
            Some((id, key)) => (Some(id.to_string()), cover_version(Some(key))),
            None => (Some(s), String::new()),
        },
        None => (None, String::new()),
    }
}

pub(crate) fn track_view(r: sqlx::any::AnyRow) -> TrackView {
    TrackView {
        id: r.get("id"),
        title: r.get("title"),
        artist: r.get("artist"),
        artist_id: r.get("artist_id"),
        album: r.get("album"),
        album_id: r.get("album_id"),
        track_no: r.get("track_no"),
        duration_ms: r.get("duration_ms"),
        has_cover: r.get::<Option<String>, _>("cover_key").is_some(),
        cover_v: cover_version(r.get::<Option<String>, _>("cover_key").as_deref()),
        created_at: r.get("created_at"),
        owner_id: r.get("owner_id"),
        liked: r.get::<i64, _>("liked") == 1,
        plays: r.get("plays"),
    }
}

/// Track views for `user_id` among the tracks they may see, narrowed by `filter` (which
/// may use `arg` as `$3`), put in `order`, `limit` of them from `offset` on.
async fn list_for<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    filter: &str,
    order: &str,
    page: (i64, i64),
    arg: Option<&str>,
) -> Result<Vec<TrackView>> {
    list_from(db, user_id, "tracks t", filter, order, page, arg).await
}

/// [`list_for`] with the tracks `t` reached through `from`: a list that belongs to the user
/// (likes, plays) is walked in its own order on its own index and joined to its tracks,
/// rather than every track of the catalog being probed for membership.
async fn list_from<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    from: &str,
    filter: &str,
    order: &str,
    (offset, limit): (i64, i64),
    arg: Option<&str>,
) -> Result<Vec<TrackView>> {
    // The offset is an integer, so writing it into the SQL is safe.
    let sql = format!(
        "SELECT {TRACK_COLUMNS} FROM {from} {TRACK_JOINS} WHERE {filter} (t.owner_id = $1 OR t.shared = 1)
         ORDER BY {order}, t.id LIMIT $2 OFFSET {offset}"
    );
    let mut q = sqlx::query(&sql).bind(user_id).bind(limit);
    if let Some(arg) = arg {
        q = q.bind(arg);
    }
    Ok(q.fetch_all(db).await?.into_iter().map(track_view).collect())
}

/// Tracks visible to `user_id`, newest first.
#[tracing::instrument(name = "sql library.list_visible", skip_all)]
pub async fn list_visible<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    limit: i64,
) -> Result<Vec<TrackView>> {
    list_for(db, user_id, "", "t.created_at DESC", (0, limit), None).await
}

/// Tracks `user_id` liked and may still see, most recently liked first.
#[tracing::instrument(name = "sql library.list_liked", skip_all)]
pub async fn list_liked<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    limit: i64,
) -> Result<Vec<TrackView>> {
    list_from(
        db,
        user_id,
        "track_likes mine JOIN tracks t ON t.id = mine.track_id",
        "mine.user_id = $1 AND",
        "mine.created_at DESC",
        (0, limit),
        None,
    )
    .await
}

/// Tracks `user_id` played and may still see, most recently played first.
#[tracing::instrument(name = "sql library.list_recently_played", skip_all)]
pub async fn list_recently_played<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    limit: i64,
) -> Result<Vec<TrackView>> {
    list_from(
        db,
        user_id,
        "play_counts mine JOIN tracks t ON t.id = mine.track_id",
        "mine.user_id = $1 AND",
        "mine.last_played_at DESC",
        (0, limit),
        None,
    )
    .await
}

/// How a track list can be sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackSort {
    Added,
    Title,
    Artist,
    Album,
    Plays,
}

impl TrackSort {
    pub fn parse(s: &str) -> Option<TrackSort> {
        Some(match s {
            "added" => TrackSort::Added,
            "title" => TrackSort::Title,
            "artist" => TrackSort::Artist,
            "album" => TrackSort::Album,
            "plays" => TrackSort::Plays,
            _ => return None,
        })
    }

    /// The ORDER BY for this sort (ties broken by title, then id in `list_for`).
    fn order(self, desc: bool) -> String {
        let d = if desc { "DESC" } else { "ASC" };
        match self {
            TrackSort::Added => format!("t.created_at {d}"),
            TrackSort::Title => format!("LOWER(t.title) {d}"),
            // The lower-cased artist name and album title the tracks keep (migration
            // 20261206000002), in the order of the indexes tracks_by_artist and _album.
            TrackSort::Artist => {
                format!("t.sort_artist {d}, t.sort_album {d}, COALESCE(t.track_no, 0)")
            }
            TrackSort::Album => {
                format!("t.sort_album {d}, COALESCE(t.disc_no, 1), COALESCE(t.track_no, 0)")
            }
            // The order `list_by_plays` gives (`list_page` sends this sort there, where
            // it is computed without sorting the catalog).
            TrackSort::Plays => format!("COALESCE(pc.plays, 0) {d}, LOWER(t.title)"),
        }
    }
}

/// One page of the tracks `user_id` may see, in `sort` order.
#[tracing::instrument(name = "sql library.list_page", skip_all)]
pub async fn list_page<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    sort: TrackSort,
    desc: bool,
    offset: i64,
    limit: i64,
) -> Result<Vec<TrackView>> {
    if sort == TrackSort::Plays {
        return list_by_plays(db, user_id, desc, offset, limit).await;
    }
    list_for(db, user_id, "", &sort.order(desc), (offset, limit), None).await
}

/// [`list_page`] by play count: the tracks the user played (walked from their own counts)
/// and those they did not (walked by title), each cut at the page's end before the two
/// are merged, so a page never sorts the catalog. Ties go by title, then id.
async fn list_by_plays<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    desc: bool,
    offset: i64,
    limit: i64,
) -> Result<Vec<TrackView>> {
    let d = if desc { "DESC" } else { "ASC" };
    // Integers, so writing them into the SQL is safe.
    let end = offset + limit;
    let sql = format!(
        "SELECT {TRACK_COLUMNS} FROM (
           SELECT id, n, k FROM (
             SELECT t.id, p.plays AS n, LOWER(t.title) AS k FROM play_counts p
             JOIN tracks t ON t.id = p.track_id
             WHERE p.user_id = $1 AND p.plays > 0 AND (t.owner_id = $1 OR t.shared = 1)
             ORDER BY p.plays {d}, LOWER(t.title), t.id LIMIT {end}) played
           UNION ALL
           SELECT id, n, k FROM (
             SELECT t.id, 0 AS n, LOWER(t.title) AS k FROM tracks t
             WHERE (t.owner_id = $1 OR t.shared = 1) AND NOT EXISTS (SELECT 1 FROM play_counts p
               WHERE p.user_id = $1 AND p.track_id = t.id AND p.plays > 0)
             ORDER BY LOWER(t.title), t.id LIMIT {end}) unplayed
         ) page JOIN tracks t ON t.id = page.id {TRACK_JOINS}
         ORDER BY page.n {d}, page.k, page.id LIMIT $2 OFFSET {offset}"
    );
    let rows = sqlx::query(&sql)
        .bind(user_id)
        .bind(limit)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(track_view).collect())
}

/// How many tracks `user_id` may see: everyone's shared ones and their own others, from
/// the tallies the tracks' triggers keep (one row per owner and sharing).
#[tracing::instrument(name = "sql library.count_visible", skip_all)]
pub async fn count_visible<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM track_tallies
         WHERE shared = 1 OR (owner_id = $1 AND shared <> 1)",
    )
    .bind(user_id)
    .fetch_one(db)
    .await?)
}

/// Albums with tracks `user_id` may see: by title, or most recently added first.
#[tracing::instrument(name = "sql library.list_albums", skip_all)]
pub async fn list_albums<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    recent: bool,
    offset: i64,
    limit: i64,
) -> Result<Vec<AlbumView>> {
    // Both orders walk an index (albums_added, albums_title) and stop at the page's end;
    // the columns, some of which cost a query each, are computed for that page only.
    //
    // The outer query sorts by the page's own columns, not the album's: ordered by
    // `al.added_at`, SQLite 3.46 (the one sqlx bundles) chose to walk every album by that
    // index and probe the page for each, 20 to 50 ms on 20,000 albums instead of 0.7 ms.
    let (key, dir) = if recent {
        ("added_at", "DESC")
    } else {
        ("title_key", "ASC")
    };
    let rows = sqlx::query(&format!(
        "SELECT {ALBUM_COLUMNS} FROM (
            SELECT al.id, al.{key} AS k FROM albums al WHERE {ALBUM_VISIBLE}
            ORDER BY al.{key} {dir}, al.id {dir} LIMIT $2 OFFSET $3
         ) page JOIN albums al ON al.id = page.id JOIN artists ar ON ar.id = al.artist_id
         ORDER BY page.k {dir}, page.id {dir}"
    ))
    .bind(user_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(album_view).collect())
}

/// Artists with tracks `user_id` may see, by name.
#[tracing::instrument(name = "sql library.list_artists", skip_all)]
pub async fn list_artists<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    offset: i64,
    limit: i64,
) -> Result<Vec<ArtistView>> {
    let rows = sqlx::query(&format!(
        "SELECT {ARTIST_COLUMNS} FROM artists ar WHERE {ARTIST_VISIBLE}
         ORDER BY ar.name_key, ar.id LIMIT $2 OFFSET $3"
    ))
    .bind(user_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(artist_view).collect())
}

/// The tracks of an album that `user_id` may see, in disc and track order.
#[tracing::instrument(name = "sql library.list_album_tracks", skip_all)]
pub async fn list_album_tracks<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    album_id: &str,
) -> Result<Vec<TrackView>> {
    list_for(
        db,
        user_id,
        "t.album_id = $3 AND",
        "COALESCE(t.disc_no, 1), COALESCE(t.track_no, 0), t.title",
        (0, 2000),
        Some(album_id),
    )
    .await
}

/// An artist's tracks that `user_id` may see, most played (by everyone) first.
#[tracing::instrument(name = "sql library.list_artist_top_tracks", skip_all)]
pub async fn list_artist_top_tracks<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    artist_id: &str,
    limit: i64,
) -> Result<Vec<TrackView>> {
    list_for(
        db,
        user_id,
        "(t.artist_id = $3 OR t.album_artist_id = $3) AND",
        "(SELECT COALESCE(SUM(p2.plays), 0) FROM play_counts p2 WHERE p2.track_id = t.id) DESC, t.title",
        (0, limit),
        Some(artist_id),
    )
    .await
}

/// An album as listed (search results, album grids, album pages), for the user `$1`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AlbumView {
    pub id: String,
    pub title: String,
    pub artist_id: String,
    pub artist: String,
    pub year: Option<i64>,
    /// A track of it the user may see that has the cover (covers are served per track).
    pub cover_track_id: Option<String>,
    pub cover_v: String,
    /// How many of its tracks the user may see.
    pub tracks: i64,
    /// The user liked the album.
    pub liked: bool,
}

/// Albums `al` with a track the user `$1` may see.
pub(crate) const ALBUM_VISIBLE: &str = "EXISTS (SELECT 1 FROM tracks t WHERE t.album_id = al.id AND (t.owner_id = $1 OR t.shared = 1))";

/// Artists `ar` with a track (theirs, or on their album) the user `$1` may see, read from
/// the artist's few `artist_tallies` rows (the rows [`ARTIST_COLUMNS`] counts from;
/// emptied rows stay with n = 0). Looking for such a track in `tracks` instead read a
/// big table's index once per artist: 61 lookups of about 48 µs each for a page of 60
/// artists at 1,000,000 tracks on PostgreSQL, against a few µs at 10,000.
pub(crate) const ARTIST_VISIBLE: &str = "EXISTS (SELECT 1 FROM artist_tallies v
    WHERE v.artist_id = ar.id AND (v.owner_id = $1 OR v.shared = 1) AND v.n > 0)";

/// Columns of an [`AlbumView`] of albums `al` by artists `ar`, for the user `$1`.
pub(crate) const ALBUM_COLUMNS: &str = "al.id, al.title, ar.id AS artist_id, ar.name AS artist, al.year,
    (SELECT t.id || ' ' || t.cover_key FROM tracks t WHERE t.album_id = al.id AND (t.owner_id = $1 OR t.shared = 1)
       AND t.cover_key IS NOT NULL ORDER BY COALESCE(t.disc_no, 1), COALESCE(t.track_no, 0), t.id LIMIT 1)
       AS cover_ref,
    (SELECT COUNT(*) FROM tracks t WHERE t.album_id = al.id AND (t.owner_id = $1 OR t.shared = 1)) AS tracks,
    CAST(CASE WHEN EXISTS (SELECT 1 FROM album_likes l WHERE l.album_id = al.id AND l.user_id = $1)
       THEN 1 ELSE 0 END AS BIGINT) AS liked";

pub(crate) fn album_view(r: sqlx::any::AnyRow) -> AlbumView {
    let (cover_track_id, cover_v) = cover_ref(&r);
    AlbumView {
        id: r.get("id"),
        title: r.get("title"),
        artist_id: r.get("artist_id"),
        artist: r.get("artist"),
        year: r.get("year"),
        cover_track_id,
        cover_v,
        tracks: r.get("tracks"),
        liked: r.get::<i64, _>("liked") == 1,
    }
}

/// An artist as listed, for the user `$1`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ArtistView {
    pub id: String,
    pub name: String,
    /// How many of their tracks the user may see.
    pub tracks: i64,
}

/// Columns of an [`ArtistView`] of artists `ar`, for the user `$1`.
/// The count is the artist's own tracks plus those on albums credited to them, that the
/// user may see, summed from the few `artist_tallies` rows of the artist (one per owner and
/// sharing; see migration 20261206000004) rather than counted track by track.
pub(crate) const ARTIST_COLUMNS: &str = "ar.id, ar.name,
    (SELECT CAST(COALESCE(SUM(x.n), 0) AS BIGINT) FROM artist_tallies x
      WHERE x.artist_id = ar.id AND (x.owner_id = $1 OR x.shared = 1)) AS tracks";

pub(crate) fn artist_view(r: sqlx::any::AnyRow) -> ArtistView {
    ArtistView {
        id: r.get("id"),
        name: r.get("name"),
        tracks: r.get("tracks"),
    }
}

/// An album, if `user_id` may see at least one of its tracks.
#[tracing::instrument(name = "sql library.album", skip_all)]
pub async fn album<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    album_id: &str,
) -> Result<Option<AlbumView>> {
    let row = sqlx::query(&format!(
        "SELECT {ALBUM_COLUMNS} FROM albums al JOIN artists ar ON ar.id = al.artist_id WHERE al.id = $2"
    ))
    .bind(user_id)
    .bind(album_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(album_view).filter(|a| a.tracks > 0))
}

/// An artist, if `user_id` may see at least one of their tracks.
#[tracing::instrument(name = "sql library.artist", skip_all)]
pub async fn artist<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    artist_id: &str,
) -> Result<Option<ArtistView>> {
    let row = sqlx::query(&format!(
        "SELECT {ARTIST_COLUMNS} FROM artists ar WHERE ar.id = $2"
    ))
    .bind(user_id)
    .bind(artist_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(artist_view).filter(|a| a.tracks > 0))
}

/// An artist's albums with tracks `user_id` may see, newest first.
#[tracing::instrument(name = "sql library.list_artist_albums", skip_all)]
pub async fn list_artist_albums<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    artist_id: &str,
) -> Result<Vec<AlbumView>> {
    let rows = sqlx::query(&format!(
        "SELECT {ALBUM_COLUMNS} FROM albums al JOIN artists ar ON ar.id = al.artist_id
         WHERE al.artist_id = $2 AND {ALBUM_VISIBLE}
         ORDER BY COALESCE(al.year, 0) DESC, al.title, al.id"
    ))
    .bind(user_id)
    .bind(artist_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(album_view).collect())
}

/// Albums `user_id` liked that they may still see, most recently liked first.
#[tracing::instrument(name = "sql library.list_liked_albums", skip_all)]
pub async fn list_liked_albums<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    limit: i64,
) -> Result<Vec<AlbumView>> {
    let rows = sqlx::query(&format!(
        "SELECT {ALBUM_COLUMNS} FROM album_likes l JOIN albums al ON al.id = l.album_id
         JOIN artists ar ON ar.id = al.artist_id
         WHERE l.user_id = $1 AND {ALBUM_VISIBLE} ORDER BY l.created_at DESC, al.id LIMIT $2"
    ))
    .bind(user_id)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(album_view).collect())
}

/// Likes or unlikes an album; doing either twice changes nothing.
#[tracing::instrument(name = "sql library.set_album_liked", skip_all)]
pub async fn set_album_liked<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    album_id: &str,
    liked: bool,
    now: i64,
) -> Result<()> {
    set_like(
        db,
        ("album_likes", "album_id"),
        user_id,
        album_id,
        liked,
        now,
    )
    .await
}

/// Likes or unlikes a track; doing either twice changes nothing.
#[tracing::instrument(name = "sql library.set_liked", skip_all)]
pub async fn set_liked<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    track_id: &str,
    liked: bool,
    now: i64,
) -> Result<()> {
    set_like(
        db,
        ("track_likes", "track_id"),
        user_id,
        track_id,
        liked,
        now,
    )
    .await
}

/// Adds or removes the row of `user_id` liking `id` in a likes `table` keyed by
/// (user_id, `column`).
async fn set_like<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    (table, column): (&str, &str),
    user_id: &str,
    id: &str,
    liked: bool,
    now: i64,
) -> Result<()> {
    let sql = if liked {
        format!(
            "INSERT INTO {table} (user_id, {column}, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, {column}) DO NOTHING"
        )
    } else {
        format!("DELETE FROM {table} WHERE user_id = $1 AND {column} = $2")
    };
    let mut q = sqlx::query(&sql).bind(user_id).bind(id);
    if liked {
        q = q.bind(now);
    }
    q.execute(db).await?;
    Ok(())
}

pub struct StreamRow {
    pub rendition_key: String,
    pub rendition_mime: String,
    pub rendition_bytes: i64,
    pub duration_ms: i64,
    pub segment_index: String,
    pub loudness: Option<crate::imports::Loudness>,
    /// False for a scanned track whose rendition is still to be made.
    pub rendition_ready: bool,
}

/// Stream details of a track, only if `user_id` may play it (ownership in the query).
#[tracing::instrument(name = "sql library.stream_row", skip_all)]
pub async fn stream_row<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    track_id: &str,
    user_id: &str,
) -> Result<Option<StreamRow>> {
    let row = sqlx::query(
        "SELECT rendition_key, rendition_mime, rendition_bytes, duration_ms, segment_index,
            loudness_lufs, true_peak_db, rendition_ready FROM tracks
         WHERE id = $1 AND (owner_id = $2 OR shared = 1)",
    )
    .bind(track_id)
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| StreamRow {
        rendition_key: r.get("rendition_key"),
        rendition_mime: r.get("rendition_mime"),
        rendition_bytes: r.get("rendition_bytes"),
        duration_ms: r.get("duration_ms"),
        segment_index: r.get("segment_index"),
        loudness: match (r.get("loudness_lufs"), r.get("true_peak_db")) {
            (Some(lufs), Some(peak_db)) => Some(crate::imports::Loudness { lufs, peak_db }),
            _ => None,
        },
        rendition_ready: r.get::<i64, _>("rendition_ready") == 1,
    }))
}

/// A track's cover key, and whether thumbnails exist beside it, if `user_id` may see it.
#[tracing::instrument(name = "sql library.cover_key", skip_all)]
pub async fn cover_key<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    track_id: &str,
    user_id: &str,
) -> Result<Option<(String, bool)>> {
    let row = sqlx::query(
        "SELECT cover_key, cover_thumbs FROM tracks WHERE id = $1 AND (owner_id = $2 OR shared = 1)",
    )
    .bind(track_id)
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    Ok(row.and_then(|r| {
        let key: Option<String> = r.get("cover_key");
        key.map(|k| (k, r.get::<i64, _>("cover_thumbs") == 1))
    }))
}

pub(crate) fn name_key(s: &str) -> String {
    s.trim().to_lowercase()
}

/// Finds or creates an artist by case-insensitive name.
#[tracing::instrument(name = "sql library.upsert_artist", skip_all)]
pub async fn upsert_artist(conn: &mut AnyConnection, name: &str) -> Result<String> {
    let id = crate::new_id();
    let added = sqlx::query(
        "INSERT INTO artists (id, name, name_key) VALUES ($1, $2, $3) ON CONFLICT (name_key) DO NOTHING",
    )
    .bind(&id)
    .bind(name.trim())
    .bind(name_key(name))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if added == 1 {
        crate::search::repo::index_artist(conn, &id).await?;
        return Ok(id);
    }
    Ok(
        sqlx::query_scalar("SELECT id FROM artists WHERE name_key = $1")
            .bind(name_key(name))
            .fetch_one(&mut *conn)
            .await?,
    )
}

#[tracing::instrument(name = "sql library.upsert_album", skip_all)]
pub async fn upsert_album(
    conn: &mut AnyConnection,
    artist_id: &str,
    title: &str,
    year: Option<i64>,
    cover_key: Option<&str>,
) -> Result<String> {
    sqlx::query(
        "INSERT INTO albums (id, artist_id, title, title_key, year, cover_key) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (artist_id, title_key) DO UPDATE SET cover_key = COALESCE(albums.cover_key, excluded.cover_key),
            year = COALESCE(albums.year, excluded.year)",
    )
    .bind(crate::new_id())
    .bind(artist_id)
    .bind(title.trim())
    .bind(name_key(title))
    .bind(year)
    .bind(cover_key)
    .execute(&mut *conn)
    .await?;
    let id: String =
        sqlx::query_scalar("SELECT id FROM albums WHERE artist_id = $1 AND title_key = $2")
            .bind(artist_id)
            .bind(name_key(title))
            .fetch_one(&mut *conn)
            .await?;
    crate::search::repo::index_album(conn, &id).await?;
    Ok(id)
}

pub struct NewTrack {
    pub id: String,
    pub import_job_id: String,
    pub owner_id: String,
    pub shared: bool,
    pub title: String,
    pub artist_id: String,
    pub album_artist_id: Option<String>,
    pub album_id: Option<String>,
    pub track_no: Option<i64>,
    pub disc_no: Option<i64>,
    pub year: Option<i64>,
    pub genre: Option<String>,
    pub duration_ms: i64,
    pub original_key: String,
    pub rendition_key: String,
    pub rendition_bytes: i64,
    pub rendition_mime: String,
    pub segment_index: String,
    pub cover_key: Option<String>,
    pub cover_thumbs: bool,
    pub lyrics: Option<String>,
    pub loudness: Option<crate::imports::Loudness>,
    /// False for a scanned file: the rendition is made on first play or in the background
    /// (which also measures loudness and thumbnails the cover).
    pub rendition_ready: bool,
}

/// Inserts a track unless one already exists for its import job; returns the track id.
#[tracing::instrument(name = "sql library.insert_track", skip_all)]
pub async fn insert_track(conn: &mut AnyConnection, t: &NewTrack) -> Result<String> {
    let added = sqlx::query(
        "INSERT INTO tracks (id, import_job_id, owner_id, shared, title, artist_id, album_artist_id, album_id,
            track_no, disc_no, year, genre, duration_ms, original_key, rendition_key, rendition_bytes,
            rendition_mime, segment_index, cover_key, created_at, cover_thumbs, loudness_lufs, true_peak_db,
            analysed, rendition_ready)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,
            CASE WHEN $25 = 1 THEN $22 END, CASE WHEN $25 = 1 THEN $23 END, $24, $24)
         ON CONFLICT (import_job_id) DO NOTHING",
    )
    .bind(&t.id)
    .bind(&t.import_job_id)
    .bind(&t.owner_id)
    .bind(i64::from(t.shared))
    .bind(&t.title)
    .bind(&t.artist_id)
    .bind(&t.album_artist_id)
    .bind(&t.album_id)
    .bind(t.track_no)
    .bind(t.disc_no)
    .bind(t.year)
    .bind(&t.genre)
    .bind(t.duration_ms)
    .bind(&t.original_key)
    .bind(&t.rendition_key)
    .bind(t.rendition_bytes)
    .bind(&t.rendition_mime)
    .bind(&t.segment_index)
    .bind(&t.cover_key)
    .bind(crate::now_ms())
    .bind(i64::from(t.cover_thumbs))
    // Always a number, never a NULL of type double: on PostgreSQL through sqlx's Any
    // driver, a statement first prepared with a NULL there refuses a number later on the
    // same connection ("incorrect binary data format"). The flag says whether it counts.
    .bind(t.loudness.map_or(0.0, |l| l.lufs))
    .bind(t.loudness.map_or(0.0, |l| l.peak_db))
    .bind(i64::from(t.rendition_ready))
    .bind(i64::from(t.loudness.is_some()))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if added == 1 {
        if let Some(lyrics) = &t.lyrics {
            sqlx::query("UPDATE tracks SET lyrics = $2 WHERE id = $1")
                .bind(&t.id)
                .bind(lyrics)
                .execute(&mut *conn)
                .await?;
        }
        crate::search::repo::index_track(conn, &t.id).await?;
        return Ok(t.id.clone());
    }
    Ok(
        sqlx::query_scalar("SELECT id FROM tracks WHERE import_job_id = $1")
            .bind(&t.import_job_id)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// A track imported before covers were thumbnailed and loudness measured.
#[derive(Debug, Clone)]
pub struct Unanalysed {
    pub id: String,
    pub rendition_key: String,
    /// The cover, when it has one without thumbnails.
    pub cover_key: Option<String>,
    pub needs_loudness: bool,
}

/// Claims up to `limit` tracks that still need analysing (marks them as being analysed, so
/// two workers do not do the same one).
#[tracing::instrument(name = "sql library.claim_unanalysed", skip_all)]
pub async fn claim_unanalysed(db: &sqlx::AnyPool, limit: i64) -> Result<Vec<Unanalysed>> {
    let rows = sqlx::query(
        "SELECT id, rendition_key, CASE WHEN cover_thumbs = 0 THEN cover_key END AS cover_key,
            CAST(CASE WHEN loudness_lufs IS NULL THEN 1 ELSE 0 END AS BIGINT) AS needs_loudness
         FROM tracks WHERE analysed = 0 ORDER BY created_at DESC, id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await?;
    let mut claimed = Vec::new();
    for r in rows {
        let id: String = r.get("id");
        let won = sqlx::query("UPDATE tracks SET analysed = 2 WHERE id = $1 AND analysed = 0")
            .bind(&id)
            .execute(db)
            .await?
            .rows_affected()
            == 1;
        if won {
            claimed.push(Unanalysed {
                id,
                rendition_key: r.get("rendition_key"),
                cover_key: r.get("cover_key"),
                needs_loudness: r.get::<i64, _>("needs_loudness") == 1,
            });
        }
    }
    Ok(claimed)
}

/// Stores what analysing a track found (what it could not find stays as it was).
#[tracing::instrument(name = "sql library.set_analysed", skip_all)]
pub async fn set_analysed<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    track_id: &str,
    thumbs: bool,
    loudness: Option<crate::imports::Loudness>,
) -> Result<()> {
    sqlx::query(
        "UPDATE tracks SET analysed = 1,
            cover_thumbs = CASE WHEN $2 = 1 THEN 1 ELSE cover_thumbs END,
            loudness_lufs = CASE WHEN $5 = 1 THEN $3 ELSE loudness_lufs END,
            true_peak_db = CASE WHEN $5 = 1 THEN $4 ELSE true_peak_db END
         WHERE id = $1",
    )
    .bind(track_id)
    .bind(i64::from(thumbs))
    // Numbers, never a NULL of type double (see insert_track); the flag says if they count.
    .bind(loudness.map_or(0.0, |l| l.lufs))
    .bind(loudness.map_or(0.0, |l| l.peak_db))
    .bind(i64::from(loudness.is_some()))
    .execute(db)
    .await?;
    Ok(())
}

#[tracing::instrument(name = "sql library.count_tracks_for_job", skip_all)]
pub async fn count_tracks_for_job<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    job_id: &str,
) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM tracks WHERE import_job_id = $1")
            .bind(job_id)
            .fetch_one(db)
            .await?,
    )
}

pub struct OwnedKeys {
    pub owner_id: String,
    pub shared: bool,
    pub original_key: String,
    pub rendition_key: String,
    pub cover_key: Option<String>,
    pub cover_thumbs: bool,
}

#[tracing::instrument(name = "sql library.owned_keys", skip_all)]
pub async fn owned_keys<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    track_id: &str,
) -> Result<Option<OwnedKeys>> {
    let row = sqlx::query(
        "SELECT owner_id, shared, original_key, rendition_key, cover_key, cover_thumbs FROM tracks
         WHERE id = $1",
    )
    .bind(track_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| OwnedKeys {
        owner_id: r.get("owner_id"),
        shared: r.get::<i64, _>("shared") == 1,
        original_key: r.get("original_key"),
        rendition_key: r.get("rendition_key"),
        cover_key: r.get("cover_key"),
        cover_thumbs: r.get::<i64, _>("cover_thumbs") == 1,
    }))
}

/// Deletes the track row and detaches it from its import job.
#[tracing::instrument(name = "sql library.delete_track", skip_all)]
pub async fn delete_track<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    track_id: &str,
) -> Result<()> {
    sqlx::query("DELETE FROM tracks WHERE id = $1")
        .bind(track_id)
        .execute(db)
        .await?;
    Ok(())
}
