//! The project's own checks of OpenSubsonic answers, written field by field from the
//! published spec's response schemas (opensubsonic/open-subsonic-api, `openapi/schemas`):
//! each required field present, each field of its type, and no field the spec does not
//! define (a misspelt field fails). No package ships the schemas, so they are not copied.

use serde_json::Value;

#[derive(Clone, Copy, Debug)]
pub enum Ty {
    Str,
    Int,
    Num,
    Bool,
    /// An array of this element check.
    Arr(fn(&Value)),
    Obj(fn(&Value)),
    /// An array of integers.
    Ints,
}

pub const REQ: bool = true;
pub const OPT: bool = false;

/// Checks `v` is an object with exactly these fields (name, required, type).
pub fn object(what: &str, v: &Value, fields: &[(&str, bool, Ty)]) {
    let m = v
        .as_object()
        .unwrap_or_else(|| panic!("{what}: not an object: {v}"));
    for (name, required, ty) in fields {
        match m.get(*name) {
            None if *required => panic!("{what}: required field {name} missing in {v}"),
            None => {}
            Some(f) => check(&format!("{what}.{name}"), f, *ty),
        }
    }
    for k in m.keys() {
        assert!(
            fields.iter().any(|(n, _, _)| n == k),
            "{what}: field {k} is not in the spec: {v}"
        );
    }
}

fn check(what: &str, f: &Value, ty: Ty) {
    let ok = match ty {
        Ty::Str => f.is_string(),
        Ty::Int => f.is_i64() || f.is_u64(),
        Ty::Num => f.is_number(),
        Ty::Bool => f.is_boolean(),
        Ty::Ints => f
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x.is_i64() || x.is_u64())),
        Ty::Arr(each) => {
            let a = f
                .as_array()
                .unwrap_or_else(|| panic!("{what}: not an array: {f}"));
            a.iter().for_each(each);
            true
        }
        Ty::Obj(each) => {
            each(f);
            true
        }
    };
    assert!(ok, "{what}: not a {ty:?}: {f}");
}

/// `subsonic-response`: the base fields, then `error` on failure (Error.json).
pub fn envelope(doc: &Value) {
    let top = doc.as_object().expect("an object");
    assert_eq!(top.len(), 1, "only subsonic-response at the top: {doc}");
    let r = &doc["subsonic-response"];
    for (k, ty) in [
        ("status", Ty::Str),
        ("version", Ty::Str),
        ("type", Ty::Str),
        ("serverVersion", Ty::Str),
        ("openSubsonic", Ty::Bool),
    ] {
        check(&format!("subsonic-response.{k}"), &r[k], ty);
    }
    assert_eq!(r["openSubsonic"], true);
    match r["status"].as_str() {
        Some("ok") => assert!(r.get("error").is_none()),
        Some("failed") => {
            object(
                "error",
                &r["error"],
                &[
                    ("code", REQ, Ty::Int),
                    ("message", OPT, Ty::Str),
                    ("helpUrl", OPT, Ty::Str),
                ],
            );
            let code = r["error"]["code"].as_i64().unwrap();
            assert!(
                [0, 10, 20, 30, 40, 41, 42, 43, 44, 50, 60, 70].contains(&code),
                "error code {code} is not in the spec"
            );
        }
        other => panic!("status {other:?}"),
    }
}

/// License.json
pub fn license(v: &Value) {
    object(
        "license",
        v,
        &[
            ("valid", REQ, Ty::Bool),
            ("email", OPT, Ty::Str),
            ("licenseExpires", OPT, Ty::Str),
            ("trialExpires", OPT, Ty::Str),
        ],
    );
}

/// A list of OpenSubsonicExtension.json
pub fn extensions(v: &Value) {
    check(
        "openSubsonicExtensions",
        v,
        Ty::Arr(|e| {
            object(
                "openSubsonicExtension",
                e,
                &[("name", REQ, Ty::Str), ("versions", REQ, Ty::Ints)],
            )
        }),
    );
}

