//! Search on both databases: prefixes, case and accents, one typo, ranking, visibility,
//! and the index following deletions and back-filling rows from before it existed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::{self, CurrentUser};
use backend::testing::{Backend, SeedTrack, seed_track};
use backend::{Core, search};

const PW: &str = "violet-harbour-87";

async fn setup(b: Backend) -> (Core, CurrentUser, tempfile::TempDir) {
    let (core, dir) = b.core().await;
    let user = auth::signup(&core, "seeker@example.com", PW).await.unwrap();
    (core, user, dir)
}

async fn shared(
    core: &Core,
    owner: &CurrentUser,
    title: &str,
    artist: &str,
    album: Option<&str>,
) -> String {
    seed_track(
        core,
        &owner.id,
        SeedTrack {
            title,
            artist,
            album,
            shared: true,
            ..Default::default()
        },
    )
    .await
}

fn titles(r: &search::SearchResults) -> Vec<&str> {
    r.tracks.iter().map(|t| t.title.as_str()).collect()
}

async fn prefixes_match_ignoring_case_and_accents(b: Backend) {
    let (core, user, _d) = setup(b).await;
    shared(
        &core,
        &user,
        "Crazy in Love",
        "Beyoncé",
        Some("Dangerously in Love"),
    )
    .await;
    shared(&core, &user, "Hoppípolla", "Sigur Rós", Some("Takk…")).await;
    shared(
        &core,
        &user,
        "Paranoid Android",
        "Radiohead",
        Some("OK Computer"),
    )
    .await;

    for q in [
        "beyon",
        "BEYONCE",
        "Beyoncé",
        "crazy lo",
        "  crazy   LOVE!  ",
        "danger",
    ] {
        let r = search::search(&core, &user, q).await.unwrap();
        assert_eq!(titles(&r), ["Crazy in Love"], "query {q:?}");
    }
    let r = search::search(&core, &user, "beyonce").await.unwrap();
    assert_eq!(r.artists.len(), 1);
    assert_eq!(r.artists[0].name, "Beyoncé");
    assert_eq!(r.artists[0].tracks, 1);
    assert_eq!(r.albums.len(), 1, "the album matches by its artist");
    assert_eq!(r.albums[0].title, "Dangerously in Love");

    let r = search::search(&core, &user, "hoppipolla ros")
        .await
        .unwrap();
    assert_eq!(titles(&r), ["Hoppípolla"]);
    let r = search::search(&core, &user, "ok comp").await.unwrap();
    assert_eq!(
        r.albums
            .iter()
            .map(|a| a.title.as_str())
            .collect::<Vec<_>>(),
        ["OK Computer"]
    );
    // Every word must match: one that matches nothing empties the result.
    let r = search::search(&core, &user, "radiohead zzzzzz")
        .await
        .unwrap();
    assert!(r.is_empty(), "{r:?}");
}

async fn one_typo_per_word_is_forgiven(b: Backend) {
    let (core, user, _d) = setup(b).await;
    shared(
        &core,
        &user,
        "Enter Sandman",
        "Metallica",
        Some("Metallica"),
    )
    .await;
    shared(
        &core,
        &user,
        "Karma Police",
        "Radiohead",
        Some("OK Computer"),
    )
    .await;
    shared(&core, &user, "Bohemian Rhapsody", "Queen", None).await;

    let r = search::search(&core, &user, "metalica").await.unwrap(); // letter missing
    assert_eq!(titles(&r), ["Enter Sandman"]);
    assert_eq!(
        r.artists
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        ["Metallica"]
    );
    let r = search::search(&core, &user, "radiohaed").await.unwrap(); // swapped
    assert_eq!(titles(&r), ["Karma Police"]);
    let r = search::search(&core, &user, "queem").await.unwrap(); // wrong last letter
    assert_eq!(titles(&r), ["Bohemian Rhapsody"]);
    let r = search::search(&core, &user, "bohemain rapsody")
        .await
        .unwrap(); // one in each word
    assert_eq!(titles(&r), ["Bohemian Rhapsody"]);
    let r = search::search(&core, &user, "enter sanddman")
        .await
        .unwrap(); // extra letter
    assert_eq!(titles(&r), ["Enter Sandman"]);
    // Two typos in one word are too many; short words get no corrections.
    let r = search::search(&core, &user, "mtalicca").await.unwrap();
    assert!(r.tracks.is_empty(), "{r:?}");
    let r = search::search(&core, &user, "qen").await.unwrap();
    assert!(r.tracks.is_empty(), "{r:?}");
}

