//! Browsing, lists, searching and annotation methods, and how the catalog's songs, albums
//! and artists are written in Subsonic's shapes (`Child`, `AlbumID3`, `ArtistID3`).

use super::{Call, Failure, Reply};
use backend::subsonic::catalog::{self, Album, AlbumList, Artist, Song};
use serde_json::{Map, Value, json};

/// An ISO 8601 UTC time from Unix milliseconds ("2026-12-05T17:04:05.000Z").
pub fn iso(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

fn put(m: &mut Map<String, Value>, k: &str, v: Option<impl Into<Value>>) {
    if let Some(v) = v {
        m.insert(k.into(), v.into());
    }
}

/// A song as a Subsonic `Child`.
pub fn song_json(s: &Song) -> Value {
    let t = &s.track;
    let secs = (t.duration_ms + 500) / 1000;
    let mut m = Map::new();
    m.insert("id".into(), t.id.clone().into());
    m.insert("isDir".into(), false.into());
    m.insert("title".into(), t.title.clone().into());
    put(&mut m, "parent", t.album_id.clone());
    put(&mut m, "album", t.album.clone());
    m.insert("artist".into(), t.artist.clone().into());
    put(&mut m, "track", t.track_no);
    put(&mut m, "year", s.year);
    put(&mut m, "genre", s.genre.clone().filter(|g| !g.is_empty()));
    put(&mut m, "coverArt", t.has_cover.then(|| t.id.clone()));
    put(&mut m, "size", s.size);
    m.insert("contentType".into(), s.content_type().into());
    put(&mut m, "suffix", s.suffix());
    m.insert("duration".into(), secs.into());
    put(
        &mut m,
        "bitRate",
        s.size
            .filter(|_| secs > 0)
            .map(|b| b * 8 / 1000 / secs.max(1)),
    );
    put(&mut m, "userRating", s.rating);
    m.insert("playCount".into(), t.plays.into());
    put(&mut m, "discNumber", s.disc_no);
    m.insert("created".into(), iso(t.created_at).into());
    put(&mut m, "starred", s.starred_at.map(iso));
    put(&mut m, "played", s.played_at.map(iso));
    put(&mut m, "albumId", t.album_id.clone());
    m.insert("artistId".into(), t.artist_id.clone().into());
    m.insert("type".into(), "music".into());
    m.insert("mediaType".into(), "song".into());
    m.insert("isVideo".into(), false.into());
    Value::Object(m)
}

/// An album as a Subsonic `AlbumID3`.
pub fn album_json(a: &Album) -> Value {
    let v = &a.album;
    let mut m = Map::new();
    m.insert("id".into(), v.id.clone().into());
    m.insert("name".into(), v.title.clone().into());
    m.insert("artist".into(), v.artist.clone().into());
    m.insert("artistId".into(), v.artist_id.clone().into());
    put(
        &mut m,
        "coverArt",
        v.cover_track_id.as_ref().map(|_| format!("al-{}", v.id)),
    );
    m.insert("songCount".into(), v.tracks.into());
    m.insert("duration".into(), ((a.duration_ms + 500) / 1000).into());
    m.insert("created".into(), iso(a.added_at).into());
    put(&mut m, "starred", a.starred_at.map(iso));
    put(&mut m, "year", v.year);
    put(&mut m, "genre", a.genre.clone().filter(|g| !g.is_empty()));
    put(&mut m, "userRating", a.rating);
    Value::Object(m)
}

/// An album as a directory `Child` (the folder-based methods: `getAlbumList`, `search2`).
pub fn album_child_json(a: &Album) -> Value {
    let v = &a.album;
    let mut m = Map::new();
    m.insert("id".into(), v.id.clone().into());
    m.insert("parent".into(), v.artist_id.clone().into());
    m.insert("isDir".into(), true.into());
    m.insert("title".into(), v.title.clone().into());
    m.insert("album".into(), v.title.clone().into());
    m.insert("artist".into(), v.artist.clone().into());
    put(&mut m, "year", v.year);
    put(&mut m, "genre", a.genre.clone().filter(|g| !g.is_empty()));
    put(
        &mut m,
        "coverArt",
        v.cover_track_id.as_ref().map(|_| format!("al-{}", v.id)),
    );
    m.insert("duration".into(), ((a.duration_ms + 500) / 1000).into());
    m.insert("created".into(), iso(a.added_at).into());
    put(&mut m, "starred", a.starred_at.map(iso));
    put(&mut m, "userRating", a.rating);
    m.insert("albumId".into(), v.id.clone().into());
    m.insert("artistId".into(), v.artist_id.clone().into());
    Value::Object(m)
}

/// An artist as a Subsonic `ArtistID3`.
pub fn artist_json(a: &Artist) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), a.artist.id.clone().into());
    m.insert("name".into(), a.artist.name.clone().into());
    m.insert("coverArt".into(), format!("ar-{}", a.artist.id).into());
    m.insert("albumCount".into(), a.albums.into());
    put(&mut m, "starred", a.starred_at.map(iso));
    Value::Object(m)
}

