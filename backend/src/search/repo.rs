//! Search SQL: keeping the documents and vocabulary, and the per-dialect full-text
//! queries (SQLite FTS5, PostgreSQL tsvector/tsquery along `search_words`), ranked alike
//! (see [`score`]).

use super::text::fold;
use crate::Result;
use crate::db::Kind as Dialect;
use crate::library::repo::{
    ALBUM_COLUMNS, ALBUM_VISIBLE, ARTIST_COLUMNS, ARTIST_VISIBLE, AlbumView, ArtistView,
    TRACK_COLUMNS, TRACK_JOINS, TrackView, album_view, artist_view, track_view,
};
use crate::playlists::PlaylistView;
use crate::playlists::repo::{PLAYLIST_COLUMNS, playlist_view};
use sqlx::{AnyConnection, Executor, Row};

/// What a search document describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    Track,
    Album,
    Artist,
    Playlist,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Track => "track",
            DocKind::Album => "album",
            DocKind::Artist => "artist",
            DocKind::Playlist => "playlist",
        }
    }

    /// The table of the rows documents of this kind describe.
    fn table(self) -> &'static str {
        match self {
            DocKind::Track => "tracks",
            DocKind::Album => "albums",
            DocKind::Artist => "artists",
            DocKind::Playlist => "playlists",
        }
    }

    /// The kind's number in `search_words` (PostgreSQL).
    fn code(self) -> i32 {
        match self {
            DocKind::Track => 1,
            DocKind::Album => 2,
            DocKind::Artist => 3,
            DocKind::Playlist => 4,
        }
    }
}