async fn ranking_puts_exact_and_title_matches_first(b: Backend) {
    let (core, user, _d) = setup(b).await;
    shared(&core, &user, "Something Else", "Love Unlimited", None).await;
    shared(
        &core,
        &user,
        "Another Tune",
        "Someone",
        Some("Love Letters"),
    )
    .await;
    shared(&core, &user, "Love", "Someone", None).await;
    shared(&core, &user, "Bean", "Farmer", None).await;
    shared(&core, &user, "Bear", "Farmer", None).await;

    let r = search::search(&core, &user, "love").await.unwrap();
    assert_eq!(
        titles(&r),
        ["Love", "Something Else", "Another Tune"],
        "title, then artist, then album"
    );
    // Among title matches, the shorter title first (the closer to what was typed).
    shared(&core, &user, "Lovesong Extended Remix", "Crowd", None).await;
    shared(&core, &user, "Lovesong", "Crowd", None).await;
    shared(&core, &user, "Lovesong Live", "Crowd", None).await;
    // (After them come the one-typo matches of "loves": "love".)
    let r = search::search(&core, &user, "loves").await.unwrap();
    assert_eq!(
        titles(&r)[..3],
        ["Lovesong", "Lovesong Live", "Lovesong Extended Remix"]
    );
    // Every word counts: found in the title and the artist beats the artist and the album.
    let r = search::search(&core, &user, "love some").await.unwrap();
    assert_eq!(titles(&r), ["Love", "Something Else", "Another Tune"]);
    // "bear" matches Bear exactly; Bean is one typo away and comes after it.
    let r = search::search(&core, &user, "bear").await.unwrap();
    assert_eq!(titles(&r), ["Bear", "Bean"]);
}

async fn whole_words_come_first_even_among_more_prefix_matches_than_are_ranked(b: Backend) {
    let (core, user, _d) = setup(b).await;
    // More prefix matches than one search ranks, all older than the whole-word match.
    let ranked = search::TRACK_HITS * backend::search::repo::CANDIDATES_PER_RESULT;
    let n = usize::try_from(ranked).unwrap() + 20;
    for i in 0..n {
        shared(&core, &user, &format!("Lovely {i}"), "Crowd", None).await;
    }
    shared(&core, &user, "Love", "Someone", None).await;
    let r = search::search(&core, &user, "love").await.unwrap();
    assert_eq!(titles(&r).first().copied(), Some("Love"));
    assert_eq!(r.tracks.len(), 20, "the group is full");
    assert!(titles(&r)[1..].iter().all(|t| t.starts_with("Lovely ")));
}

async fn others_private_matches_never_crowd_out_what_the_user_may_see(b: Backend) {
    let (core, user, _d) = setup(b).await;
    let other = auth::signup(&core, "hoarder@example.com", PW)
        .await
        .unwrap();
    // More private matches than one search ranks, all older than the user's own.
    let ranked = search::TRACK_HITS * backend::search::repo::CANDIDATES_PER_RESULT;
    let n = usize::try_from(ranked).unwrap() + 5;
    for i in 0..n {
        let title = format!("Love {i}");
        let seed = SeedTrack {
            title: &title,
            artist: "Someone Else",
            album: Some("Love Boxes"),
            ..Default::default()
        };
        seed_track(&core, &other.id, seed).await;
    }
    seed_track(
        &core,
        &user.id,
        SeedTrack {
            title: "Love Letters",
            artist: "Me",
            album: Some("Love Mixtape"),
            ..Default::default()
        },
    )
    .await;
    for q in ["love", "lov"] {
        let r = search::search(&core, &user, q).await.unwrap();
        assert_eq!(titles(&r), ["Love Letters"], "{q}");
        assert_eq!(
            r.albums
                .iter()
                .map(|a| a.title.as_str())
                .collect::<Vec<_>>(),
            ["Love Mixtape"],
            "{q}"
        );
    }
}

