//! Bookmarks: a position in a song a listener wants to come back to (an audiobook's
//! chapter, a long mix), made and read by Subsonic apps. Personal: nobody else sees them;
//! a bookmark on a song the user may no longer see is kept but not listed.

use super::catalog::{self, Song};
use super::repo;
use crate::infra::actor::CurrentUser;
use crate::{Core, Error, Result, now_ms};

/// Most bookmarks one user keeps (a new one past it is refused; updating one is not).
pub const MAX_BOOKMARKS: i64 = 1000;
/// Longest comment kept, in characters.
pub const MAX_COMMENT: usize = 500;

/// A bookmark with its song.
#[derive(Debug, Clone, PartialEq)]
pub struct Bookmark {
    pub song: Song,
    pub position_ms: i64,
    pub comment: String,
    pub created_at: i64,
    pub changed_at: i64,
}

/// The user's bookmarks on songs they may see, the most recently changed first.
pub async fn list(core: &Core, user: &CurrentUser) -> Result<Vec<Bookmark>> {
    let rows = repo::bookmarks_of(&core.db, &user.id).await?;
    let ids: Vec<String> = rows.iter().map(|r| r.track_id.clone()).collect();
    let mut songs: std::collections::HashMap<String, Song> =
        catalog::songs_by_ids(core, user, &ids)
            .await?
            .into_iter()
            .map(|s| (s.track.id.clone(), s))
            .collect();
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let song = songs.remove(r.track_id.as_str())?;
            Some(Bookmark {
                song,
                position_ms: r.position_ms,
                comment: r.comment,
                created_at: r.created_at,
                changed_at: r.changed_at,
            })
        })
        .collect())
}

/// Creates the user's bookmark on song `id`, or moves it (a new comment replaces the old;
/// none clears it). The position is kept within the song.
pub async fn save(
    core: &Core,
    user: &CurrentUser,
    id: &str,
    position_ms: i64,
    comment: Option<&str>,
) -> Result<()> {
    if position_ms < 0 {
        return Err(Error::Invalid("The position cannot be negative.".into()));
    }
    let comment: String = comment
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect::<String>()
        .trim()
        .to_string();
    if comment.chars().count() > MAX_COMMENT {
        return Err(Error::Invalid(format!(
            "A bookmark's comment can be at most {MAX_COMMENT} characters."
        )));
    }
    let song = catalog::get_song(core, user, id).await?;
    let position = if song.track.duration_ms > 0 {
        position_ms.min(song.track.duration_ms)
    } else {
        position_ms
    };
    let now = now_ms();
    let mut tx = crate::db::begin(&core.db).await?;
    repo::upsert_bookmark(&mut *tx, &user.id, id, position, &comment, now).await?;
    let kept = repo::count_bookmarks(&mut *tx, &user.id).await?;
    if kept > MAX_BOOKMARKS {
        // Dropping the transaction rolls the new bookmark back.
        return Err(Error::Invalid(format!(
            "You have {MAX_BOOKMARKS} bookmarks already; delete one first."
        )));
    }
    tx.commit().await?;
    Ok(())
}

/// Deletes the user's bookmark on song `id` (none there is fine: the outcome is the same).
pub async fn delete(core: &Core, user: &CurrentUser, id: &str) -> Result<()> {
    repo::delete_bookmark(&core.db, &user.id, id).await?;
    Ok(())
}