/// Adds a document (folded text) and its words to the vocabulary, unless `ref_id` already
/// has one.
async fn add_doc(
    conn: &mut AnyConnection,
    kind: DocKind,
    ref_id: &str,
    name: &str,
    artist: &str,
    album: &str,
) -> Result<()> {
    let (name, artist, album) = (fold(name), fold(artist), fold(album));
    let added = sqlx::query(
        "INSERT INTO search_docs (kind, ref_id, name, artist, album) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (kind, ref_id) DO NOTHING",
    )
    .bind(kind.as_str())
    .bind(ref_id)
    .bind(&name)
    .bind(&artist)
    .bind(&album)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if added == 0 {
        return Ok(());
    }
    let mut terms: Vec<&str> = [&name, &artist, &album]
        .iter()
        .flat_map(|s| s.split(' '))
        .filter(|w| !w.is_empty())
        .collect();
    terms.sort_unstable();
    terms.dedup();
    if terms.is_empty() {
        return Ok(());
    }
    let values = (1..=terms.len())
        .map(|i| format!("(${i})"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql =
        format!("INSERT INTO search_terms (term) VALUES {values} ON CONFLICT (term) DO NOTHING");
    let mut q = sqlx::query(&sql);
    for t in terms {
        q = q.bind(t);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

async fn has_doc(conn: &mut AnyConnection, kind: DocKind, ref_id: &str) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM search_docs WHERE kind = $1 AND ref_id = $2")
            .bind(kind.as_str())
            .bind(ref_id)
            .fetch_optional(&mut *conn)
            .await?
            .is_some(),
    )
}

/// Indexes an artist (once).
#[tracing::instrument(name = "sql search.index_artist", skip_all)]
pub async fn index_artist(conn: &mut AnyConnection, artist_id: &str) -> Result<()> {
    if has_doc(conn, DocKind::Artist, artist_id).await? {
        return Ok(());
    }
    let name: String = sqlx::query_scalar("SELECT name FROM artists WHERE id = $1")
        .bind(artist_id)
        .fetch_one(&mut *conn)
        .await?;
    add_doc(conn, DocKind::Artist, artist_id, &name, "", "").await
}

/// Indexes an album under its title and its artist (once).
#[tracing::instrument(name = "sql search.index_album", skip_all)]
pub async fn index_album(conn: &mut AnyConnection, album_id: &str) -> Result<()> {
    if has_doc(conn, DocKind::Album, album_id).await? {
        return Ok(());
    }
    let r = sqlx::query(
        "SELECT al.title, ar.name FROM albums al JOIN artists ar ON ar.id = al.artist_id WHERE al.id = $1",
    )
    .bind(album_id)
    .fetch_one(&mut *conn)
    .await?;
    let (title, artist): (String, String) = (r.get("title"), r.get("name"));
    add_doc(conn, DocKind::Album, album_id, &title, &artist, "").await
}

/// Indexes a track again after its title, artist or album changed.
#[tracing::instrument(name = "sql search.reindex_track", skip_all)]
pub async fn reindex_track(conn: &mut AnyConnection, track_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM search_docs WHERE kind = 'track' AND ref_id = $1")
        .bind(track_id)
        .execute(&mut *conn)
        .await?;
    index_track(conn, track_id).await
}

/// Indexes a track under its title, artist(s) and album (once).
#[tracing::instrument(name = "sql search.index_track", skip_all)]
pub async fn index_track(conn: &mut AnyConnection, track_id: &str) -> Result<()> {
    if has_doc(conn, DocKind::Track, track_id).await? {
        return Ok(());
    }
    let r = sqlx::query(
        "SELECT t.title, ar.name AS artist, aa.name AS album_artist, al.title AS album
         FROM tracks t JOIN artists ar ON ar.id = t.artist_id
         LEFT JOIN artists aa ON aa.id = t.album_artist_id LEFT JOIN albums al ON al.id = t.album_id
         WHERE t.id = $1",
    )
    .bind(track_id)
    .fetch_one(&mut *conn)
    .await?;
    let title: String = r.get("title");
    let mut artist: String = r.get("artist");
    if let Some(aa) = r.get::<Option<String>, _>("album_artist")
        && !aa.eq_ignore_ascii_case(&artist)
    {
        artist = format!("{artist} {aa}");
    }
    let album: Option<String> = r.get("album");
    add_doc(
        conn,
        DocKind::Track,
        track_id,
        &title,
        &artist,
        album.as_deref().unwrap_or(""),
    )
    .await
}

/// Indexes a playlist under its name, its owner's display name and its description,
/// replacing what was indexed before (playlists are renamed).
#[tracing::instrument(name = "sql search.index_playlist", skip_all)]
pub async fn index_playlist(conn: &mut AnyConnection, playlist_id: &str) -> Result<()> {
    let r = sqlx::query(
        "SELECT p.name, p.description, u.display_name FROM playlists p JOIN users u ON u.id = p.owner_id
         WHERE p.id = $1",
    )
    .bind(playlist_id)
    .fetch_one(&mut *conn)
    .await?;
    let (name, description): (String, String) = (r.get("name"), r.get("description"));
    let owner: Option<String> = r.get("display_name");
    sqlx::query("DELETE FROM search_docs WHERE kind = 'playlist' AND ref_id = $1")
        .bind(playlist_id)
        .execute(&mut *conn)
        .await?;
    add_doc(
        conn,
        DocKind::Playlist,
        playlist_id,
        &name,
        owner.as_deref().unwrap_or(""),
        &description,
    )
    .await
}

/// Whether there are as many documents of `kind` as rows. Documents are written with
/// their rows and leave with them (tracks and playlists by triggers; albums and artists
/// are never deleted), so equal counts mean none is missing: two counts on indexes, where
/// looking for the missing ones reads every row (4 s at 1,000,000 tracks on PostgreSQL).
#[tracing::instrument(name = "sql search.all_indexed", skip_all)]
pub async fn all_indexed<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    kind: DocKind,
) -> Result<bool> {
    let table = kind.table();
    let same: i64 = sqlx::query_scalar(&format!(
        "SELECT CASE WHEN (SELECT COUNT(*) FROM {table})
                        = (SELECT COUNT(*) FROM search_docs WHERE kind = $1) THEN 1 ELSE 0 END"
    ))
    .bind(kind.as_str())
    .fetch_one(db)
    .await?;
    Ok(same == 1)
}

/// Ids of up to `limit` rows of `kind` that have no search document yet.
#[tracing::instrument(name = "sql search.unindexed", skip_all)]
pub async fn unindexed<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    kind: DocKind,
    limit: i64,
) -> Result<Vec<String>> {
    let table = kind.table();
    Ok(sqlx::query_scalar(&format!(
        "SELECT x.id FROM {table} x WHERE NOT EXISTS
           (SELECT 1 FROM search_docs d WHERE d.kind = $1 AND d.ref_id = x.id) LIMIT $2"
    ))
    .bind(kind.as_str())
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Vocabulary words from `from` (inclusive) to `to` (exclusive), in byte order, at most
/// `limit`. They come as one string (words hold no spaces): sqlx hands SQLite's rows over
/// from its worker thread one at a time, about 5 µs each, so the thousand words of a
/// first letter took 5 ms as rows and take a tenth of that as one.
#[tracing::instrument(name = "sql search.terms_between", skip_all)]
pub async fn terms_between<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    from: &str,
    to: &str,
    limit: i64,
) -> Result<Vec<String>> {
    let all: Option<String> = sqlx::query_scalar(
        "SELECT string_agg(term, ' ' ORDER BY term) FROM (
           SELECT term FROM search_terms WHERE term >= $1 AND term < $2 ORDER BY term LIMIT $3) x",
    )
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_one(db)
    .await?;
    Ok(all
        .map(|s| s.split(' ').map(str::to_string).collect())
        .unwrap_or_default())
}