async fn words_in_thousands_of_documents_still_find_the_few_that_have_them_all(b: Backend) {
    let (core, user, _d) = setup(b).await;
    // More documents with "love", and more with "songs", than PostgreSQL walks one word's
    // documents for (others' private tracks, as bare documents nobody may see): "love"
    // is common as a whole word and as a prefix, "song" only as a prefix.
    let n = backend::search::repo::DRIVER_MOST + 100;
    for word in ["love", "songs"] {
        sqlx::query(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
             INSERT INTO search_docs (kind, ref_id, name, artist, album)
             SELECT 'track', '{word}-' || CAST(i AS TEXT), '{word}', 'crowd', 'hidden' FROM n"
        ))
        .execute(&core.db)
        .await
        .unwrap();
    }
    shared(&core, &user, "Love Song", "Duet", Some("Pairs")).await;
    shared(&core, &user, "Love Me Do", "Beatles", None).await;
    shared(&core, &user, "Songbird", "Solo", None).await;
    for q in [
        "love song",
        "song love",
        "lov so",
        "lvoe song",
        "love s",
        "pairs love",
        "love duet",
        "duet love",
    ] {
        let r = search::search(&core, &user, q).await.unwrap();
        assert_eq!(titles(&r), ["Love Song"], "{q}");
    }
    for (q, want) in [
        ("love", ["Love Me Do", "Love Song"]),
        ("song", ["Love Song", "Songbird"]),
    ] {
        let r = search::search(&core, &user, q).await.unwrap();
        let mut found = titles(&r);
        found.sort_unstable();
        assert_eq!(found, want, "{q}");
    }
}

async fn only_what_the_user_may_see_is_found(b: Backend) {
    let (core, user, _d) = setup(b).await;
    let other = auth::signup(&core, "other@example.com", PW).await.unwrap();
    seed_track(
        &core,
        &other.id,
        SeedTrack {
            title: "Secret Demo",
            artist: "Hidden Person",
            album: Some("Private Tapes"),
            ..Default::default()
        },
    )
    .await;
    for q in ["secret", "hidden", "private tapes"] {
        let r = search::search(&core, &user, q).await.unwrap();
        assert!(r.is_empty(), "{q}: {r:?}");
        let r = search::search(&core, &other, q).await.unwrap();
        assert!(!r.is_empty(), "the owner finds their own upload by {q}");
    }
    // Song documents carry their track's sharing (search checks it there): it follows
    // the track both ways.
    let share = |on: i64| {
        sqlx::query("UPDATE tracks SET shared = $1 WHERE owner_id = $2")
            .bind(on)
            .bind(other.id.clone())
            .execute(&core.db)
    };
    share(1).await.unwrap();
    let r = search::search(&core, &user, "secret").await.unwrap();
    assert_eq!(titles(&r), ["Secret Demo"]);
    share(0).await.unwrap();
    let r = search::search(&core, &user, "secret").await.unwrap();
    assert!(r.tracks.is_empty(), "{r:?}");
    let r = search::search(&core, &other, "secret").await.unwrap();
    assert_eq!(titles(&r), ["Secret Demo"]);
}

async fn odd_input_is_harmless_and_empty_says_so(b: Backend) {
    let (core, user, _d) = setup(b).await;
    shared(&core, &user, "Song 2", "Blur", Some("Blur")).await;
    for q in [
        "",
        "   ",
        "\"",
        "*",
        "a:b & !c | (",
        "' OR 1=1 --",
        "NEAR(x y)",
        "blur\u{0}",
    ] {
        let r = search::search(&core, &user, q).await;
        assert!(r.is_ok(), "{q:?}: {r:?}");
    }
    let r = search::search(&core, &user, "' OR 1=1 --").await.unwrap();
    assert!(r.tracks.is_empty());
    let r = search::search(&core, &user, "song 2").await.unwrap();
    assert_eq!(titles(&r), ["Song 2"]);
    let long = "blur ".repeat(500);
    let r = search::search(&core, &user, &long).await.unwrap();
    assert_eq!(titles(&r), ["Song 2"], "a long query is cut, not refused");
}

