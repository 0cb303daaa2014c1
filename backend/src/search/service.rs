use super::repo::{self, Alternatives, DocKind};
use super::text::{one_typo_from_a_prefix, words};
use crate::infra::actor::CurrentUser;
use crate::library::{AlbumView, ArtistView, TrackView};
use crate::playlists::PlaylistView;
use crate::{Core, Result, db};

/// Longest query looked at (characters) and most words used from it.
pub const MAX_QUERY_CHARS: usize = 200;
pub const MAX_QUERY_WORDS: usize = 8;
/// Results per group.
pub const TRACK_HITS: i64 = 20;
pub const GROUP_HITS: i64 = 8;
/// Corrections tried per misspelled word, and vocabulary words looked at to find them.
const MAX_CORRECTIONS: usize = 12;
const MAX_CANDIDATES: i64 = 20_000;

/// Search results, grouped; each group best first.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SearchResults {
    pub tracks: Vec<TrackView>,
    pub albums: Vec<AlbumView>,
    pub artists: Vec<ArtistView>,
    pub playlists: Vec<PlaylistView>,
}

impl SearchResults {
    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
            && self.albums.is_empty()
            && self.artists.is_empty()
            && self.playlists.is_empty()
    }
}

/// Searches what `user` may see. Every word of the query must match the start of a word
/// of the title, artist or album, ignoring case and accents. Each group first takes exact
/// prefix matches; only if those are fewer than the group holds does it add matches that
/// are one typo away (see [`one_typo_from_a_prefix`]), after them.
pub async fn search(core: &Core, user: &CurrentUser, query: &str) -> Result<SearchResults> {
    let query: String = query.chars().take(MAX_QUERY_CHARS).collect();
    let mut typed = words(&query);
    typed.truncate(MAX_QUERY_WORDS);
    if typed.is_empty() {
        return Ok(SearchResults::default());
    }
    let dialect = db::kind(&core.db);
    let exact = repo::typed_query(&core.db, &typed).await?;
    // Corrections are looked up at most once, by whichever group needs them first.
    let fuzzy = tokio::sync::OnceCell::new();
    let uid = &user.id;
    let db = &core.db;
    let g = |limit| Group {
        core,
        fuzzy: &fuzzy,
        exact: &exact,
        limit,
    };
    // The four groups are independent queries: they run at once, on separate connections.
    let (tracks, albums, artists, playlists) = tokio::try_join!(
        g(TRACK_HITS).run(
            |t: &TrackView| &t.id,
            |q| async move { repo::tracks(db, dialect, uid, q, TRACK_HITS).await },
        ),
        g(GROUP_HITS).run(
            |a: &AlbumView| &a.id,
            |q| async move { repo::albums(db, dialect, uid, q, GROUP_HITS).await },
        ),
        g(GROUP_HITS).run(
            |a: &ArtistView| &a.id,
            |q| async move { repo::artists(db, dialect, uid, q, GROUP_HITS).await },
        ),
        g(GROUP_HITS).run(
            |p: &PlaylistView| &p.id,
            |q| async move { repo::playlists(db, dialect, uid, q, GROUP_HITS).await },
        ),
    )?;
    Ok(SearchResults {
        tracks,
        albums,
        artists,
        playlists,
    })
}

/// One group of results: exact prefix matches, then, if fewer than `limit`, those with
/// corrections after them.
struct Group<'a> {
    core: &'a Core,
    fuzzy: &'a tokio::sync::OnceCell<Option<Vec<Alternatives>>>,
    exact: &'a [Alternatives],
    limit: i64,
}

impl<'a> Group<'a> {
    /// Runs `run` with the words as typed, then with their corrections if needed (for one
    /// word, the second pass takes whole words only: its prefix matches were the first).
    async fn run<T, F, Fut>(self, id: impl Fn(&T) -> &str, run: F) -> Result<Vec<T>>
    where
        F: Fn(&'a [Alternatives]) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<T>>>,
    {
        let mut found = run(self.exact).await?;
        if found.len() < self.limit as usize
            && let Some(query) = self
                .fuzzy
                .get_or_try_init(|| corrected(self.core, self.exact))
                .await?
        {
            let more = run(query).await?;
            merge(&mut found, more, id, self.limit);
        }
        Ok(found)
    }
}

/// The typed words with their corrections; `None` when no word has any.
async fn corrected(core: &Core, exact: &[Alternatives]) -> Result<Option<Vec<Alternatives>>> {
    let mut any = false;
    let mut alts = Vec::with_capacity(exact.len());
    for a in exact {
        let words = corrections(core, &a.prefix).await?;
        any |= !words.is_empty();
        alts.push(Alternatives { words, ..a.clone() });
    }
    Ok(any.then_some(alts))
}

/// Vocabulary words that `typed` could be a one-typo prefix of (not those it already is a
/// prefix of), shortest first. Only for words of four letters or more: shorter ones match
/// too much. The first letter is taken as typed, which keeps the lookup an index range.
async fn corrections(core: &Core, typed: &str) -> Result<Vec<String>> {
    let chars: Vec<char> = typed.chars().collect();
    if chars.len() < 4 {
        return Ok(vec![]);
    }
    let first = chars[0];
    let Some(next) = char::from_u32(first as u32 + 1) else {
        return Ok(vec![]);
    };
    let candidates = repo::terms_between(
        &core.db,
        &first.to_string(),
        &next.to_string(),
        MAX_CANDIDATES,
    )
    .await?;
    let mut found: Vec<String> = candidates
        .into_iter()
        .filter(|t| !t.starts_with(typed))
        .filter(|t| {
            let w: Vec<char> = t.chars().collect();
            one_typo_from_a_prefix(&chars, &w)
        })
        .collect();
    found.sort_by_key(|w| (w.chars().count(), w.clone()));
    found.truncate(MAX_CORRECTIONS);
    Ok(found)
}

/// Appends `more` to `into`, skipping what it already holds, up to `limit` items.
fn merge<T>(into: &mut Vec<T>, more: Vec<T>, id: impl Fn(&T) -> &str, limit: i64) {
    for m in more {
        if into.len() >= limit as usize {
            break;
        }
        if !into.iter().any(|x| id(x) == id(&m)) {
            into.push(m);
        }
    }
}

/// Indexes everything that has no search document yet (rows from before search existed).
/// Returns how many documents it added.
pub async fn index_missing(database: &db::Db) -> Result<u64> {
    let mut added = 0;
    for kind in [
        DocKind::Artist,
        DocKind::Album,
        DocKind::Track,
        DocKind::Playlist,
    ] {
        if repo::all_indexed(database, kind).await? {
            continue;
        }
        loop {
            let ids = repo::unindexed(database, kind, 500).await?;
            if ids.is_empty() {
                break;
            }
            let mut tx = crate::db::begin(database).await?;
            for id in &ids {
                match kind {
                    DocKind::Artist => repo::index_artist(&mut tx, id).await?,
                    DocKind::Album => repo::index_album(&mut tx, id).await?,
                    DocKind::Track => repo::index_track(&mut tx, id).await?,
                    DocKind::Playlist => repo::index_playlist(&mut tx, id).await?,
                }
            }
            tx.commit().await?;
            added += ids.len() as u64;
        }
    }
    Ok(added)
}
