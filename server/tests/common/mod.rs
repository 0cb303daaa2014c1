//! The real router on port 0 with real components, shared by the HTTP test files.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

pub mod subsonic;

use backend::Core;
use backend::testing::Backend;
use reqwest::header::SET_COOKIE;
use server_fn::ServerFn;

pub struct Srv {
    pub base: String,
    pub core: Core,
    pub _dir: tempfile::TempDir,
}

pub async fn start(b: Backend, max_upload: u64) -> Srv {
    start_with(b, |c| c.storage.max_upload_bytes = max_upload).await
}

pub async fn start_with(b: Backend, tweak: impl FnOnce(&mut backend::Config)) -> Srv {
    let dir = tempfile::tempdir().unwrap();
    let mut config = b.config(&dir.path().join("data")).await;
    config.events.embedded_worker = false;
    tweak(&mut config);
    let core = Core::init(config).await.unwrap();
    let base = serve(&core).await;
    Srv {
        base,
        core,
        _dir: dir,
    }
}

/// Serves `core` (the whole application, through the real accept loop) on a fresh
/// loopback port; returns its base URL.
pub async fn serve(core: &Core) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = server::app(core.clone(), server::leptos_options(core));
    let served = core.clone();
    tokio::spawn(async move {
        server::serve_app(&served, listener, app, std::future::pending())
            .await
            .unwrap()
    });
    base
}

/// What `/metrics` says (to this machine, which may read it).
pub async fn metrics(srv: &Srv) -> String {
    client()
        .get(format!("{}/metrics", srv.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub const PW: &str = "violet-harbour-87";

/// Reads a server function's answer as the browser does: postcard (app::wire).
#[allow(async_fn_in_trait)]
pub trait Wire {
    async fn wire<T: serde::de::DeserializeOwned>(self) -> Result<T, String>;
    /// The `AppError` a failed server function answered with.
    async fn app_error(self) -> app::error::AppError;
}

impl Wire for reqwest::Response {
    async fn wire<T: serde::de::DeserializeOwned>(self) -> Result<T, String> {
        let status = self.status();
        let bytes = self.bytes().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!(
                "{status}: {:?}",
                postcard::from_bytes::<app::error::AppError>(&bytes)
            ));
        }
        postcard::from_bytes(&bytes).map_err(|e| format!("{e} in {bytes:?}"))
    }

    async fn app_error(self) -> app::error::AppError {
        let status = self.status();
        assert!(!status.is_success(), "expected an error, got {status}");
        postcard::from_bytes(&self.bytes().await.unwrap()).unwrap()
    }
}

pub async fn call(
    c: &reqwest::Client,
    srv: &Srv,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    c.post(format!("{}{}", srv.base, path))
        .form(form)
        .send()
        .await
        .unwrap()
}

pub async fn signup(c: &reqwest::Client, srv: &Srv, email: &str) -> reqwest::Response {
    let r = call(
        c,
        srv,
        app::auth::Signup::PATH,
        &[("email", email), ("password", PW)],
    )
    .await;
    assert!(r.status().is_success(), "signup: {}", r.status());
    r
}

pub fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers().get_all(SET_COOKIE).iter().find_map(|v| {
        let v = v.to_str().ok()?;
        v.starts_with("refrain=").then(|| v.to_string())
    })
}

/// Uploads `body` as `filename` for the client's user and imports it (the upload must be
/// taken: 201).
pub async fn upload(c: &reqwest::Client, srv: &Srv, filename: &str, body: Vec<u8>) {
    let r = c
        .post(format!("{}/api/uploads?filename={filename}", srv.base))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    worker::dispatch::drain(&srv.core).await.unwrap();
}

/// Signs up, uploads and imports one track; returns its id and signed stream URL.
pub async fn with_track(srv: &Srv, c: &reqwest::Client, email: &str) -> (String, String, u64) {
    signup(c, srv, email).await;
    let tone = backend::testing::sine_mp3(8, &[("title", "Range Test")]);
    upload(c, srv, "range.mp3", tone).await;
    let id = list_tracks(c, srv).await[0].id.clone();
    let info = stream_info(c, srv, &id).await;
    (id, format!("{}{}", srv.base, info.url), info.bytes as u64)
}

/// The client's user's tracks, as the library lists them.
pub async fn list_tracks(c: &reqwest::Client, srv: &Srv) -> Vec<app::model::TrackItem> {
    call(c, srv, app::library::ListTracks::PATH, &[])
        .await
        .wire()
        .await
        .unwrap()
}

/// The web player's stream grant for track `id` (its signed URL is relative).
pub async fn stream_info(c: &reqwest::Client, srv: &Srv, id: &str) -> app::model::StreamInfo {
    call(
        c,
        srv,
        app::player::api::StreamTrack::PATH,
        &[("track_id", id)],
    )
    .await
    .wire()
    .await
    .unwrap()
}

/// A Subsonic API key made in Settings by the client's user (whose password is [`PW`]).
pub async fn api_key(c: &reqwest::Client, srv: &Srv) -> String {
    let made: app::appkeys::NewAppKey = call(
        c,
        srv,
        app::appkeys::CreateAppKey::PATH,
        &[("name", "Phone"), ("kind", "api_key"), ("password", PW)],
    )
    .await
    .wire()
    .await
    .unwrap();
    made.secret
}

/// Posts the sign-up form with `fields` (extra ones included, as an attacker would).
pub async fn signup_form(c: &reqwest::Client, srv: &Srv, fields: &[(&str, &str)]) {
    let r = call(c, srv, app::auth::Signup::PATH, fields).await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "signup: {}",
        r.status()
    );
}

/// The role of the client's signed-in user.
pub async fn role_of(c: &reqwest::Client, srv: &Srv) -> String {
    let me: Option<app::auth::UserInfo> = call(c, srv, app::auth::CurrentUser::PATH, &[])
        .await
        .wire()
        .await
        .unwrap();
    me.unwrap().role
}

/// Turns two-factor on for `user` (enrolled and confirmed with a current code); returns
/// the TOTP secret.
pub async fn turn_on_two_factor(core: &Core, user: &backend::auth::CurrentUser) -> Vec<u8> {
    let e = backend::auth::two_factor::begin_enrollment(core, user)
        .await
        .unwrap();
    let secret = backend::auth::totp::decode_secret(&e.secret).unwrap();
    let now = u64::try_from(backend::now_ms() / 1000).unwrap();
    backend::auth::two_factor::confirm_enrollment(
        core,
        user,
        &backend::auth::totp::code(&secret, now),
    )
    .await
    .unwrap();
    secret
}