/// On PostgreSQL, `search_words` holds the words of the documents there are, and no others.
async fn words_follow_documents(core: &Core, b: Backend) {
    if b != Backend::Postgres {
        return;
    }
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&core.db)
            .await
            .unwrap()
    };
    let orphans = count(
        "SELECT COUNT(*) FROM search_words w WHERE NOT EXISTS (SELECT 1 FROM search_docs d WHERE d.id = w.doc)",
    )
    .await;
    assert_eq!(orphans, 0, "no words of documents that are gone");
    let bare = count(
        "SELECT COUNT(*) FROM search_docs d WHERE NOT EXISTS (SELECT 1 FROM search_words w WHERE w.doc = d.id)",
    )
    .await;
    assert_eq!(bare, 0, "every document has its words");
    let unsigned = count(
        "SELECT COUNT(*) FROM search_words w JOIN search_docs d ON d.id = w.doc
         WHERE ARRAY[w.sig1, w.sig2] <> search_sig(d.name || ' ' || d.artist || ' ' || d.album)",
    )
    .await;
    assert_eq!(unsigned, 0, "every word carries its document's signature");
}

/// On PostgreSQL, a word's signature is in that of every text with a word it starts
/// (which is what lets the walk skip documents on the index), and a text without such a
/// word usually lacks it.
async fn signatures_hold_the_words_they_start(b: Backend) {
    if b != Backend::Postgres {
        return;
    }
    let (core, _user, _d) = setup(b).await;
    let contains = |text: &'static str, word: &'static str| {
        let db = core.db.clone();
        async move {
            sqlx::query_scalar::<_, i32>(
                "SELECT CASE WHEN (~t[1] & w[1]) = 0 AND (~t[2] & w[2]) = 0 THEN 1 ELSE 0 END
                 FROM (SELECT search_sig($1) AS t, search_sig($2) AS w) x",
            )
            .bind(text)
            .bind(word)
            .fetch_one(&db)
            .await
            .unwrap()
                == 1
        }
    };
    for (text, word) in [
        ("kalo marven sel", "mar"),
        ("kalo marven sel", "marven"),
        // Only the first four letters count: a longer word may pass where it is not.
        ("kalo marven sel", "marvenous"),
        ("kalo marven sel", "ka"),
        ("kalo marven sel", "k"),
        ("beyonce crazy in love", "crazy"),
        ("sigur ros hoppipolla", "hoppi"),
        ("", "x"),
    ] {
        assert!(contains(text, word).await, "{word} in {text:?}");
    }
    let zero: i64 = sqlx::query_scalar(
        "SELECT a[1] + a[2] + e[1] + e[2] FROM (SELECT search_sig('a') AS a, search_sig('') AS e) x",
    )
        .fetch_one(&core.db)
        .await
        .unwrap();
    assert_eq!(zero, 0, "one letter tells nothing: it has no bits");
    // Words with no common start: most of them are told apart.
    let words = "queen zeppelin nirvana radiohead beatles abba coldplay oasis pixies blur \
                 eagles toto genesis yes rush muse";
    let mut apart = 0;
    for w in words.split_whitespace() {
        if !contains("kalo marven sel", w).await {
            apart += 1;
        }
    }
    assert!(apart >= 12, "only {apart} of 16 told apart");
}