/// One query word: what it may be (itself as a prefix, then corrections as whole words).
#[derive(Debug, Clone, Default)]
pub struct Alternatives {
    pub prefix: String,
    pub words: Vec<String>,
    /// On SQLite, for a prefix FTS5 has no prefix index of (see [`prefix_terms`]): the
    /// vocabulary words it starts, matched as whole words in its place.
    pub starts: Option<Vec<String>>,
}

/// Most vocabulary words a prefix stands for in a SQLite search (see [`prefix_terms`]).
pub const PREFIX_TERMS_MOST: usize = 64;

/// On SQLite, the words of the vocabulary `prefix` starts, when FTS5 has no prefix index
/// for its length (it keeps them for 2 and 3 characters); `None` when it has one. FTS5
/// answers a prefix without an index by reading and merging, before the first row, the
/// whole list of documents of every word it starts: for a prefix of a common word that
/// is the whole list of the word (13 to 37 ms for "v", "venl" or "venlopa" in 1,000,000
/// tracks, where "ven" takes 0.1 ms), so the search cost grew with the catalog. Those
/// words as alternatives are walked together and stop at the first candidates found
/// (0.1 ms). The vocabulary holds every word ever indexed, so up to
/// [`PREFIX_TERMS_MOST`] words the match is the same; a prefix that starts more words
/// stands for the shortest of them (of the first 2,000 in byte order), the nearest to
/// what was typed.
#[tracing::instrument(name = "sql search.prefix_terms", skip_all)]
pub async fn prefix_terms<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    prefix: &str,
) -> Result<Option<Vec<String>>> {
    if matches!(prefix.chars().count(), 2 | 3) {
        return Ok(None);
    }
    let mut terms = terms_between(db, prefix, &prefix_end(prefix), 2000).await?;
    if terms.len() > PREFIX_TERMS_MOST {
        terms.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        terms.truncate(PREFIX_TERMS_MOST);
    }
    Ok(Some(terms))
}

/// The words of a query as typed: each a prefix, with on SQLite the vocabulary words it
/// starts where FTS5 keeps no prefix index for it (see [`prefix_terms`]).
#[tracing::instrument(name = "sql search.typed_query", skip_all)]
pub async fn typed_query(db: &crate::db::Db, words: &[String]) -> Result<Vec<Alternatives>> {
    let dialect = crate::db::kind(db);
    let mut query = Vec::with_capacity(words.len());
    for w in words {
        let starts = match dialect {
            Dialect::Sqlite => prefix_terms(db, w).await?,
            Dialect::Postgres => None,
        };
        query.push(Alternatives {
            prefix: w.clone(),
            words: vec![],
            starts,
        });
    }
    Ok(query)
}

/// The full-text match expression for `dialect`: every query word must match one of its
/// alternatives; with `starts`, a prefix FTS5 keeps no index for matches as the words it
/// starts. Words are letters and digits only (see [`words`]), so nothing needs escaping
/// beyond the quotes FTS5 wants.
pub fn match_expr(dialect: Dialect, query: &[Alternatives], starts: bool) -> String {
    let groups = query.iter().map(|a| {
        let alts: Vec<String> = match dialect {
            Dialect::Sqlite => match a.starts.as_ref().filter(|_| starts) {
                Some(starts) if !starts.is_empty() => {
                    starts.iter().map(|w| format!("\"{w}\"")).collect()
                }
                _ => vec![format!("\"{}\"*", a.prefix)],
            }
            .into_iter()
            .chain(a.words.iter().map(|w| format!("\"{w}\"")))
            .collect(),
            Dialect::Postgres => std::iter::once(format!("{}:*", a.prefix))
                .chain(a.words.iter().cloned())
                .collect(),
        };
        let sep = if dialect == Dialect::Sqlite {
            " OR "
        } else {
            " | "
        };
        format!("({})", alts.join(sep))
    });
    let sep = if dialect == Dialect::Sqlite {
        " AND "
    } else {
        " & "
    };
    groups.collect::<Vec<_>>().join(sep)
}

