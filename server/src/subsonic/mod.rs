//! The OpenSubsonic API under `/rest/` for Subsonic apps on phones and desktops.
//!
//! Each method answers `/rest/<method>` and `/rest/<method>.view`, by GET or by POST with a
//! form body (the `formPost` extension), in XML (the default) or JSON (`f=json`); JSONP is
//! refused. Every request authenticates with an API key or an app password
//! (`backend::subsonic::keys`), never a session cookie or the account password, and then
//! sees exactly what its user sees in the web player. Errors are the spec's
//! `status="failed"` answers with its error codes; an unknown method is one too, never a 500.

mod browse;
mod files;
mod lists;
mod render;

use crate::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use backend::auth::CurrentUser;
use backend::subsonic::keys::{self, AuthError, Credentials};
use serde_json::{Map, Value, json};
use std::net::SocketAddr;

/// Largest form body: parameters only (a play queue of a few thousand ids fits).
const MAX_BODY: usize = 256 * 1024;

pub fn routes() -> Router<AppState> {
    use axum::routing::get;
    Router::new()
        .route("/rest/{method}", get(dispatch).post(dispatch))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// The request's parameters, query string and form body together, in order (some are
/// repeated: `id` in `star`, `songIdToAdd` in `updatePlaylist`).
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A required parameter (error 10 when absent or empty).
    pub fn required(&self, name: &str) -> Result<&str, Failure> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Failure::missing(name))
    }

    /// An integer parameter within `lo..=hi`, `default` when absent.
    pub fn int(&self, name: &str, default: i64, lo: i64, hi: i64) -> Result<i64, Failure> {
        match self.get(name).filter(|v| !v.is_empty()) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<i64>()
                .map(|n| n.clamp(lo, hi))
                .map_err(|_| Failure::new(0, format!("{name} must be a whole number"))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Xml,
    Json,
}

/// A Subsonic error answer: its code and message.
#[derive(Debug)]
pub struct Failure {
    pub code: u16,
    pub message: String,
    /// The HTTP status (200 for the spec's errors, as Subsonic servers answer them).
    pub status: StatusCode,
}

impl Failure {
    pub fn new(code: u16, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
            status: StatusCode::OK,
        }
    }
    pub fn missing(name: &str) -> Failure {
        Failure::new(10, format!("required parameter is missing: {name}"))
    }
    pub fn not_found(what: &str) -> Failure {
        Failure::new(70, format!("{what} not found"))
    }
}

impl From<backend::Error> for Failure {
    fn from(e: backend::Error) -> Self {
        use backend::Error as E;
        match e {
            E::Unauthenticated => Failure::new(40, "not signed in"),
            E::Forbidden => Failure::new(50, "user is not authorized for the given operation"),
            E::NotFound(what) => Failure::not_found(what),
            e @ (E::Invalid(_)
            | E::EmailTaken
            | E::WeakPassword(_)
            | E::TooLarge { .. }
            | E::QuotaExceeded { .. }
            | E::BadCredentials
            | E::BadCode
            | E::SecondFactorRequired
            | E::EmailNotVerified) => Failure::new(0, e.to_string()),
            E::AccountDisabled => Failure::new(40, "this account is disabled"),
            E::Throttled { retry_after_secs } => Failure {
                code: 0,
                message: format!("too many requests; try again in {retry_after_secs} s"),
                status: StatusCode::TOO_MANY_REQUESTS,
            },
            E::Unavailable {
                what,
                retry_after_secs,
            } => Failure {
                code: 0,
                message: format!("{what} is not answering; try again in {retry_after_secs} s"),
                status: StatusCode::SERVICE_UNAVAILABLE,
            },
            e @ (E::Database(_) | E::Storage(_) | E::Unexpected(_)) => {
                tracing::error!(error = %format!("{e:#}"), "unexpected error in the Subsonic API");
                Failure::new(0, "something went wrong on the server")
            }
        }
    }
}

impl From<AuthError> for Failure {
    fn from(e: AuthError) -> Self {
        let code = match e {
            AuthError::Missing => 10,
            AuthError::Conflicting => 43,
            AuthError::WrongPassword | AuthError::Disabled => 40,
            AuthError::InvalidApiKey => 44,
            AuthError::Throttled(_) => 0,
        };
        let mut f = Failure::new(code, e.to_string());
        if let AuthError::Throttled(_) = e {
            f.status = StatusCode::TOO_MANY_REQUESTS;
        }
        f
    }
}

/// What a method answers: a payload for the envelope, or bytes of its own (media).
pub enum Reply {
    Payload(Map<String, Value>),
    Raw(Response),
}

impl Reply {
    /// The empty success answer.
    pub fn ok() -> Reply {
        Reply::Payload(Map::new())
    }
    /// A payload of one field.
    pub fn one(name: &str, v: Value) -> Reply {
        let mut m = Map::new();
        m.insert(name.into(), v);
        Reply::Payload(m)
    }
}