/// TokenInfo.json
pub fn token_info(v: &Value) {
    object("tokenInfo", v, &[("username", REQ, Ty::Str)]);
}

/// User.json
pub fn user(v: &Value) {
    let mut fields = vec![
        ("username", REQ, Ty::Str),
        ("maxBitRate", OPT, Ty::Int),
        ("avatarLastChanged", OPT, Ty::Str),
        ("folder", OPT, Ty::Ints),
    ];
    for role in [
        "scrobblingEnabled",
        "adminRole",
        "settingsRole",
        "downloadRole",
        "uploadRole",
        "playlistRole",
        "coverArtRole",
        "commentRole",
        "podcastRole",
        "streamRole",
        "jukeboxRole",
        "shareRole",
        "videoConversionRole",
    ] {
        fields.push((role, REQ, Ty::Bool));
    }
    object("user", v, &fields);
}

/// MusicFolders.json (MusicFolder.json each).
pub fn music_folders(v: &Value) {
    object(
        "musicFolders",
        v,
        &[(
            "musicFolder",
            OPT,
            Ty::Arr(|f| {
                object(
                    "musicFolder",
                    f,
                    &[("id", REQ, Ty::Int), ("name", OPT, Ty::Str)],
                )
            }),
        )],
    );
}

/// Child.json, as Refrain fills it (every field of the spec is allowed; those Refrain
/// writes are typed).
pub fn child(v: &Value) {
    object(
        "child",
        v,
        &[
            ("id", REQ, Ty::Str),
            ("parent", OPT, Ty::Str),
            ("isDir", REQ, Ty::Bool),
            ("title", REQ, Ty::Str),
            ("album", OPT, Ty::Str),
            ("artist", OPT, Ty::Str),
            ("track", OPT, Ty::Int),
            ("year", OPT, Ty::Int),
            ("genre", OPT, Ty::Str),
            ("coverArt", OPT, Ty::Str),
            ("size", OPT, Ty::Int),
            ("contentType", OPT, Ty::Str),
            ("suffix", OPT, Ty::Str),
            ("transcodedContentType", OPT, Ty::Str),
            ("transcodedSuffix", OPT, Ty::Str),
            ("duration", OPT, Ty::Int),
            ("bitRate", OPT, Ty::Int),
            ("bitDepth", OPT, Ty::Int),
            ("samplingRate", OPT, Ty::Int),
            ("channelCount", OPT, Ty::Int),
            ("path", OPT, Ty::Str),
            ("isVideo", OPT, Ty::Bool),
            ("userRating", OPT, Ty::Int),
            ("averageRating", OPT, Ty::Num),
            ("playCount", OPT, Ty::Int),
            ("discNumber", OPT, Ty::Int),
            ("created", OPT, Ty::Str),
            ("starred", OPT, Ty::Str),
            ("albumId", OPT, Ty::Str),
            ("artistId", OPT, Ty::Str),
            ("type", OPT, Ty::Str),
            ("mediaType", OPT, Ty::Str),
            ("bookmarkPosition", OPT, Ty::Int),
            ("played", OPT, Ty::Str),
            ("bpm", OPT, Ty::Int),
            ("comment", OPT, Ty::Str),
            ("sortName", OPT, Ty::Str),
            ("musicBrainzId", OPT, Ty::Str),
        ],
    );
    for k in ["created", "starred", "played"] {
        if let Some(t) = v.get(k) {
            date_time(t);
        }
    }
    if let Some(t) = v.get("type") {
        assert!(
            ["music", "podcast", "audiobook", "video"].contains(&t.as_str().unwrap()),
            "type {t}"
        );
    }
    if let Some(t) = v.get("mediaType") {
        assert!(
            ["song", "album", "artist"].contains(&t.as_str().unwrap()),
            "mediaType {t}"
        );
    }
}