/// Most documents one search ranks per result a group shows, per kind of match. A short
/// prefix can match a large share of a big catalog; ranking every match is what made such
/// queries slow, so each group ranks at most this many times its results in whole-word
/// matches and as many in prefix matches (100 each for the 20 songs, 40 for the 8
/// albums, artists or playlists), among those the user may see (the check is made while
/// collecting them, so documents others keep private never crowd out the user's own).
/// Each candidate costs about 9 µs on SQLite at 1,000,000 tracks (its document, and its
/// track for the visibility check, looked up by key); with 15 per result, a common word
/// took 2.4 ms and the search page ran at 0.42 of its speed at 10,000 tracks.
pub const CANDIDATES_PER_RESULT: i64 = 5;

/// On PostgreSQL, how many of a query word's rows in `search_words` are counted, at
/// most, to find the rarest word of a search of several words (see [`Drivers`]).
pub const DRIVER_MOST: i64 = 2000;

/// `expr` with its prefix terms made whole words (`"bea"*` → `"bea"`, `bea:*` → `bea`).
fn whole_words(dialect: Dialect, expr: &str) -> String {
    match dialect {
        Dialect::Sqlite => expr.replace("\"*", "\""),
        Dialect::Postgres => expr.replace(":*", ""),
    }
}

/// The upper end of the byte-ordered range of words starting with `prefix`.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// SQL placeholders from `$first` on, and the values bound to them, in order.
struct Binds {
    first: usize,
    values: Vec<String>,
}

impl Binds {
    fn new(first: usize) -> Self {
        Binds {
            first,
            values: Vec::new(),
        }
    }
    fn add(&mut self, v: &str) -> String {
        self.values.push(v.to_string());
        format!("${}", self.first + self.values.len() - 1)
    }
    fn list(&mut self, vs: &[String]) -> String {
        vs.iter()
            .map(|v| self.add(v))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// On PostgreSQL, the query words to walk `search_words` by (indexes into the query): for
/// the whole-word matches and for the prefix matches, the only word, or among several the
/// one whose words occur least in documents of `kind` (counted up to [`DRIVER_MOST`]
/// each, on the index alone; as whole words, then as prefixes). When every word occurs
/// more often than that, the longest word drives: the walk skips, on the index, the
/// documents whose signature lacks the other words, so even a common word's walk reads
/// few documents.
#[derive(Clone, Copy, Default)]
struct Drivers {
    whole: usize,
    prefix: usize,
}

async fn drivers(
    conn: &mut AnyConnection,
    kind: DocKind,
    query: &[Alternatives],
) -> Result<Drivers> {
    if query.len() <= 1 {
        return Ok(Drivers::default());
    }
    let mut binds = Binds::new(1);
    let k = kind.code();
    let count = |cond: String| {
        format!(
            "(SELECT count(*) FROM (SELECT 1 FROM search_words
               WHERE kind = {k} AND field IN (1, 2, 3) AND {cond} LIMIT {DRIVER_MOST}) x)"
        )
    };
    let mut parts = Vec::new();
    for (i, a) in query.iter().enumerate() {
        let (lo, hi) = (binds.add(&a.prefix), binds.add(&prefix_end(&a.prefix)));
        let mut prefix = count(format!("word >= {lo} AND word < {hi}"));
        let mut whole = count(format!("word = {lo}"));
        if !a.words.is_empty() {
            let corrections = count(format!("word IN ({})", binds.list(&a.words)));
            prefix = format!("{prefix} + {corrections}");
            whole = format!("{whole} + {corrections}");
        }
        parts.push(format!(
            "SELECT CAST({i} AS BIGINT) AS i, {whole} AS whole, {prefix} AS prefix"
        ));
    }
    let sql = parts.join(" UNION ALL ");
    let mut q = sqlx::query(&sql);
    for v in &binds.values {
        q = q.bind(v);
    }
    let counts: Vec<(usize, i64, i64)> = q
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| {
            let i: i64 = r.get("i");
            (i as usize, r.get("whole"), r.get("prefix"))
        })
        .collect();
    // The rarest word, or (all counted to the cap) the longest: the most specific.
    let least = |n: fn(&(usize, i64, i64)) -> i64| {
        counts
            .iter()
            .min_by_key(|c| {
                let len = query[c.0].prefix.chars().count();
                (n(c).min(DRIVER_MOST), std::cmp::Reverse(len), c.0)
            })
            .map_or(0, |c| c.0)
    };
    Ok(Drivers {
        whole: least(|c| c.1),
        prefix: least(|c| c.2),
    })
}

