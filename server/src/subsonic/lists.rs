//! Playlist, play queue and "now playing" methods.

use super::browse::{iso, song_json};
use super::{Call, Failure, Reply};
use backend::playlists::PlaylistView;
use backend::subsonic::bookmarks;
use backend::subsonic::lists::{self, PlaylistChange};
use serde_json::{Map, Value, json};

/// A playlist as Subsonic's `Playlist`; `owner` is the user's own name for their
/// playlists, the owner's display name for others' (never their email).
fn playlist_json(call: &Call<'_>, p: &PlaylistView) -> Map<String, Value> {
    let mine = p.owner_id == call.user.id;
    let mut m = Map::new();
    m.insert("id".into(), p.id.clone().into());
    m.insert("name".into(), p.name.clone().into());
    if !p.description.is_empty() {
        m.insert("comment".into(), p.description.clone().into());
    }
    let owner = if mine {
        call.user.email.clone()
    } else {
        p.owner_name
            .clone()
            .unwrap_or_else(|| "another listener".into())
    };
    m.insert("owner".into(), owner.into());
    m.insert("public".into(), p.public.into());
    m.insert("readonly".into(), (!mine).into());
    m.insert("songCount".into(), p.tracks.into());
    m.insert("duration".into(), ((p.duration_ms + 500) / 1000).into());
    m.insert("created".into(), iso(p.created_at).into());
    m.insert("changed".into(), iso(p.updated_at).into());
    if p.cover_track_id.is_some() {
        m.insert("coverArt".into(), format!("pl-{}", p.id).into());
    }
    m
}

pub async fn get_playlists(call: &Call<'_>) -> Result<Reply, Failure> {
    call.only_self(false, "playlists")?;
    let list = lists::playlists(&call.state.core, &call.user).await?;
    let playlist: Vec<Value> = list
        .iter()
        .map(|p| Value::Object(playlist_json(call, p)))
        .collect();
    Ok(Reply::one("playlists", json!({ "playlist": playlist })))
}

async fn playlist_reply(call: &Call<'_>, id: &str) -> Result<Reply, Failure> {
    let p = lists::playlist(&call.state.core, &call.user, id).await?;
    let mut m = playlist_json(call, &p.playlist);
    m.insert(
        "entry".into(),
        Value::Array(p.songs.iter().map(song_json).collect()),
    );
    Ok(Reply::one("playlist", Value::Object(m)))
}

pub async fn get_playlist(call: &Call<'_>) -> Result<Reply, Failure> {
    let id = call.params.required("id")?;
    playlist_reply(call, id).await
}

fn owned(list: Vec<&str>) -> Vec<String> {
    list.into_iter().map(str::to_string).collect()
}

pub async fn create_playlist(call: &Call<'_>) -> Result<Reply, Failure> {
    let id = call.params.get("playlistId").filter(|s| !s.is_empty());
    let name = call.params.get("name").filter(|s| !s.is_empty());
    if id.is_none() && name.is_none() {
        return Err(Failure::missing("name or playlistId"));
    }
    let songs = owned(call.params.all("songId"));
    let made = lists::create_or_replace(&call.state.core, &call.user, id, name, &songs).await?;
    playlist_reply(call, &made).await
}

pub async fn update_playlist(call: &Call<'_>) -> Result<Reply, Failure> {
    let id = call.params.required("playlistId")?;
    let mut remove = Vec::new();
    for i in call.params.all("songIndexToRemove") {
        remove.push(
            i.trim()
                .parse::<usize>()
                .map_err(|_| Failure::new(0, "songIndexToRemove must be a whole number"))?,
        );
    }
    let change = PlaylistChange {
        name: call.params.get("name").map(str::to_string),
        comment: call.params.get("comment").map(str::to_string),
        public: call.params.get("public").map(|p| p == "true"),
        add: owned(call.params.all("songIdToAdd")),
        remove,
    };
    lists::update(&call.state.core, &call.user, id, change).await?;
    Ok(Reply::ok())
}

pub async fn delete_playlist(call: &Call<'_>) -> Result<Reply, Failure> {
    let id = call.params.required("id")?;
    backend::playlists::delete(&call.state.core, &call.user, id).await?;
    Ok(Reply::ok())
}