/// One request's context for the methods.
pub struct Call<'a> {
    pub state: &'a AppState,
    pub user: CurrentUser,
    pub params: Params,
    pub headers: HeaderMap,
    /// How the request authenticated.
    pub creds: Credentials,
}

impl Call<'_> {
    /// Refuses (code 50) a `username` other than the caller's: apps see their own user's
    /// details, picture and playlists only. `required`: the parameter must be there.
    pub fn only_self(&self, required: bool, what: &str) -> Result<(), Failure> {
        let asked = if required {
            Some(self.params.required("username")?)
        } else {
            self.params.get("username")
        };
        match asked {
            Some(u) if !u.eq_ignore_ascii_case(&self.user.email) => Err(Failure::new(
                50,
                format!("you can only read your own {what}"),
            )),
            _ => Ok(()),
        }
    }
}

fn parse_pairs(text: &str, into: &mut Vec<(String, String)>) {
    into.extend(
        url::form_urlencoded::parse(text.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())),
    );
}

fn answer(format: Format, result: Result<Reply, Failure>) -> Response {
    let (status, ok, payload) = match result {
        Ok(Reply::Raw(r)) => return r,
        Ok(Reply::Payload(p)) => (StatusCode::OK, true, p),
        Err(f) => {
            let mut p = Map::new();
            p.insert(
                "error".into(),
                json!({"code": f.code, "message": f.message}),
            );
            (f.status, false, p)
        }
    };
    let (body, mime) = match format {
        Format::Json => (render::json(ok, payload), "application/json"),
        Format::Xml => (render::xml(ok, payload), "application/xml; charset=utf-8"),
    };
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::TOO_MANY_REQUESTS {
        // Busy (transcodes): a few seconds; throttled sign-ins replace it with their wait.
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    res
}

async fn dispatch(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut pairs = Vec::new();
    if let Some(q) = &query {
        parse_pairs(q, &mut pairs);
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        match std::str::from_utf8(&body) {
            Ok(text) => parse_pairs(text, &mut pairs),
            Err(_) => {
                return answer(
                    Format::Xml,
                    Err(Failure::new(0, "the form body is not UTF-8")),
                );
            }
        }
    }
    let params = Params(pairs);
    let format = match params.get("f") {
        Some("json") => Format::Json,
        Some("jsonp") => {
            let mut f = Failure::new(0, "JSONP is not supported: use f=json");
            f.status = StatusCode::BAD_REQUEST;
            return answer(Format::Json, Err(f));
        }
        _ => Format::Xml,
    };
    let method = method.strip_suffix(".view").unwrap_or(&method).to_string();
    if method == "getOpenSubsonicExtensions" {
        // The one method the spec makes public: clients ask before they sign in.
        return answer(format, Ok(extensions()));
    }
    let from = backend::auth::throttle::client_ip(
        peer.ip(),
        headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()),
        &state.core.config.server.trusted_proxies,
    );
    let creds = match Credentials::from_params(|k| params.get(k)) {
        Ok(c) => c,
        Err(e) => return answer(format, Err(e.into())),
    };
    let user = match keys::authenticate(&state.core, &creds, from).await {
        Ok(u) => u,
        Err(e) => {
            let mut res = answer(format, Err(e.clone().into()));
            if let AuthError::Throttled(secs) = e
                && let Ok(v) = HeaderValue::from_str(&secs.to_string())
            {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return res;
        }
    };
    let call = Call {
        state: &state,
        user,
        params,
        headers,
        creds,
    };
    let result = run(&method, &call).await;
    answer(format, result)
}

/// The extensions Refrain implements, as `getOpenSubsonicExtensions` lists them.
const EXTENSIONS: &[(&str, &[u32])] = &[
    ("apiKeyAuthentication", &[1]),
    ("formPost", &[1]),
    ("indexBasedQueue", &[1]),
    ("transcodeOffset", &[1]),
    ("songLyrics", &[1]),
];

fn extensions() -> Reply {
    Reply::one(
        "openSubsonicExtensions",
        Value::Array(
            EXTENSIONS
                .iter()
                .map(|(name, versions)| json!({"name": name, "versions": versions}))
                .collect(),
        ),
    )
}

async fn run(method: &str, call: &Call<'_>) -> Result<Reply, Failure> {
    match method {
        "ping" => Ok(Reply::ok()),
        "getLicense" => Ok(Reply::one(
            "license",
            json!({"valid": true, "email": call.user.email}),
        )),
        "tokenInfo" => match call.creds {
            Credentials::ApiKey(_) => Ok(Reply::one(
                "tokenInfo",
                json!({"username": call.user.email}),
            )),
            _ => Err(Failure::new(42, "tokenInfo is for API keys")),
        },
        "getUser" => get_user(call),
        "getMusicFolders" => Ok(Reply::one(
            "musicFolders",
            json!({"musicFolder": [{"id": MUSIC_FOLDER_ID, "name": "Music"}]}),
        )),
        "getIndexes" => browse::get_indexes(call).await,
        "getMusicDirectory" => browse::get_music_directory(call).await,
        "getArtists" => browse::get_artists(call).await,
        "getArtist" => browse::get_artist(call).await,
        "getAlbum" => browse::get_album(call).await,
        "getSong" => browse::get_song(call).await,
        "getLyricsBySongId" => browse::get_lyrics_by_song_id(call).await,
        "getLyrics" => browse::get_lyrics(call).await,
        "getGenres" => browse::get_genres(call).await,
        "getArtistInfo" => browse::get_artist_info(call, false).await,
        "getArtistInfo2" => browse::get_artist_info(call, true).await,
        "getAlbumInfo" | "getAlbumInfo2" => browse::get_album_info(call).await,
        "getSimilarSongs" => browse::get_similar_songs(call, false).await,
        "getSimilarSongs2" => browse::get_similar_songs(call, true).await,
        "getTopSongs" => browse::get_top_songs(call).await,
        "getAlbumList" => browse::get_album_list(call).await,
        "getAlbumList2" => browse::get_album_list2(call).await,
        "getRandomSongs" => browse::get_random_songs(call).await,
        "getSongsByGenre" => browse::get_songs_by_genre(call).await,
        "getStarred" => browse::get_starred(call).await,
        "getStarred2" => browse::get_starred2(call).await,
        "search2" => browse::search2(call).await,
        "search3" => browse::search3(call).await,
        "star" => browse::star(call, true).await,
        "unstar" => browse::star(call, false).await,
        "setRating" => browse::set_rating(call).await,
        "scrobble" => browse::scrobble(call).await,
        "getPlaylists" => lists::get_playlists(call).await,
        "getPlaylist" => lists::get_playlist(call).await,
        "createPlaylist" => lists::create_playlist(call).await,
        "updatePlaylist" => lists::update_playlist(call).await,
        "deletePlaylist" => lists::delete_playlist(call).await,
        "getPlayQueue" => lists::get_play_queue(call, false).await,
        "getPlayQueueByIndex" => lists::get_play_queue(call, true).await,
        "savePlayQueue" => lists::save_play_queue(call, false).await,
        "savePlayQueueByIndex" => lists::save_play_queue(call, true).await,
        "getNowPlaying" => lists::get_now_playing(call).await,
        "getBookmarks" => lists::get_bookmarks(call).await,
        "createBookmark" => lists::create_bookmark(call).await,
        "deleteBookmark" => lists::delete_bookmark(call).await,
        "getScanStatus" => scan_status(call, false).await,
        "startScan" => scan_status(call, true).await,
        "stream" => files::original(call, false).await,
        "download" => files::original(call, true).await,
        "getCoverArt" => files::cover_art(call).await,
        "getAvatar" => files::avatar(call).await,
        _ => Err(Failure {
            code: 0,
            message: format!("unknown method: {}", truncate(method, 64)),
            status: StatusCode::NOT_FOUND,
        }),
    }
}

/// `getScanStatus` (anyone) and `startScan` (admins: queues a scan of every music folder,
/// as the admin page's button does, and answers with its state).
async fn scan_status(call: &Call<'_>, start: bool) -> Result<Reply, Failure> {
    let core = &call.state.core;
    if start {
        backend::folders::service::request_scan(core, &call.user).await?;
    }
    let (scanning, count) = backend::folders::service::scan_progress(core).await?;
    Ok(Reply::one(
        "scanStatus",
        json!({ "scanning": scanning, "count": count }),
    ))
}

/// Refrain has one catalog (shared music and each listener's own uploads, as the web
/// player shows it): one music folder.
pub const MUSIC_FOLDER_ID: i64 = 1;

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// `getUser`: the caller only (another user's details are an admin's business, in the
/// admin page); what they may do in Subsonic terms.
fn get_user(call: &Call<'_>) -> Result<Reply, Failure> {
    call.only_self(true, "user")?;
    let admin = call.user.role == backend::auth::Role::Admin;
    let uploads = call.user.role != backend::auth::Role::Listener;
    Ok(Reply::one(
        "user",
        json!({
            "username": call.user.email,
            "scrobblingEnabled": true,
            "adminRole": admin,
            "settingsRole": true,
            "downloadRole": true,
            "uploadRole": uploads,
            "playlistRole": true,
            "coverArtRole": admin,
            "commentRole": false,
            "podcastRole": false,
            "streamRole": true,
            "jukeboxRole": false,
            "shareRole": false,
            "videoConversionRole": false,
            "folder": [MUSIC_FOLDER_ID],
        }),
    ))
}