/// An artist as the folder-based `Artist` (`getStarred`, `search2`).
fn artist_folder_json(a: &Artist) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), a.artist.id.clone().into());
    m.insert("name".into(), a.artist.name.clone().into());
    put(&mut m, "starred", a.starred_at.map(iso));
    put(&mut m, "userRating", a.rating);
    Value::Object(m)
}

fn songs(list: &[Song]) -> Value {
    Value::Array(list.iter().map(song_json).collect())
}

fn list<T>(items: &[T], f: fn(&T) -> Value) -> Value {
    Value::Array(items.iter().map(f).collect())
}

/// Articles left out when artists are indexed by first letter.
const IGNORED_ARTICLES: &str = "The El La Los Las Le Les Die Der Das";

/// The index letter of a name: its first letter after an ignored article, `#` for
/// anything that does not start with a letter.
pub fn index_letter(name: &str) -> String {
    let mut rest = name.trim();
    for a in IGNORED_ARTICLES.split(' ') {
        if let Some(r) = rest.strip_prefix(a)
            && r.starts_with(' ')
            && !r.trim().is_empty()
        {
            rest = r.trim_start();
            break;
        }
    }
    match rest.chars().next() {
        Some(c) if c.is_alphabetic() => c.to_uppercase().collect(),
        _ => "#".into(),
    }
}

/// Most artists one `getArtists` lists (it has no paging).
const MAX_ARTISTS: i64 = 100_000;

async fn every_artist(call: &Call<'_>) -> Result<Vec<Artist>, Failure> {
    let mut all = Vec::new();
    loop {
        let page = catalog::all_artists(
            &call.state.core,
            &call.user,
            all.len() as i64,
            catalog::MAX_LIST,
        )
        .await?;
        let done = (page.len() as i64) < catalog::MAX_LIST;
        all.extend(page);
        if done || all.len() as i64 >= MAX_ARTISTS {
            return Ok(all);
        }
    }
}

fn indexed(artists: &[Artist], each: fn(&Artist) -> Value) -> Value {
    let mut index: Vec<(String, Vec<Value>)> = Vec::new();
    for a in artists {
        let letter = index_letter(&a.artist.name);
        match index.iter_mut().find(|(l, _)| *l == letter) {
            Some((_, v)) => v.push(each(a)),
            None => index.push((letter, vec![each(a)])),
        }
    }
    index.sort_by(|a, b| (a.0 == "#").cmp(&(b.0 == "#")).then(a.0.cmp(&b.0)));
    Value::Array(
        index
            .into_iter()
            .map(|(name, artist)| json!({"name": name, "artist": artist}))
            .collect(),
    )
}

pub async fn get_artists(call: &Call<'_>) -> Result<Reply, Failure> {
    let all = every_artist(call).await?;
    Ok(Reply::one(
        "artists",
        json!({"ignoredArticles": IGNORED_ARTICLES, "index": indexed(&all, artist_json)}),
    ))
}

/// `getIndexes`: the same artists, folder-style.
pub async fn get_indexes(call: &Call<'_>) -> Result<Reply, Failure> {
    let all = every_artist(call).await?;
    Ok(Reply::one(
        "indexes",
        json!({
            "ignoredArticles": IGNORED_ARTICLES,
            "lastModified": backend::now_ms(),
            "index": indexed(&all, artist_folder_json),
        }),
    ))
}

