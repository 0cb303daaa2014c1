//! Search figures on a generated catalog: p50/p95 of `search::search` (the database
//! queries plus the Rust around them) on SQLite and on PostgreSQL.
//!
//!   TRACKS=1000000 cargo run --release -p backend --example search_bench [sqlite|postgres]
//!
//! The catalog is bulk-inserted (artists, albums, import jobs, tracks, search documents
//! and vocabulary) in batches, with the same folding the application uses; words come as
//! often as Zipf's law has them (a few in many titles, most in few). Queries are
//! prefixes of words that exist, two-word prefixes, one-typo words and words that match
//! nothing, each run against a warmed database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use backend::auth;
use backend::search::{self, text::fold};
use backend::testing::Backend;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Instant;

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ra", "ven", "tor", "sel", "da", "nu", "phi", "gro", "bel", "mar", "qui",
    "zen", "ash", "lu", "ne", "ori", "pa", "sto", "wen", "fa", "rin", "dor", "cle", "vi", "sa",
    "hel", "tu",
];

fn word(rng: &mut StdRng) -> String {
    let n = rng.gen_range(2..=4);
    (0..n)
        .map(|_| SYLLABLES[rng.gen_range(0..SYLLABLES.len())])
        .collect()
}

/// The words titles and names are made of (the same for a seed, so a database generated
/// earlier can be measured again).
fn vocabulary(rng: &mut StdRng) -> Vec<String> {
    (0..20_000).map(|_| word(rng)).collect()
}

/// A word of `vocab` drawn as words are in real titles and names: a few very often, most
/// rarely. The word at rank r (from 0) comes with a chance of about 1/((r+1) ln n), so in
/// 20,000 words the first is in about one title word of ten and the 1,000th in one of
/// 10,000 (Zipf's law, drawn as a log-uniform rank).
fn zipf<'v>(rng: &mut StdRng, vocab: &'v [String]) -> &'v String {
    let n = vocab.len() as f64;
    let rank = ((n + 1.0).powf(rng.gen_range(0.0..1.0)) - 1.0) as usize;
    &vocab[rank.min(vocab.len() - 1)]
}

fn phrase(rng: &mut StdRng, vocab: &[String], words: std::ops::RangeInclusive<usize>) -> String {
    let n = rng.gen_range(words);
    let mut s: Vec<String> = (0..n).map(|_| zipf(rng, vocab).clone()).collect();
    if let Some(first) = s.first_mut() {
        let mut c = first.chars();
        if let Some(f) = c.next() {
            *first = f.to_uppercase().chain(c).collect();
        }
    }
    s.join(" ")
}

async fn batch_insert(db: &sqlx::AnyPool, table_cols: &str, rows: &[Vec<String>]) {
    for chunk in rows.chunks(500) {
        let width = chunk[0].len();
        let mut sql = format!("INSERT INTO {table_cols} VALUES ");
        let mut n = 0;
        for (i, _) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push('(');
            for j in 0..width {
                if j > 0 {
                    sql.push(',');
                }
                n += 1;
                sql.push_str(&format!("${n}"));
            }
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for r in chunk {
            for v in r {
                q = q.bind(v.clone());
            }
        }
        q.execute(db).await.unwrap();
    }
}