/// A `WITH` clause and a subquery `c(doc, ref, score)` of up to `most` documents of `kind` (and the ids of the
/// rows they describe) matching `$2` and as many matching `$4` (the same words whole),
/// whole-word matches scoring first, each one the user `$1` may see (`scope` joins to the
/// documents `d` what `visible` needs). Lower scores are better. Name matches weigh most,
/// then artist, then album.
///
/// On PostgreSQL the documents are taken in the order of `search_words`, walking the
/// driver word of `query` (see [`Drivers`]): names first, then artists, then albums, each
/// in word order (the prefix's words, then the corrections). A row whose document's
/// signature lacks the bits of another query word (of all its alternatives) is skipped on
/// the index; the first `most` documents that match and may be seen end the walk; `binds`
/// gets the words. With `whole_only`, only the whole-word matches are taken.
fn candidates(
    (dialect, kind, query): (Dialect, DocKind, &[Alternatives]),
    (scope, visible): (&str, &str),
    drivers: Drivers,
    (whole_only, most): (bool, i64),
    binds: &mut Binds,
) -> (String, String) {
    let k = kind.as_str();
    let score = score(dialect, query, binds);
    // The driver's rows: its words whole, or (`prefix`) also the words it starts; of
    // documents that may have every other word.
    let mut walk = |prefix: bool, driver: usize| {
        let a = &query[driver];
        let mut whole = a.words.clone();
        let mut range = None;
        if prefix {
            range = Some((binds.add(&a.prefix), binds.add(&prefix_end(&a.prefix))));
        } else {
            whole.insert(0, a.prefix.clone());
        }
        let whole = (!whole.is_empty()).then(|| binds.list(&whole));
        // A word's signature is in that of every document with a word it starts (and a
        // correction's in those with the correction), whole or prefix alike. Each is an
        // InitPlan, computed once per statement.
        let mut others = String::new();
        for (_, o) in query.iter().enumerate().filter(|(i, _)| *i != driver) {
            let alts: Vec<String> = std::iter::once(&o.prefix)
                .chain(&o.words)
                .map(|w| {
                    let w = binds.add(w);
                    format!(
                        "((~sig1 & (SELECT (search_sig({w}))[1])) = 0
                          AND (~sig2 & (SELECT (search_sig({w}))[2])) = 0)"
                    )
                })
                .collect();
            others.push_str(&format!(" AND ({})", alts.join(" OR ")));
        }
        // One index scan per kind of condition; the B-tree takes the fields (and listed
        // words) one after the other, in order, and stops when the walk does. (A branch
        // per field did the same, and took five times as long to plan: 2.5 ms, not 0.5.)
        let from = format!(
            "SELECT doc FROM search_words WHERE kind = {} AND field IN (1, 2, 3){others}",
            kind.code()
        );
        let mut parts = Vec::new();
        if let Some((lo, hi)) = &range {
            parts.push(format!("({from} AND word >= {lo} AND word < {hi})"));
        }
        if let Some(list) = &whole {
            parts.push(format!("({from} AND word IN ({list}))"));
        }
        parts.join(" UNION ALL ")
    };
    let mut one = |param: &str, boost: &str, driver: usize| match dialect {
        Dialect::Sqlite => format!(
            "SELECT d.id AS doc, d.ref_id AS ref, {score}{boost} AS score
             FROM {k}_fts JOIN search_docs d ON d.id = {k}_fts.rowid {scope}
             WHERE {k}_fts MATCH {param} AND {visible} LIMIT {most}"
        ),
        Dialect::Postgres => format!(
            "SELECT d.id AS doc, d.ref_id AS ref, {score}{boost} AS score
             FROM ({}) w JOIN search_docs d ON d.id = w.doc {scope}
             WHERE d.tsv @@ to_tsquery('simple', {param}) AND {visible}
             LIMIT {most}",
            walk(param == "$2", driver)
        ),
    };
    let whole = one("$4", " - 1000.0", drivers.whole);
    // Every whole-word match outranks every prefix match, so once the whole words give
    // the `$3` results shown, the prefixes are not looked at (a one-time condition on
    // the whole-word candidates, counted once).
    let prefix = if whole_only {
        String::new()
    } else {
        format!(
            " UNION ALL SELECT doc, ref, score FROM ({}) p
              WHERE (SELECT count(*) FROM whole_hits) < $3",
            one("$2", "", drivers.prefix)
        )
    };
    (
        format!("WITH whole_hits AS MATERIALIZED ({whole})"),
        format!(
            "(SELECT doc, ref, MIN(score) AS score
              FROM (SELECT doc, ref, score FROM whole_hits{prefix}) u GROUP BY doc, ref) c"
        ),
    )
}