/// `getMusicDirectory`: an artist's folder holds their albums, an album's its songs.
pub async fn get_music_directory(call: &Call<'_>) -> Result<Reply, Failure> {
    let id = call.params.required("id")?;
    let (core, user) = (&call.state.core, &call.user);
    if let Ok((a, list)) = catalog::get_album(core, user, id).await {
        let mut dir = json!({
            "id": a.album.id, "parent": a.album.artist_id, "name": a.album.title,
            "child": songs(&list),
        });
        if let Some(s) = a.starred_at {
            dir["starred"] = iso(s).into();
        }
        return Ok(Reply::one("directory", dir));
    }
    let (a, albums) = catalog::get_artist(core, user, id).await?;
    let mut dir = json!({
        "id": a.artist.id, "name": a.artist.name,
        "child": list(&albums, album_child_json),
    });
    if let Some(s) = a.starred_at {
        dir["starred"] = iso(s).into();
    }
    Ok(Reply::one("directory", dir))
}

pub async fn get_artist(call: &Call<'_>) -> Result<Reply, Failure> {
    let id = call.params.required("id")?;
    let (a, albums) = catalog::get_artist(&call.state.core, &call.user, id).await?;
    let mut v = artist_json(&a);
    v["album"] = list(&albums, album_json);
    Ok(Reply::one("artist", v))
}

pub async fn get_album(call: &Call<'_>) -> Result<Reply, Failure> {
    let id = call.params.required("id")?;
    let (a, list) = catalog::get_album(&call.state.core, &call.user, id).await?;
    let mut v = album_json(&a);
    v["song"] = songs(&list);
    Ok(Reply::one("album", v))
}

pub async fn get_song(call: &Call<'_>) -> Result<Reply, Failure> {
    let id = call.params.required("id")?;
    let s = catalog::get_song(&call.state.core, &call.user, id).await?;
    Ok(Reply::one("song", song_json(&s)))
}

pub async fn get_genres(call: &Call<'_>) -> Result<Reply, Failure> {
    let g = catalog::genres(&call.state.core, &call.user).await?;
    let genre: Vec<Value> = g
        .iter()
        .map(|g| json!({"value": g.name, "songCount": g.songs, "albumCount": g.albums}))
        .collect();
    Ok(Reply::one("genres", json!({ "genre": genre })))
}

fn year(call: &Call<'_>, name: &str) -> Result<Option<i64>, Failure> {
    match call.params.get(name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(_) => call.params.int(name, 0, -9999, 9999).map(Some),
    }
}

async fn albums_for(call: &Call<'_>) -> Result<Vec<Album>, Failure> {
    let kind = call.params.required("type")?;
    let list = AlbumList::parse(
        kind,
        year(call, "fromYear")?,
        year(call, "toYear")?,
        call.params.get("genre"),
    )
    .map_err(|e| match e {
        backend::Error::Invalid(m) if m.contains("needs") => Failure::new(10, m),
        e => e.into(),
    })?;
    let size = call.params.int("size", 10, 0, catalog::MAX_LIST)?;
    let offset = call.params.int("offset", 0, 0, i64::MAX / 2)?;
    Ok(catalog::album_list(&call.state.core, &call.user, &list, offset, size).await?)
}

pub async fn get_album_list2(call: &Call<'_>) -> Result<Reply, Failure> {
    let albums = albums_for(call).await?;
    Ok(Reply::one(
        "albumList2",
        json!({ "album": list(&albums, album_json) }),
    ))
}

pub async fn get_album_list(call: &Call<'_>) -> Result<Reply, Failure> {
    let albums = albums_for(call).await?;
    Ok(Reply::one(
        "albumList",
        json!({ "album": list(&albums, album_child_json) }),
    ))
}

pub async fn get_random_songs(call: &Call<'_>) -> Result<Reply, Failure> {
    let size = call.params.int("size", 10, 0, catalog::MAX_LIST)?;
    let found = catalog::random_songs(
        &call.state.core,
        &call.user,
        size,
        call.params.get("genre"),
        (year(call, "fromYear")?, year(call, "toYear")?),
    )
    .await?;
    Ok(Reply::one("randomSongs", json!({ "song": songs(&found) })))
}

pub async fn get_songs_by_genre(call: &Call<'_>) -> Result<Reply, Failure> {
    let genre = call.params.required("genre")?;
    let count = call.params.int("count", 10, 0, catalog::MAX_LIST)?;
    let offset = call.params.int("offset", 0, 0, i64::MAX / 2)?;
    let found = catalog::songs_by_genre(&call.state.core, &call.user, genre, offset, count).await?;
    Ok(Reply::one("songsByGenre", json!({ "song": songs(&found) })))
}

