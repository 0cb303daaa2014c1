//! Downloads for offline listening. The browser stores them (its storage is the only
//! record: nothing here is kept); the server says what a download of an album, a playlist
//! or Liked Songs holds, each track with a fresh stream grant, and only the tracks the
//! user may play, checked in the same queries as the pages that list them.

use crate::infra::actor::CurrentUser;
use crate::library::TrackView;
use crate::playback::StreamInfo;
use crate::{Core, Error, Result};

/// The most tracks one download holds (Liked Songs lists at most as many).
pub const MAX_TRACKS: usize = 5000;

/// What can be downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collection {
    Album(String),
    Playlist(String),
    Liked,
}

impl Collection {
    /// From its key, as the client names a download: `album:<id>`, `playlist:<id>` or
    /// `liked`.
    pub fn parse(key: &str) -> Result<Self> {
        let bad = || Error::Invalid(format!("not something that can be downloaded: {key:?}"));
        let id_ok = |id: &str| {
            (1..=64).contains(&id.len())
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        match key.split_once(':') {
            None if key == "liked" => Ok(Collection::Liked),
            Some(("album", id)) if id_ok(id) => Ok(Collection::Album(id.to_string())),
            Some(("playlist", id)) if id_ok(id) => Ok(Collection::Playlist(id.to_string())),
            _ => Err(bad()),
        }
    }

    pub fn key(&self) -> String {
        match self {
            Collection::Album(id) => format!("album:{id}"),
            Collection::Playlist(id) => format!("playlist:{id}"),
            Collection::Liked => "liked".into(),
        }
    }
}

/// One track of a download: what lists it and what plays it.
#[derive(Debug, Clone)]
pub struct DownloadTrack {
    pub track: TrackView,
    pub stream: StreamInfo,
}

/// What a download holds now (a playlist's download is brought up to date with this).
#[derive(Debug, Clone)]
pub struct Manifest {
    pub key: String,
    pub name: String,
    /// In the collection's order, each track once.
    pub tracks: Vec<DownloadTrack>,
    /// Tracks of the collection whose audio is not ready yet (from a folder scan whose
    /// background pass has not reached them): left out until it is.
    pub pending: usize,
}

/// The manifest of `collection` for `user`: "not found" for an album or playlist they may
/// not open; tracks they may not play are never in it.
pub async fn manifest(
    core: &Core,
    user: &CurrentUser,
    collection: &Collection,
) -> Result<Manifest> {
    let (name, tracks) = match collection {
        Collection::Album(id) => {
            let (album, tracks) = crate::library::album(core, user, id).await?;
            (album.title, tracks)
        }
        Collection::Playlist(id) => {
            let page = crate::playlists::get(core, user, id).await?;
            let mut seen = std::collections::HashSet::new();
            let tracks = page
                .entries
                .into_iter()
                .map(|e| e.track)
                .filter(|t| seen.insert(t.id.clone()))
                .collect();
            (page.playlist.name, tracks)
        }
        Collection::Liked => (
            "Liked Songs".to_string(),
            crate::library::liked_tracks(core, user).await?,
        ),
    };
    if tracks.len() > MAX_TRACKS {
        return Err(Error::Invalid(format!(
            "a download holds at most {MAX_TRACKS} tracks"
        )));
    }
    let mut out = Vec::with_capacity(tracks.len());
    let mut pending = 0;
    for track in tracks {
        match crate::playback::stream_info_if_ready(core, user, &track.id).await {
            Ok(Some(stream)) => out.push(DownloadTrack { track, stream }),
            Ok(None) => pending += 1,
            // Deleted or hidden between the two queries: not in the download.
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Manifest {
        key: collection.key(),
        name,
        tracks: out,
        pending,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::Collection;

    #[test]
    fn keys_parse_and_print_back() {
        for key in ["liked", "album:0b5e-77", "playlist:abc"] {
            assert_eq!(Collection::parse(key).unwrap().key(), key);
        }
        for bad in [
            "",
            "album:",
            "album",
            "liked:x",
            "track:1",
            "playlist:a/b",
            "album:a b",
        ] {
            assert!(Collection::parse(bad).is_err(), "{bad:?} was taken");
        }
    }
}