async fn the_index_follows_deletions_and_fills_in_what_it_missed(b: Backend) {
    let (core, user, _d) = setup(b).await;
    let id = shared(&core, &user, "Gone Tomorrow", "Ephemera", None).await;
    shared(&core, &user, "Here To Stay", "Permanence", None).await;
    assert_eq!(
        titles(&search::search(&core, &user, "gone").await.unwrap()),
        ["Gone Tomorrow"]
    );
    backend::library::delete_track(&core, &user, &id)
        .await
        .unwrap();
    assert!(
        search::search(&core, &user, "gone")
            .await
            .unwrap()
            .tracks
            .is_empty()
    );
    let docs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM search_docs WHERE ref_id = $1")
        .bind(&id)
        .fetch_one(&core.db)
        .await
        .unwrap();
    assert_eq!(docs, 0, "the deleted track's document is gone");
    words_follow_documents(&core, b).await;

    // Rows from before search existed: no documents until index_missing runs.
    sqlx::query("DELETE FROM search_docs")
        .execute(&core.db)
        .await
        .unwrap();
    assert!(
        search::search(&core, &user, "here")
            .await
            .unwrap()
            .is_empty()
    );
    let added = search::index_missing(&core.db).await.unwrap();
    assert_eq!(added, 3, "two artists and the track that is left");
    words_follow_documents(&core, b).await;
    let r = search::search(&core, &user, "permanence").await.unwrap();
    assert_eq!(titles(&r), ["Here To Stay"]);
    assert_eq!(r.artists.len(), 1);
    assert_eq!(
        search::index_missing(&core.db).await.unwrap(),
        0,
        "nothing twice"
    );
}

/// Prefixes FTS5 keeps no index for (one letter, four or more) match through the words of
/// the vocabulary they start (see `repo::prefix_terms`): the same matches as the prefix,
/// and one that starts very many words stands for the shortest of them.
async fn prefixes_without_an_index_match_through_the_vocabulary(b: Backend) {
    use backend::search::repo::{PREFIX_TERMS_MOST, prefix_terms};
    let (core, user, _d) = setup(b).await;
    shared(&core, &user, "Hoppípolla", "Sigur Rós", Some("Takk…")).await;
    for q in ["h", "hopp", "hoppipo", "s", "sigu", "taKK"] {
        let r = search::search(&core, &user, q).await.unwrap();
        assert_eq!(titles(&r), ["Hoppípolla"], "query {q:?}");
    }
    let r = search::search(&core, &user, "r").await.unwrap();
    assert_eq!(r.artists.len(), 1, "the artist by the first letter of Rós");

    // Seventy words that start with "zeph", from 5 to 74 letters; the one-letter
    // and the four-letter prefix stand for the 64 shortest.
    for i in 1..=70 {
        let word = format!("Zeph{}", "y".repeat(i));
        shared(&core, &user, &format!("{word} marker{i}"), "Nobody", None).await;
    }
    for prefix in ["zeph", "z"] {
        let terms = prefix_terms(&core.db, prefix).await.unwrap().unwrap();
        assert_eq!(terms.len(), PREFIX_TERMS_MOST, "{prefix}");
        assert_eq!(terms[0], "zephy");
        assert_eq!(terms[63], format!("zeph{}", "y".repeat(64)));
    }
    assert_eq!(
        prefix_terms(&core.db, "zq").await.unwrap(),
        None,
        "two letters have FTS5's own prefix index"
    );
    assert_eq!(prefix_terms(&core.db, "zephq").await.unwrap(), Some(vec![]));
    // (After it come one-typo matches: marker4, marker6, …)
    let r = search::search(&core, &user, "zeph marker64").await.unwrap();
    assert_eq!(
        r.tracks[0].title,
        format!("Zeph{} marker64", "y".repeat(64))
    );
    let r = search::search(&core, &user, "zephyy").await.unwrap();
    assert_eq!(r.tracks.len(), 20, "a full group");
    assert_eq!(
        r.tracks[0].title, "Zephyy marker2",
        "the shortest title first"
    );
    assert!(
        search::search(&core, &user, "xyzw")
            .await
            .unwrap()
            .is_empty()
    );
}

backend::on_both_databases!(
    prefixes_match_ignoring_case_and_accents,
    one_typo_per_word_is_forgiven,
    ranking_puts_exact_and_title_matches_first,
    whole_words_come_first_even_among_more_prefix_matches_than_are_ranked,
    only_what_the_user_may_see_is_found,
    words_in_thousands_of_documents_still_find_the_few_that_have_them_all,
    others_private_matches_never_crowd_out_what_the_user_may_see,
    odd_input_is_harmless_and_empty_says_so,
    the_index_follows_deletions_and_fills_in_what_it_missed,
    signatures_hold_the_words_they_start,
    prefixes_without_an_index_match_through_the_vocabulary,
);