/// An ISO 8601 date-time (`format: date-time`).
pub fn date_time(v: &Value) {
    let s = v.as_str().expect("a date-time string");
    let ok = s.len() >= 20
        && s.as_bytes()[4] == b'-'
        && s.as_bytes()[7] == b'-'
        && s.as_bytes()[10] == b'T'
        && (s.ends_with('Z') || s.contains('+'));
    assert!(ok, "not a date-time: {s}");
}

/// AlbumID3.json
pub fn album_id3(v: &Value) {
    object(
        "album",
        v,
        &[
            ("id", REQ, Ty::Str),
            ("name", REQ, Ty::Str),
            ("version", OPT, Ty::Str),
            ("artist", OPT, Ty::Str),
            ("artistId", OPT, Ty::Str),
            ("coverArt", OPT, Ty::Str),
            ("songCount", REQ, Ty::Int),
            ("duration", REQ, Ty::Int),
            ("playCount", OPT, Ty::Int),
            ("created", REQ, Ty::Str),
            ("starred", OPT, Ty::Str),
            ("year", OPT, Ty::Int),
            ("genre", OPT, Ty::Str),
            ("played", OPT, Ty::Str),
            ("userRating", OPT, Ty::Int),
            ("sortName", OPT, Ty::Str),
            ("musicBrainzId", OPT, Ty::Str),
            ("isCompilation", OPT, Ty::Bool),
            ("song", OPT, Ty::Arr(child)),
        ],
    );
    date_time(&v["created"]);
}

/// AlbumID3WithSongs.json
pub fn album_with_songs(v: &Value) {
    album_id3(v);
    check("album.song", &v["song"], Ty::Arr(child));
}

/// ArtistID3.json
pub fn artist_id3(v: &Value) {
    object(
        "artist",
        v,
        &[
            ("id", REQ, Ty::Str),
            ("name", REQ, Ty::Str),
            ("coverArt", OPT, Ty::Str),
            ("artistImageUrl", OPT, Ty::Str),
            ("albumCount", OPT, Ty::Int),
            ("starred", OPT, Ty::Str),
            ("musicBrainzId", OPT, Ty::Str),
            ("sortName", OPT, Ty::Str),
            ("album", OPT, Ty::Arr(album_id3)),
        ],
    );
}

/// ArtistWithAlbumsID3.json
pub fn artist_with_albums(v: &Value) {
    artist_id3(v);
    check("artist.album", &v["album"], Ty::Arr(album_id3));
}

/// ArtistsID3.json (IndexID3.json each).
pub fn artists(v: &Value) {
    object(
        "artists",
        v,
        &[
            ("ignoredArticles", REQ, Ty::Str),
            (
                "index",
                OPT,
                Ty::Arr(|i| {
                    object(
                        "index",
                        i,
                        &[("name", REQ, Ty::Str), ("artist", OPT, Ty::Arr(artist_id3))],
                    )
                }),
            ),
        ],
    );
}

/// AlbumList2.json
pub fn album_list2(v: &Value) {
    object("albumList2", v, &[("album", OPT, Ty::Arr(album_id3))]);
}

/// SearchResult3.json and Starred2.json (same fields).
pub fn search_result3(v: &Value) {
    object(
        "searchResult3",
        v,
        &[
            ("artist", OPT, Ty::Arr(artist_id3)),
            ("album", OPT, Ty::Arr(album_id3)),
            ("song", OPT, Ty::Arr(child)),
        ],
    );
}

/// Songs.json (randomSongs, songsByGenre), TopSongs.json, SimilarSongs2.json.
pub fn songs(v: &Value) {
    object("songs", v, &[("song", OPT, Ty::Arr(child))]);
}

/// Genres.json
pub fn genres(v: &Value) {
    object(
        "genres",
        v,
        &[(
            "genre",
            OPT,
            Ty::Arr(|g| {
                object(
                    "genre",
                    g,
                    &[
                        ("value", REQ, Ty::Str),
                        ("songCount", REQ, Ty::Int),
                        ("albumCount", REQ, Ty::Int),
                    ],
                )
            }),
        )],
    );
}