/// How well the document `d` matches `query`, lower being better (the same on both
/// databases): for each query word, the best field that one of its alternatives starts a
/// word of (title 10, artist 4, album 2; for a playlist its name, owner and description),
/// summed and negated; among equals the shorter title first (its length in thousandths).
/// It reads the candidate's own text only. SQLite's bm25 weighs each word by how many
/// documents hold it, which it counts on every query by reading all of them: 17 ms for a
/// three-letter prefix in 191,683 of 1,000,000 tracks, against 0.5 ms for the rest of the
/// query, so a search cost grew with the catalog.
fn score(dialect: Dialect, query: &[Alternatives], binds: &mut Binds) -> String {
    let find = match dialect {
        Dialect::Sqlite => "instr",
        Dialect::Postgres => "strpos",
    };
    let words: Vec<String> = query
        .iter()
        .map(|a| {
            let alts: Vec<String> = std::iter::once(&a.prefix)
                .chain(&a.words)
                .map(|w| binds.add(&format!(" {w}")))
                .collect();
            let has = |field: &str| {
                alts.iter()
                    .map(|w| format!("{find}(' ' || d.{field}, {w}) > 0"))
                    .collect::<Vec<_>>()
                    .join(" OR ")
            };
            format!(
                "CASE WHEN {} THEN 10 WHEN {} THEN 4 WHEN {} THEN 2 ELSE 0 END",
                has("name"),
                has("artist"),
                has("album")
            )
        })
        .collect();
    format!(
        "(CASE WHEN length(d.name) > 999 THEN 0.999 ELSE length(d.name) / 1000.0 END - ({}))",
        words.join(" + ")
    )
}

/// Rows of `kind` matching `query` that `visible` lets the user `$1` see, best first, at
/// most `limit` (`$3`): `SELECT {select} FROM <documents> {joins}`, mapped by `map`.
/// Documents are `d`; ranking looks at [`candidates`] only. `scope_visible` is what
/// `visible` needs joined to `d` (a part of `joins`) and `visible` itself: it is checked on
/// every candidate, so it joins no more than that.
#[allow(clippy::too_many_arguments)]
async fn matching<T>(
    db: &crate::db::Db,
    dialect: Dialect,
    kind: DocKind,
    (user_id, query, limit): (&str, &[Alternatives], i64),
    select: &str,
    joins: &str,
    scope_visible: (&str, &str),
    map: fn(sqlx::any::AnyRow) -> T,
) -> Result<Vec<T>> {
    let expr = match_expr(dialect, query, true);
    // The whole-word pass takes the prefixes as typed, not the words they start.
    let whole = whole_words(dialect, &match_expr(dialect, query, false));
    let mut tx = db.begin().await?;
    let drivers = if dialect == Dialect::Postgres {
        // No parallel workers: starting them cost more than the scan they share (20–34 ms
        // with two workers, 9.5 ms without, for a prefix at 1,000,000 tracks), and the
        // four groups already run at once. Index scans and nested loops only: the walk
        // along search_words must stay a walk that stops once enough documents are found
        // (a bitmap scan or a hash join would gather all of them first; the planner picks
        // a bitmap where the table was not vacuumed since a big import).
        sqlx::query(
            "SELECT set_config('max_parallel_workers_per_gather', '0', true),
                    set_config('enable_hashjoin', 'off', true),
                    set_config('enable_mergejoin', 'off', true),
                    set_config('enable_bitmapscan', 'off', true)",
        )
        .execute(&mut *tx)
        .await?;
        drivers(&mut tx, kind, query).await?
    } else {
        Drivers::default()
    };
    // One word with corrections is the second pass of a search (see search::service): the
    // first took the word's prefix matches, so only whole words are left to find.
    let whole_only = matches!(query, [a] if !a.words.is_empty());
    let mut binds = Binds::new(5);
    let (with, from) = candidates(
        (dialect, kind, query),
        scope_visible,
        drivers,
        (whole_only, limit * CANDIDATES_PER_RESULT),
        &mut binds,
    );
    // The best `limit` visible documents first, then their columns: some columns (counts,
    // cover choice) cost a query each, so they are computed for the rows shown only. (The
    // candidates carry their row's id for the tie-break: joining it back cost a lookup
    // for each of the 300.)
    let sql = format!(
        "{with} SELECT {select} FROM (
            SELECT c.doc, c.ref, c.score FROM {from} ORDER BY c.score, c.ref LIMIT $3
         ) top JOIN search_docs d ON d.id = top.doc {joins}
         ORDER BY top.score, top.ref"
    );
    let mut q = sqlx::query(&sql)
        .bind(user_id)
        .bind(&expr)
        .bind(limit)
        .bind(&whole);
    for v in &binds.values {
        q = q.bind(v);
    }
    let rows = q.fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(rows.into_iter().map(map).collect())
}