pub async fn get_starred2(call: &Call<'_>) -> Result<Reply, Failure> {
    let (a, b, s) = catalog::starred(&call.state.core, &call.user).await?;
    Ok(Reply::one(
        "starred2",
        json!({"artist": list(&a, artist_json), "album": list(&b, album_json), "song": songs(&s)}),
    ))
}

pub async fn get_starred(call: &Call<'_>) -> Result<Reply, Failure> {
    let (a, b, s) = catalog::starred(&call.state.core, &call.user).await?;
    Ok(Reply::one(
        "starred",
        json!({"artist": list(&a, artist_folder_json), "album": list(&b, album_child_json), "song": songs(&s)}),
    ))
}

fn paging(call: &Call<'_>, what: &str) -> Result<(i64, i64), Failure> {
    Ok((
        call.params
            .int(&format!("{what}Offset"), 0, 0, i64::MAX / 2)?,
        call.params
            .int(&format!("{what}Count"), 20, 0, catalog::MAX_LIST)?,
    ))
}

async fn search_for(call: &Call<'_>) -> Result<(Vec<Artist>, Vec<Album>, Vec<Song>), Failure> {
    // `query` is required by the spec, but apps syncing a library send it empty.
    let query = call.params.get("query").unwrap_or_default();
    Ok(catalog::search(
        &call.state.core,
        &call.user,
        query,
        paging(call, "artist")?,
        paging(call, "album")?,
        paging(call, "song")?,
    )
    .await?)
}

pub async fn search3(call: &Call<'_>) -> Result<Reply, Failure> {
    let (a, b, s) = search_for(call).await?;
    Ok(Reply::one(
        "searchResult3",
        json!({"artist": list(&a, artist_json), "album": list(&b, album_json), "song": songs(&s)}),
    ))
}

pub async fn search2(call: &Call<'_>) -> Result<Reply, Failure> {
    let (a, b, s) = search_for(call).await?;
    Ok(Reply::one(
        "searchResult2",
        json!({"artist": list(&a, artist_folder_json), "album": list(&b, album_child_json), "song": songs(&s)}),
    ))
}

pub async fn get_top_songs(call: &Call<'_>) -> Result<Reply, Failure> {
    let artist = call.params.required("artist")?;
    let count = call.params.int("count", 50, 0, catalog::MAX_LIST)?;
    let found = catalog::top_songs(&call.state.core, &call.user, artist, count).await?;
    Ok(Reply::one("topSongs", json!({ "song": songs(&found) })))
}

pub async fn get_similar_songs(call: &Call<'_>, two: bool) -> Result<Reply, Failure> {
    let id = call.params.required("id")?;
    let count = call.params.int("count", 50, 0, catalog::MAX_LIST)?;
    let found = catalog::similar_songs(&call.state.core, &call.user, id, count).await?;
    Ok(Reply::one(
        if two { "similarSongs2" } else { "similarSongs" },
        json!({ "song": songs(&found) }),
    ))
}

/// `getArtistInfo2` / `getAlbumInfo2`: Refrain fetches nothing from the internet about
/// artists and albums, so the info holds what the catalog knows (nothing beyond the
/// artist's other artists of the same genre is kept); answered so apps that ask get a
/// valid, empty answer for a visible item and "not found" otherwise.
pub async fn get_artist_info(call: &Call<'_>, two: bool) -> Result<Reply, Failure> {
    let id = call.params.required("id")?;
    catalog::one_artist(&call.state.core, &call.user, id).await?;
    Ok(Reply::one(
        if two { "artistInfo2" } else { "artistInfo" },
        json!({}),
    ))
}

pub async fn get_album_info(call: &Call<'_>) -> Result<Reply, Failure> {
    let id = call.params.required("id")?;
    catalog::one_album(&call.state.core, &call.user, id).await?;
    Ok(Reply::one("albumInfo", json!({})))
}