fn playlist_fields() -> Vec<(&'static str, bool, Ty)> {
    vec![
        ("id", REQ, Ty::Str),
        ("name", REQ, Ty::Str),
        ("comment", OPT, Ty::Str),
        ("owner", OPT, Ty::Str),
        ("public", OPT, Ty::Bool),
        ("songCount", REQ, Ty::Int),
        ("duration", REQ, Ty::Int),
        ("created", REQ, Ty::Str),
        ("changed", REQ, Ty::Str),
        ("coverArt", OPT, Ty::Str),
        ("allowedUser", OPT, Ty::Arr(|u| assert!(u.is_string()))),
        ("readonly", OPT, Ty::Bool),
        ("validUntil", OPT, Ty::Str),
    ]
}

/// Playlist.json
pub fn playlist(v: &Value) {
    object("playlist", v, &playlist_fields());
    date_time(&v["created"]);
    date_time(&v["changed"]);
}

/// PlaylistWithSongs.json
pub fn playlist_with_songs(v: &Value) {
    let mut f = playlist_fields();
    f.push(("entry", OPT, Ty::Arr(child)));
    object("playlist", v, &f);
}

/// Playlists.json
pub fn playlists(v: &Value) {
    object("playlists", v, &[("playlist", OPT, Ty::Arr(playlist))]);
}

/// PlayQueue.json, or PlayQueueByIndex.json when `by_index`.
pub fn play_queue(v: &Value, by_index: bool) {
    let current = if by_index {
        ("currentIndex", OPT, Ty::Int)
    } else {
        ("current", OPT, Ty::Str)
    };
    object(
        "playQueue",
        v,
        &[
            current,
            ("position", OPT, Ty::Int),
            ("username", REQ, Ty::Str),
            ("changed", REQ, Ty::Str),
            ("changedBy", REQ, Ty::Str),
            ("entry", OPT, Ty::Arr(child)),
        ],
    );
    date_time(&v["changed"]);
}

/// NowPlaying.json (NowPlayingEntry.json each: a Child and who plays it where).
pub fn now_playing(v: &Value) {
    object(
        "nowPlaying",
        v,
        &[(
            "entry",
            REQ,
            Ty::Arr(|e| {
                let mut song = e.as_object().unwrap().clone();
                for (k, ty) in [
                    ("username", Ty::Str),
                    ("minutesAgo", Ty::Int),
                    ("playerId", Ty::Int),
                    ("playerName", Ty::Str),
                ] {
                    let f = song.remove(k).unwrap_or(Value::Null);
                    if k != "playerName" || !f.is_null() {
                        check(&format!("nowPlaying.entry.{k}"), &f, ty);
                    }
                }
                child(&Value::Object(song));
            }),
        )],
    );
}

/// LyricsList.json (StructuredLyrics.json and Line.json each, version 1 fields).
pub fn lyrics_list(v: &Value) {
    object(
        "lyricsList",
        v,
        &[(
            "structuredLyrics",
            OPT,
            Ty::Arr(|l| {
                object(
                    "structuredLyrics",
                    l,
                    &[
                        ("lang", REQ, Ty::Str),
                        ("synced", REQ, Ty::Bool),
                        (
                            "line",
                            REQ,
                            Ty::Arr(|x| {
                                object(
                                    "line",
                                    x,
                                    &[("value", REQ, Ty::Str), ("start", OPT, Ty::Num)],
                                )
                            }),
                        ),
                        ("displayArtist", OPT, Ty::Str),
                        ("displayTitle", OPT, Ty::Str),
                        ("offset", OPT, Ty::Num),
                    ],
                );
                // Synced lines carry a start, unsynced ones must not.
                let synced = l["synced"].as_bool().unwrap();
                for x in l["line"].as_array().unwrap() {
                    assert_eq!(x.get("start").is_some(), synced, "{l}");
                }
            }),
        )],
    );
}