#[tokio::main]
async fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "sqlite".into());
    let backend = if which == "postgres" {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let tracks: usize = std::env::var("TRACKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // SEED_INTO=1: fill the database the environment configures (REFRAIN_*) with shared
    // tracks owned by OWNER (who must have signed up), then stop (bench/ssr.sh uses this).
    let seed_only = std::env::var("SEED_INTO").is_ok();
    // REUSE_DB=<url>: measure again on a database an earlier run generated (and left).
    if let Ok(url) = std::env::var("REUSE_DB") {
        let dir = tempfile::tempdir().unwrap();
        let mut config = backend::Config::for_data_dir(dir.path());
        config.database.url = url;
        let core = backend::Core::init(config).await.unwrap();
        if backend == Backend::Postgres {
            // What autovacuum does after a migration rewrote a table (this machine's
            // server runs without it): the visibility map index-only scans need.
            sqlx::query("VACUUM ANALYZE")
                .execute(&core.db)
                .await
                .unwrap();
        }
        let id: String =
            sqlx::query_scalar("SELECT id FROM users WHERE email = 'bench@example.com'")
                .fetch_one(&core.db)
                .await
                .unwrap();
        let user = auth::CurrentUser {
            id,
            email: "bench@example.com".into(),
            role: auth::Role::Listener,
            login_id: String::new(),
        };
        measure(
            &core,
            &user,
            &vocabulary(&mut StdRng::seed_from_u64(7)),
            &which,
        )
        .await;
        return;
    }
    let (core, _dir) = if seed_only {
        let config = backend::Config::from_env().unwrap();
        (backend::Core::init(config).await.unwrap(), None)
    } else {
        let (core, dir) = backend.core().await;
        (core, Some(dir))
    };
    let signed_up = if seed_only {
        None
    } else {
        Some(
            auth::signup(&core, "bench@example.com", "violet-harbour-87")
                .await
                .unwrap(),
        )
    };
    let owner_id: String = match &signed_up {
        Some(u) => u.id.clone(),
        None => {
            let owner = std::env::var("OWNER").expect("OWNER: the email of an existing account");
            sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
                .bind(owner.to_lowercase())
                .fetch_one(&core.db)
                .await
                .unwrap()
        }
    };
    let db = &core.db;
    let mut rng = StdRng::seed_from_u64(7);
    let vocab = vocabulary(&mut rng);
    let n_artists = (tracks / 100).max(10);
    let n_albums = (tracks / 10).max(10);
    let started = Instant::now();

    // Artists, albums, then tracks; each with its search document.
    let artists: Vec<(String, String)> = (0..n_artists)
        .map(|i| (format!("ar{i}"), phrase(&mut rng, &vocab, 1..=3)))
        .collect();
    let rows: Vec<Vec<String>> = artists
        .iter()
        .map(|(id, name)| {
            vec![
                id.clone(),
                name.clone(),
                format!("{}#{id}", name.to_lowercase()),
            ]
        })
        .collect();
    batch_insert(db, "artists (id, name, name_key)", &rows).await;
    let albums: Vec<(String, usize, String)> = (0..n_albums)
        .map(|i| {
            (
                format!("al{i}"),
                rng.gen_range(0..n_artists),
                phrase(&mut rng, &vocab, 1..=3),
            )
        })
        .collect();
    let rows: Vec<Vec<String>> = albums
        .iter()
        .map(|(id, a, t)| {
            vec![
                id.clone(),
                artists[*a].0.clone(),
                t.clone(),
                format!("{}#{id}", t.to_lowercase()),
            ]
        })
        .collect();
    batch_insert(db, "albums (id, artist_id, title, title_key)", &rows).await;

    let mut docs: Vec<Vec<String>> = Vec::new();
    for (id, name) in &artists {
        docs.push(vec![
            "artist".into(),
            id.clone(),
            fold(name),
            String::new(),
            String::new(),
        ]);
    }
    for (id, a, t) in &albums {
        docs.push(vec![
            "album".into(),
            id.clone(),
            fold(t),
            fold(&artists[*a].1),
            String::new(),
        ]);
    }
    batch_insert(db, "search_docs (kind, ref_id, name, artist, album)", &docs).await;
    docs.clear();

    let chunk = 50_000;
    let mut done = 0;
    while done < tracks {
        let n = chunk.min(tracks - done);
        let mut rows = Vec::with_capacity(n);
        let mut docs = Vec::with_capacity(n);
        for i in done..done + n {
            let (album_id, artist_ix, album_title) = &albums[rng.gen_range(0..n_albums)];
            let title = phrase(&mut rng, &vocab, 1..=4);
            let id = format!("t{i}");
            // id, title, artist, album, created_at
            rows.push(vec![
                id.clone(),
                title.clone(),
                artists[*artist_ix].0.clone(),
                album_id.clone(),
                i.to_string(),
            ]);
            docs.push(vec![
                "track".into(),
                id,
                fold(&title),
                fold(&artists[*artist_ix].1),
                fold(album_title),
            ]);
        }
        batch_insert_typed(db, &owner_id, &rows).await;
        batch_insert(db, "search_docs (kind, ref_id, name, artist, album)", &docs).await;
        done += n;
        println!("  {done} tracks ({:.0} s)", started.elapsed().as_secs_f64());
    }
    let terms: Vec<Vec<String>> = {
        let mut v: Vec<String> = vocab.iter().map(|w| fold(w)).collect();
        v.sort();
        v.dedup();
        v.into_iter().map(|w| vec![w]).collect()
    };
    batch_insert(db, "search_terms (term)", &terms).await;
    if backend == Backend::Postgres {
        // What autovacuum does on a server after a big import (the test machines' server
        // runs with autovacuum off): statistics, and the visibility map that lets the
        // search read search_words on its index alone.
        sqlx::query("VACUUM ANALYZE").execute(db).await.unwrap();
    } else {
        sqlx::query("ANALYZE").execute(db).await.unwrap();
        sqlx::query("INSERT INTO track_fts(track_fts) VALUES ('optimize')")
            .execute(db)
            .await
            .unwrap();
    }
    println!(
        "{which}: generated {tracks} tracks, {n_albums} albums, {n_artists} artists in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    // KEEP_SQLITE=<file>: a copy of the generated SQLite database, for REUSE_DB=sqlite://<file>.
    if let Ok(file) = std::env::var("KEEP_SQLITE")
        && backend == Backend::Sqlite
    {
        sqlx::query("VACUUM INTO $1")
            .bind(&file)
            .execute(db)
            .await
            .unwrap();
    }
    if seed_only {
        return;
    }
    let Some(user) = signed_up else { return };

    measure(&core, &user, &vocab, &which).await;
}

/// Runs the queries (drawn from `vocab`) as `user` and prints the figures.
async fn measure(core: &backend::Core, user: &auth::CurrentUser, vocab: &[String], which: &str) {
    let db = &core.db;
    let mut rng = StdRng::seed_from_u64(8);
    // Queries: prefixes (3–6 letters), two-word prefixes, one typo, nothing.
    let mut queries: Vec<(&str, String)> = Vec::new();
    for _ in 0..100 {
        let w = &vocab[rng.gen_range(0..vocab.len())];
        let k = rng.gen_range(3..=w.len().min(6));
        queries.push(("prefix", w[..k].to_string()));
        let w2 = &vocab[rng.gen_range(0..vocab.len())];
        queries.push(("two words", format!("{w} {}", &w2[..3.min(w2.len())])));
        let mut t: Vec<char> = w.chars().collect();
        if t.len() >= 5 {
            t.swap(2, 3);
        }
        queries.push(("typo", t.into_iter().collect()));
        queries.push(("no match", format!("zzq{}", &w[..3])));
    }
    for (_, q) in queries.iter().take(20) {
        search::search(core, user, q).await.unwrap(); // warm-up
    }
    let mut by_kind: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    let mut all = Vec::new();
    for (kind, q) in &queries {
        let t0 = Instant::now();
        let r = search::search(core, user, q).await.unwrap();
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        std::hint::black_box(r);
        by_kind.entry(kind).or_default().push(ms);
        all.push(ms);
    }
    let pct = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
    };
    for (kind, mut v) in by_kind {
        println!(
            "{which} {kind:>10}: p50 {:.1} ms  p95 {:.1} ms  ({} queries)",
            pct(&mut v, 0.5),
            pct(&mut v, 0.95),
            v.len()
        );
    }
    println!(
        "{which}        all: p50 {:.1} ms  p95 {:.1} ms  ({} queries)",
        pct(&mut all, 0.5),
        pct(&mut all, 0.95),
        all.len()
    );

    // Where the time goes: each group's query alone, with the words as typed (the first
    // of the two passes a search makes), for prefixes and for two words.
    use backend::search::repo as srepo;
    let dialect = backend::db::kind(db);
    let mut groups: std::collections::BTreeMap<(&str, &str), Vec<f64>> = Default::default();
    let mut slowest: Vec<(f64, &str, &str)> = Vec::new();
    for (kind, q) in queries
        .iter()
        .filter(|(k, _)| *k == "prefix" || *k == "two words")
    {
        let typed: Vec<String> = q.split(' ').map(str::to_lowercase).collect();
        let e = srepo::typed_query(db, &typed).await.unwrap();
        let uid = user.id.as_str();
        let t0 = Instant::now();
        srepo::tracks(db, dialect, uid, &e, 20).await.unwrap();
        let t1 = Instant::now();
        srepo::albums(db, dialect, uid, &e, 8).await.unwrap();
        let t2 = Instant::now();
        srepo::artists(db, dialect, uid, &e, 8).await.unwrap();
        let t3 = Instant::now();
        srepo::playlists(db, dialect, uid, &e, 8).await.unwrap();
        let t4 = Instant::now();
        for (name, a, b) in [
            ("tracks", t0, t1),
            ("albums", t1, t2),
            ("artists", t2, t3),
            ("playlists", t3, t4),
        ] {
            let ms = (b - a).as_secs_f64() * 1000.0;
            groups.entry((kind, name)).or_default().push(ms);
            slowest.push((ms, name, q.as_str()));
        }
    }
    for ((kind, name), mut v) in groups {
        println!(
            "{which} {kind:>9}, {name:>9} group alone: p50 {:.1} ms  p95 {:.1} ms",
            pct(&mut v, 0.5),
            pct(&mut v, 0.95)
        );
    }
    // SLOWEST=n: the n slowest group queries, to look at their plans.
    let n: usize = std::env::var("SLOWEST")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    slowest.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap());
    for (ms, name, q) in slowest.iter().take(n) {
        println!("{which} slow: {ms:.1} ms  {name:>9}  {q:?}");
    }
}