/// `star` / `unstar`: `id` (songs; an album or artist id sent as `id` by folder-based
/// apps counts as that), `albumId`, `artistId`, each repeatable.
pub async fn star(call: &Call<'_>, on: bool) -> Result<Reply, Failure> {
    let (any, albums, artists) = (
        call.params.all("id"),
        call.params.all("albumId"),
        call.params.all("artistId"),
    );
    if any.is_empty() && albums.is_empty() && artists.is_empty() {
        return Err(Failure::missing("id, albumId or artistId"));
    }
    catalog::star(&call.state.core, &call.user, (&any, &albums, &artists), on).await?;
    Ok(Reply::ok())
}

pub async fn set_rating(call: &Call<'_>) -> Result<Reply, Failure> {
    let id = call.params.required("id")?;
    call.params.required("rating")?;
    let rating = call.params.int("rating", 0, i64::MIN, i64::MAX)?;
    catalog::set_rating(&call.state.core, &call.user, id, rating).await?;
    Ok(Reply::ok())
}

/// `scrobble`: a play (submission, the default) counts as in the web player, once per
/// song and time (a retried scrobble is the same play); `submission=false` is a "now
/// playing" notice (`getNowPlaying`).
pub async fn scrobble(call: &Call<'_>) -> Result<Reply, Failure> {
    let ids = call.params.all("id");
    if ids.is_empty() {
        return Err(Failure::missing("id"));
    }
    if call.params.get("submission") == Some("false") {
        let client = call.params.get("c").unwrap_or("app");
        for id in &ids {
            backend::subsonic::lists::now_playing(&call.state.core, &call.user, id, client).await?;
        }
        return Ok(Reply::ok());
    }
    let times = call.params.all("time");
    for (i, id) in ids.iter().enumerate() {
        let at: i64 = times
            .get(i)
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(backend::now_ms);
        backend::subsonic::catalog::scrobble(&call.state.core, &call.user, id, at).await?;
    }
    Ok(Reply::ok())
}

/// `getLyricsBySongId` (the `songLyrics` extension): the song's embedded lyrics, timed
/// when they are LRC; an empty list when it has none.
pub async fn get_lyrics_by_song_id(call: &Call<'_>) -> Result<Reply, Failure> {
    let id = call.params.required("id")?;
    let (song, text) = catalog::lyrics(&call.state.core, &call.user, id).await?;
    let structured: Vec<Value> = text
        .map(|t| {
            let (lines, offset) = catalog::parse_lyrics(&t);
            let synced = lines.first().is_some_and(|(ms, _)| ms.is_some());
            let line: Vec<Value> = lines
                .into_iter()
                .map(|(ms, value)| match ms {
                    Some(ms) => json!({"start": ms, "value": value}),
                    None => json!({"value": value}),
                })
                .collect();
            let mut v = json!({
                "lang": "xxx",
                "synced": synced,
                "line": line,
                "displayArtist": song.track.artist,
                "displayTitle": song.track.title,
            });
            if offset != 0 {
                v["offset"] = offset.into();
            }
            v
        })
        .into_iter()
        .collect();
    Ok(Reply::one(
        "lyricsList",
        json!({ "structuredLyrics": structured }),
    ))
}

/// The legacy `getLyrics` by artist and title: plain text (LRC time stamps and tags left
/// out); an empty `value` when no song the caller may see has lyrics by that name.
pub async fn get_lyrics(call: &Call<'_>) -> Result<Reply, Failure> {
    let artist = call.params.get("artist").unwrap_or_default();
    let title = call.params.get("title").unwrap_or_default();
    let found = catalog::lyrics_by_name(&call.state.core, &call.user, artist, title).await?;
    Ok(Reply::one(
        "lyrics",
        match found {
            Some((song, text)) => {
                let (lines, _) = catalog::parse_lyrics(&text);
                let value: Vec<String> = lines.into_iter().map(|(_, l)| l).collect();
                json!({
                    "artist": song.track.artist,
                    "title": song.track.title,
                    "value": value.join("\n"),
                })
            }
            None => json!({ "value": "" }),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_iso_utc() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(iso(1_796_317_445_000), "2026-12-03T17:04:05.000Z");
    }

    #[test]
    fn artists_index_by_first_letter_after_an_article() {
        assert_eq!(index_letter("The Beatles"), "B");
        assert_eq!(index_letter("the"), "T");
        assert_eq!(index_letter("Ólafur Arnalds"), "Ó");
        assert_eq!(index_letter("50 Cent"), "#");
        assert_eq!(index_letter("Theo"), "T");
    }
}