/// Bookmarks.json (Bookmark.json each: a position in a Child).
pub fn bookmarks(v: &Value) {
    object(
        "bookmarks",
        v,
        &[(
            "bookmark",
            OPT,
            Ty::Arr(|b| {
                object(
                    "bookmark",
                    b,
                    &[
                        ("position", REQ, Ty::Int),
                        ("username", REQ, Ty::Str),
                        ("comment", OPT, Ty::Str),
                        ("created", REQ, Ty::Str),
                        ("changed", REQ, Ty::Str),
                        ("entry", REQ, Ty::Obj(child)),
                    ],
                );
                date_time(&b["created"]);
                date_time(&b["changed"]);
            }),
        )],
    );
}

/// ScanStatus.json.
pub fn scan_status(v: &Value) {
    object(
        "scanStatus",
        v,
        &[("scanning", REQ, Ty::Bool), ("count", OPT, Ty::Int)],
    );
}

/// Lyrics.json (the legacy `getLyrics`).
pub fn lyrics(v: &Value) {
    object(
        "lyrics",
        v,
        &[
            ("value", REQ, Ty::Str),
            ("artist", OPT, Ty::Str),
            ("title", OPT, Ty::Str),
        ],
    );
}

/// Checks that an XML answer carries exactly the tree of its JSON twin, by the rules of
/// Subsonic's XML (read with an independent parser, roxmltree): an object's scalar fields
/// are attributes with the same text, its object fields are one child element, its lists
/// repeat a child element named by the field (a list of scalars holds each as the text),
/// and `value` is the element's text. Nothing more in either: an attribute or element the
/// JSON lacks fails, as does a JSON field the XML lacks. Together with the field-by-field
/// JSON checks this checks the XML shape of every answer it is given.
pub fn xml_matches_json(xml: &str, json: &Value) {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("not XML ({e}): {xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "subsonic-response", "{xml}");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://subsonic.org/restapi"),
        "{xml}"
    );
    element_matches("subsonic-response", root, json);
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn element_matches(path: &str, el: roxmltree::Node, v: &Value) {
    let text = || {
        el.children()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .collect::<String>()
    };
    let Value::Object(m) = v else {
        let want = scalar(v).unwrap_or_else(|| panic!("{path}: a list of lists: {v}"));
        assert_eq!(text(), want, "{path}: the element's text");
        return;
    };
    for a in el.attributes() {
        let field = m
            .get(a.name())
            .unwrap_or_else(|| panic!("{path}: attribute {} is not in the JSON {v}", a.name()));
        assert_eq!(
            scalar(field).as_deref(),
            Some(a.value()),
            "{path}@{}: XML and JSON differ",
            a.name()
        );
    }
    let children: Vec<_> = el.children().filter(|n| n.is_element()).collect();
    for c in &children {
        assert!(
            m.contains_key(c.tag_name().name()),
            "{path}: element <{}> is not in the JSON {v}",
            c.tag_name().name()
        );
    }
    for (k, field) in m {
        let here = format!("{path}.{k}");
        let named: Vec<_> = children
            .iter()
            .filter(|c| c.tag_name().name() == k)
            .collect();
        match field {
            Value::Null => assert!(named.is_empty(), "{here}: null in JSON, present in XML"),
            Value::Object(_) => {
                assert_eq!(named.len(), 1, "{here}: want one element");
                element_matches(&here, *named[0], field);
            }
            Value::Array(items) => {
                assert_eq!(
                    named.len(),
                    items.len(),
                    "{here}: want one element per item"
                );
                for (i, (c, item)) in named.iter().zip(items).enumerate() {
                    element_matches(&format!("{here}[{i}]"), **c, item);
                }
            }
            _ if k == "value" => {
                assert_eq!(Some(text()), scalar(field), "{here}: the element's text");
            }
            _ if k == "xmlns" => {}
            _ => assert_eq!(
                el.attribute(k.as_str()),
                scalar(field).as_deref(),
                "{here}: missing or different in XML"
            ),
        }
    }
}