/// Who saved the queue is not kept (the web player saves it too).
const CHANGED_BY: &str = "refrain";

pub async fn get_play_queue(call: &Call<'_>, by_index: bool) -> Result<Reply, Failure> {
    let q = lists::queue(&call.state.core, &call.user).await?;
    if q.songs.is_empty() {
        return Ok(Reply::ok());
    }
    let mut m = Map::new();
    m.insert(
        "entry".into(),
        Value::Array(q.songs.iter().map(song_json).collect()),
    );
    if by_index {
        m.insert("currentIndex".into(), q.index.into());
    } else if let Some(s) = q.songs.get(q.index) {
        m.insert("current".into(), s.track.id.clone().into());
    }
    m.insert("position".into(), q.position_ms.into());
    m.insert("username".into(), call.user.email.clone().into());
    m.insert("changed".into(), iso(q.changed_at).into());
    m.insert("changedBy".into(), CHANGED_BY.into());
    Ok(Reply::one(
        if by_index {
            "playQueueByIndex"
        } else {
            "playQueue"
        },
        Value::Object(m),
    ))
}

pub async fn save_play_queue(call: &Call<'_>, by_index: bool) -> Result<Reply, Failure> {
    let ids = owned(call.params.all("id"));
    let position = call.params.int("position", 0, 0, i64::MAX / 2)?;
    let index = if ids.is_empty() {
        0
    } else if by_index {
        let i = call.params.int("currentIndex", 0, 0, i64::MAX / 2)?;
        usize::try_from(i).unwrap_or(usize::MAX)
    } else {
        match call.params.get("current").filter(|c| !c.is_empty()) {
            None => 0,
            Some(c) => ids
                .iter()
                .position(|x| x == c)
                .ok_or_else(|| Failure::new(0, "current is not in the queue"))?,
        }
    };
    lists::save_queue(&call.state.core, &call.user, ids, index, position).await?;
    Ok(Reply::ok())
}

/// `getNowPlaying`: what the caller's own apps are playing.
pub async fn get_now_playing(call: &Call<'_>) -> Result<Reply, Failure> {
    let now = backend::now_ms();
    let entries = lists::playing(&call.state.core, &call.user).await?;
    let entry: Vec<Value> = entries
        .iter()
        .enumerate()
        .map(|(i, (s, client, at))| {
            let mut v = song_json(s);
            v["username"] = call.user.email.clone().into();
            v["minutesAgo"] = ((now - at).max(0) / 60_000).into();
            v["playerId"] = (i + 1).into();
            v["playerName"] = client.clone().into();
            v
        })
        .collect();
    Ok(Reply::one("nowPlaying", json!({ "entry": entry })))
}

/// `getBookmarks`: the caller's bookmarks, each with its song.
pub async fn get_bookmarks(call: &Call<'_>) -> Result<Reply, Failure> {
    let list = bookmarks::list(&call.state.core, &call.user).await?;
    let bookmark: Vec<Value> = list
        .iter()
        .map(|b| {
            let mut entry = song_json(&b.song);
            entry["bookmarkPosition"] = b.position_ms.into();
            json!({
                "position": b.position_ms,
                "username": call.user.email,
                "comment": b.comment,
                "created": iso(b.created_at),
                "changed": iso(b.changed_at),
                "entry": entry,
            })
        })
        .collect();
    Ok(Reply::one("bookmarks", json!({ "bookmark": bookmark })))
}

pub async fn create_bookmark(call: &Call<'_>) -> Result<Reply, Failure> {
    let id = call.params.required("id")?;
    call.params.required("position")?;
    let position = call.params.int("position", 0, i64::MIN, i64::MAX)?;
    let comment = call.params.get("comment");
    bookmarks::save(&call.state.core, &call.user, id, position, comment).await?;
    Ok(Reply::ok())
}

pub async fn delete_bookmark(call: &Call<'_>) -> Result<Reply, Failure> {
    let id = call.params.required("id")?;
    bookmarks::delete(&call.state.core, &call.user, id).await?;
    Ok(Reply::ok())
}