/// Import jobs and tracks. Only text is bound; numbers are written into the SQL (they are
/// generated here), since PostgreSQL will not take text for its BIGINT columns.
async fn batch_insert_typed(db: &sqlx::AnyPool, owner: &str, tracks: &[Vec<String>]) {
    for chunk in tracks.chunks(500) {
        let mut jobs = String::from(
            "INSERT INTO import_jobs (id, user_id, filename, original_key, size_bytes, state, created_at, updated_at) VALUES ",
        );
        let mut rows = String::from(
            "INSERT INTO tracks (id, import_job_id, owner_id, shared, title, artist_id, album_id, duration_ms,
                original_key, rendition_key, rendition_bytes, rendition_mime, segment_index, created_at,
                analysed) VALUES ",
        );
        for (i, r) in chunk.iter().enumerate() {
            let sep = if i > 0 { "," } else { "" };
            let b = i * 4;
            jobs.push_str(&format!(
                "{sep}(${}, $1, 'bench.mp3', 'x', 1, 'done', {at}, {at})",
                i + 2,
                at = r[4],
            ));
            rows.push_str(&format!(
                "{sep}(${id}, ${id}, $1, 1, ${t}, ${ar}, ${al}, 180000, 'x', 'x', 1, 'audio/mp4', '{{}}', {at}, 1)",
                id = b + 2,
                t = b + 3,
                ar = b + 4,
                al = b + 5,
                at = r[4],
            ));
        }
        let mut q = sqlx::query(&jobs).bind(owner);
        for r in chunk {
            q = q.bind(r[0].clone());
        }
        q.execute(db).await.unwrap();
        let mut q = sqlx::query(&rows).bind(owner);
        for r in chunk {
            q = q
                .bind(r[0].clone())
                .bind(r[1].clone())
                .bind(r[2].clone())
                .bind(r[3].clone());
        }
        q.execute(db).await.unwrap();
    }
}