/// Tracks `user_id` may see that match `query`, best first.
#[tracing::instrument(name = "sql search.tracks", skip_all)]
pub async fn tracks(
    db: &crate::db::Db,
    dialect: Dialect,
    user_id: &str,
    query: &[Alternatives],
    limit: i64,
) -> Result<Vec<TrackView>> {
    let joins = format!("JOIN tracks t ON t.id = d.ref_id {TRACK_JOINS}");
    // A song's document carries its track's owner and sharing (kept by triggers), so a
    // candidate is checked without looking its track up.
    let visible = ("", "(d.owner_id = $1 OR d.shared = 1)");
    let q = (user_id, query, limit);
    matching(
        db,
        dialect,
        DocKind::Track,
        q,
        TRACK_COLUMNS,
        &joins,
        visible,
        track_view,
    )
    .await
}

/// Albums with at least one track `user_id` may see that match `query`, best first.
#[tracing::instrument(name = "sql search.albums", skip_all)]
pub async fn albums(
    db: &crate::db::Db,
    dialect: Dialect,
    user_id: &str,
    query: &[Alternatives],
    limit: i64,
) -> Result<Vec<AlbumView>> {
    let scope = "JOIN albums al ON al.id = d.ref_id";
    let joins = format!("{scope} JOIN artists ar ON ar.id = al.artist_id");
    let visible = (scope, ALBUM_VISIBLE);
    let q = (user_id, query, limit);
    matching(
        db,
        dialect,
        DocKind::Album,
        q,
        ALBUM_COLUMNS,
        &joins,
        visible,
        album_view,
    )
    .await
}

/// Artists with at least one track `user_id` may see that match `query`, best first.
#[tracing::instrument(name = "sql search.artists", skip_all)]
pub async fn artists(
    db: &crate::db::Db,
    dialect: Dialect,
    user_id: &str,
    query: &[Alternatives],
    limit: i64,
) -> Result<Vec<ArtistView>> {
    let joins = "JOIN artists ar ON ar.id = d.ref_id";
    let visible = (joins, ARTIST_VISIBLE);
    let q = (user_id, query, limit);
    matching(
        db,
        dialect,
        DocKind::Artist,
        q,
        ARTIST_COLUMNS,
        joins,
        visible,
        artist_view,
    )
    .await
}

/// Playlists `user_id` may open (their own and public ones) that match `query`, best first.
#[tracing::instrument(name = "sql search.playlists", skip_all)]
pub async fn playlists(
    db: &crate::db::Db,
    dialect: Dialect,
    user_id: &str,
    query: &[Alternatives],
    limit: i64,
) -> Result<Vec<PlaylistView>> {
    let scope = "JOIN playlists p ON p.id = d.ref_id";
    let joins = format!("{scope} JOIN users u ON u.id = p.owner_id");
    let visible = (scope, "(p.owner_id = $1 OR p.public = 1)");
    let q = (user_id, query, limit);
    matching(
        db,
        dialect,
        DocKind::Playlist,
        q,
        PLAYLIST_COLUMNS,
        &joins,
        visible,
        playlist_view,
    )
    .await
}
