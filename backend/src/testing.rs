//! Test support (feature `testing`): a fresh database per test on SQLite or PostgreSQL.
//!
//! PostgreSQL tests create a database named `refrain_t_<uuid>` on the server at
//! `REFRAIN_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! `scripts/test.sh` drops leftovers before each run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::{Config, Core};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn postgres_admin_url() -> String {
    std::env::var("REFRAIN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl Backend {
    /// A config on a brand-new, empty database; objects and keys go under `dir`.
    pub async fn config(self, dir: &std::path::Path) -> Config {
        let mut config = Config::for_data_dir(dir);
        // Most tests are not about email: no verification message in their outbox. The
        // email tests turn it on.
        config.auth.email_verification = crate::config::EmailVerification::Off;
        // The tests read /metrics from 127.0.0.1 (worker/tests/ops.rs checks the default).
        config.telemetry.metrics_loopback = true;
        // Every test client is 127.0.0.1 and some make many requests: the limits tests set
        // their own.
        config.rate_limits = crate::config::RateLimits {
            general: 0,
            search: 0,
            uploads: 0,
            url_imports: 0,
            images: 0,
        };
        if self == Backend::Postgres {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let admin = postgres_admin_url();
            let name = format!("refrain_t_{}", uuid::Uuid::new_v4().simple());
            let mut conn = sqlx::AnyConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL for tests at {admin}: {e}"));
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .unwrap();
            conn.close().await.unwrap();
            let (base, _) = admin.rsplit_once('/').unwrap();
            config.database.url = format!("{base}/{name}");
        }
        config
    }

    pub async fn core(self) -> (Core, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let core = Core::init(self.config(dir.path()).await).await.unwrap();
        (core, dir)
    }
}

/// Generates one `#[tokio::test]` per database for each listed `async fn name(Backend)`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test] async fn $name() { super::$name($crate::testing::Backend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test] async fn $name() { super::$name($crate::testing::Backend::Postgres).await } )*
        }
    };
}

/// S3 settings for tests (`REFRAIN_TEST_S3_*`, written by scripts/services.sh), each call
/// under a fresh key prefix so tests never see each other's objects.
pub fn s3_config() -> crate::config::S3Config {
    let var = |k: &str| {
        std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set; run scripts/services.sh"))
    };
    crate::config::S3Config {
        bucket: var("REFRAIN_TEST_S3_BUCKET"),
        prefix: Some(format!("t-{}", uuid::Uuid::new_v4().simple())),
        endpoint: Some(var("REFRAIN_TEST_S3_ENDPOINT")),
        region: std::env::var("REFRAIN_TEST_S3_REGION").unwrap_or_else(|_| "garage".into()),
        access_key_id: var("REFRAIN_TEST_S3_ACCESS_KEY_ID"),
        secret_access_key: var("REFRAIN_TEST_S3_SECRET_ACCESS_KEY"),
        path_style: true,
    }
}

/// An MP3 of a sine tone synthesized by ffmpeg, with `-metadata` tags (no fixtures in git).
pub fn sine_mp3(seconds: u32, tags: &[(&str, &str)]) -> Vec<u8> {
    sine(seconds, tags, "mp3")
}

/// A sine tone in the format of the file extension `ext` (`mp3`, `flac`, ...), with tags.
pub fn sine(seconds: u32, tags: &[(&str, &str)], ext: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(format!("sine.{ext}"));
    let mut cmd = std::process::Command::new("ffmpeg");
    cmd.args([
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
    ])
    .arg(format!("sine=duration={seconds}"));
    for (k, v) in tags {
        cmd.arg("-metadata").arg(format!("{k}={v}"));
    }
    let st = cmd.arg(&out).status().expect("ffmpeg on PATH");
    assert!(st.success(), "ffmpeg failed");
    std::fs::read(out).unwrap()
}

/// `n` damaged copies of `base`, the same for the same `seed` (matrix row 26): cut short,
/// bytes flipped, size fields set to 0xFFFFFFFF or zero, a range zeroed, a slice repeated
/// elsewhere, the head repeated. Each comes with a name saying what was done.
pub fn mutants(base: &[u8], n: usize, seed: u64) -> Vec<(String, Vec<u8>)> {
    let mut state = seed | 1;
    let mut next = move || {
        // xorshift64*: enough for picking offsets, and reproducible.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let len = base.len().max(1);
    (0..n)
        .map(|i| {
            let mut b = base.to_vec();
            let at = (next() as usize) % len;
            // The first kilobytes hold the headers and tags the parsers trust most.
            let head = (next() as usize) % len.min(4096);
            let what = match i % 7 {
                0 => {
                    b.truncate(at.max(1));
                    format!("cut at {at}")
                }
                1 => {
                    let flips = 1 + (next() as usize) % 64;
                    for _ in 0..flips {
                        let j = (next() as usize) % len;
                        b[j] ^= (next() as u8) | 1;
                    }
                    format!("{flips} bytes flipped")
                }
                2 => {
                    let end = (head + 4).min(b.len());
                    b[head..end].fill(0xff);
                    format!("0xFFFFFFFF at {head}")
                }
                3 => {
                    let end = (head + 4).min(b.len());
                    b[head..end].fill(0);
                    format!("zero size at {head}")
                }
                4 => {
                    let end = (at + 64).min(b.len());
                    b[at..end].fill(0);
                    format!("zeroed from {at}")
                }
                5 => {
                    let end = (head + 1 + (next() as usize) % 512).min(b.len());
                    let slice = b[head..end].to_vec();
                    let to = (next() as usize) % b.len();
                    b.splice(to..to, slice);
                    format!("{head}..{end} repeated at {to}")
                }
                _ => {
                    let end = (head + 1).max(16).min(b.len());
                    let slice = b[..end].to_vec();
                    b.splice(
                        end..end,
                        slice.iter().copied().cycle().take(slice.len() * 8),
                    );
                    "head repeated 8 times".to_string()
                }
            };
            (format!("mutant {i}: {what}"), b)
        })
        .collect()
}

/// An MP3 of a sine tone with an embedded 400×300 PNG cover of one `color`.
pub fn sine_mp3_with_cover(seconds: u32, color: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let cover = dir.path().join("cover.png");
    let out = dir.path().join("covered.mp3");
    let ffmpeg = |args: &[&str]| {
        let st = std::process::Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y"])
            .args(args)
            .status()
            .expect("ffmpeg on PATH");
        assert!(st.success(), "ffmpeg {args:?}");
    };
    let cover_s = cover.to_str().unwrap();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("color=c={color}:s=400x300"),
        "-frames:v",
        "1",
        cover_s,
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("sine=duration={seconds}"),
        "-i",
        cover_s,
        "-map",
        "0:a",
        "-map",
        "1:v",
        "-c:a",
        "libmp3lame",
        "-c:v",
        "png",
        "-id3v2_version",
        "3",
        "-disposition:v",
        "attached_pic",
        out.to_str().unwrap(),
    ]);
    std::fs::read(out).unwrap()
}

/// A loopback port free now, for a child process to listen on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A unique name fragment for per-test topics, groups and prefixes.
pub fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Kafka settings on `brokers` (default `REFRAIN_TEST_KAFKA_BROKERS` or 127.0.0.1:9092),
/// with topics and consumer group of their own.
pub fn kafka_config(brokers: Option<String>, partitions: i32) -> crate::config::KafkaConfig {
    let id = unique();
    crate::config::KafkaConfig {
        brokers: brokers.unwrap_or_else(|| {
            std::env::var("REFRAIN_TEST_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
        }),
        topic_prefix: format!("t{id}."),
        group: format!("g{id}"),
        partitions,
        instance_id: None,
    }
}

/// The `REFRAIN_*` environment that makes a child process (`refrain`, `refrain-worker`)
/// run on the same database, storage and Kafka topics as `config`.
pub fn env_of(config: &Config) -> Vec<(String, String)> {
    let mut env = vec![
        ("REFRAIN_DATABASE_URL", config.database.url.clone()),
        (
            "REFRAIN_DATA_DIR",
            config.storage.data_dir.display().to_string(),
        ),
        (
            "REFRAIN_STORAGE_DIR",
            config.storage.storage_dir.display().to_string(),
        ),
        ("REFRAIN_HOST", "127.0.0.1".into()),
        ("REFRAIN_PORT", "0".into()),
        (
            "REFRAIN_EMBEDDED_WORKER",
            config.events.embedded_worker.to_string(),
        ),
        (
            "REFRAIN_MAX_EVENT_ATTEMPTS",
            config.events.max_event_attempts.to_string(),
        ),
    ];
    if let Some(k) = &config.events.kafka {
        env.extend([
            ("REFRAIN_KAFKA_BROKERS", k.brokers.clone()),
            ("REFRAIN_KAFKA_TOPIC_PREFIX", k.topic_prefix.clone()),
            ("REFRAIN_KAFKA_GROUP", k.group.clone()),
            ("REFRAIN_KAFKA_PARTITIONS", k.partitions.to_string()),
        ]);
        if let Some(id) = &k.instance_id {
            env.push(("REFRAIN_KAFKA_INSTANCE_ID", id.clone()));
        }
    }
    env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// A child process of a test (killed when dropped) whose stderr lines can be awaited.
pub struct Proc {
    pub child: tokio::process::Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    /// Every line read so far.
    seen: Vec<String>,
}

impl Proc {
    /// Starts `program` with `env` added to the test's own environment.
    pub fn spawn(program: &str, args: &[&str], env: &[(String, String)]) -> Proc {
        Self::spawn_logging(program, args, env, "info,rdkafka=warn,sqlx=warn")
    }

    /// [`spawn`](Self::spawn) with the log filter `rust_log`.
    pub fn spawn_logging(
        program: &str,
        args: &[&str],
        env: &[(String, String)],
        rust_log: &str,
    ) -> Proc {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_LOG", rust_log)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {program}: {e}"));
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        // Its logs (stdout) and its own messages (stderr) both reach the test.
        fn forward(
            out: impl tokio::io::AsyncRead + Unpin + Send + 'static,
            tx: tokio::sync::mpsc::UnboundedSender<String>,
        ) {
            tokio::spawn(async move {
                let mut r = tokio::io::BufReader::new(out).lines();
                while let Ok(Some(line)) = r.next_line().await {
                    eprintln!("[child] {line}");
                    // The test may stop listening; keep draining so the child never blocks.
                    let _ = tx.send(line);
                }
            });
        }
        forward(child.stdout.take().unwrap(), tx.clone());
        forward(child.stderr.take().unwrap(), tx);
        Proc {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// Waits (bounded; the bound only guards against a hang) for an output line containing
    /// `needle`.
    pub async fn wait_for_line(&mut self, needle: &str, within: std::time::Duration) {
        let found = tokio::time::timeout(within, async {
            while let Some(l) = self.lines.recv().await {
                let hit = l.contains(needle);
                self.seen.push(l);
                if hit {
                    return true;
                }
            }
            false
        })
        .await;
        assert!(
            matches!(found, Ok(true)),
            "the child never printed {needle:?}"
        );
    }

    /// Every line the child printed so far (waits for one containing `needle` first, so
    /// lines written before it are in).
    pub async fn lines_through(&mut self, needle: &str, within: std::time::Duration) -> &[String] {
        self.wait_for_line(needle, within).await;
        while let Ok(l) = self.lines.try_recv() {
            self.seen.push(l);
        }
        &self.seen
    }

    /// SIGKILL, then reap.
    pub async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }
}

/// One message read back from a topic.
#[derive(Debug, Clone)]
pub struct TopicMessage {
    pub key: String,
    pub headers: Vec<(String, String)>,
    pub payload: Vec<u8>,
}

impl TopicMessage {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads `topic` from the beginning with a group of its own until `want` messages arrived
/// or `within` passed; returns what it read.
pub async fn read_topic(
    k: &crate::config::KafkaConfig,
    topic: &str,
    want: usize,
    within: std::time::Duration,
) -> Vec<TopicMessage> {
    use rdkafka::Message;
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::message::Headers;
    let c: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &k.brokers)
        .set("group.id", format!("reader-{}", unique()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    c.subscribe(&[topic]).unwrap();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while out.len() < want {
        let Ok(m) = tokio::time::timeout_at(deadline, c.recv()).await else {
            break;
        };
        let m = m.unwrap();
        let headers = m
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        (
                            h.key.to_owned(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(TopicMessage {
            key: String::from_utf8_lossy(m.key().unwrap_or_default()).to_string(),
            headers,
            payload: m.payload().unwrap_or_default().to_vec(),
        });
    }
    out
}

/// Every email queued in the outbox so far, oldest first.
pub async fn queued_emails(db: &sqlx::AnyPool) -> Vec<crate::events::EmailMessage> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT payload FROM outbox WHERE topic = $1 ORDER BY seq")
            .bind(crate::events::EMAIL_REQUESTED)
            .fetch_all(db)
            .await
            .unwrap();
    rows.iter()
        .map(|p| serde_json::from_str(p).unwrap())
        .collect()
}

/// The token of the first `<path>?token=` link in `text`.
pub fn link_token(text: &str, path: &str) -> Option<String> {
    let marker = format!("{path}?token=");
    let start = text.find(&marker)? + marker.len();
    Some(
        text[start..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .collect(),
    )
}

/// Waits (bounded) for the message to `to` whose subject contains `subject` in the SMTP
/// sink's Maildir (`REFRAIN_TEST_MAILDIR`, written by scripts/services.sh) and returns its
/// decoded text.
pub async fn delivered_mail(to: &str, subject: &str, within: std::time::Duration) -> String {
    let dir = std::path::PathBuf::from(
        std::env::var("REFRAIN_TEST_MAILDIR").expect("REFRAIN_TEST_MAILDIR (scripts/test.sh)"),
    )
    .join("new");
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let raw = std::fs::read_to_string(e.path()).unwrap_or_default();
                let header_end = raw
                    .find("\r\n\r\n")
                    .or_else(|| raw.find("\n\n"))
                    .unwrap_or(0);
                let header = |name: &str, text: &str| {
                    raw[..header_end]
                        .lines()
                        .any(|l| l.to_ascii_lowercase().starts_with(name) && l.contains(text))
                };
                if header("to:", to) && header("subject:", subject) {
                    return decode_quoted_printable(&raw);
                }
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no email \"{subject}\" to {to} arrived in {}",
            dir.display()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Undoes quoted-printable body encoding (soft line breaks and `=XX` escapes).
pub fn decode_quoted_printable(s: &str) -> String {
    let joined = s.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

/// A track to put straight into the catalog, without audio (for search, browse and
/// playlist tests; its object keys point at nothing).
#[derive(Debug, Clone, Default)]
pub struct SeedTrack<'a> {
    pub title: &'a str,
    pub artist: &'a str,
    pub album: Option<&'a str>,
    pub track_no: Option<i64>,
    pub duration_ms: i64,
    /// In the shared catalog (otherwise personal to its owner).
    pub shared: bool,
}

/// Adds `t` to the catalog as `owner_id`'s upload, through the same repository calls the
/// import pipeline makes (so it is indexed for search the same way). Returns its id.
pub async fn seed_track(core: &Core, owner_id: &str, t: SeedTrack<'_>) -> String {
    use crate::library::repo as lib;
    let job = crate::new_id();
    crate::imports::repo::insert(&core.db, &job, owner_id, "seed.mp3", "seed/original", 1)
        .await
        .unwrap();
    let mut tx = crate::db::begin(&core.db).await.unwrap();
    let artist_id = lib::upsert_artist(&mut tx, t.artist).await.unwrap();
    let album_id = match t.album {
        Some(a) => Some(
            lib::upsert_album(&mut tx, &artist_id, a, None, None)
                .await
                .unwrap(),
        ),
        None => None,
    };
    let id = lib::insert_track(
        &mut tx,
        &lib::NewTrack {
            id: crate::new_id(),
            import_job_id: job,
            owner_id: owner_id.to_string(),
            shared: t.shared,
            title: t.title.to_string(),
            artist_id,
            album_artist_id: None,
            album_id,
            track_no: t.track_no,
            disc_no: None,
            year: None,
            genre: None,
            lyrics: None,
            duration_ms: if t.duration_ms > 0 {
                t.duration_ms
            } else {
                180_000
            },
            original_key: "seed/original".into(),
            rendition_key: "seed/rendition".into(),
            rendition_bytes: 1,
            rendition_mime: "audio/mp4".into(),
            segment_index: r#"{"init_end":0,"segments":[]}"#.into(),
            cover_key: None,
            cover_thumbs: false,
            loudness: None,
            rendition_ready: true,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

/// Marks every event now in the outbox as handed on, for a test about the events that
/// come after (a sign-up's own `user.registered`, say, is not what an import test counts).
pub async fn settle_outbox(db: &sqlx::AnyPool) {
    sqlx::query("UPDATE outbox SET published_at = 1 WHERE published_at IS NULL")
        .execute(db)
        .await
        .unwrap();
}

/// `user` asks to publish as `name` (with `note`) and `admin` approves the request.
pub async fn approve_artist(
    core: &crate::Core,
    admin: &crate::infra::actor::CurrentUser,
    user: &crate::infra::actor::CurrentUser,
    name: &str,
    note: &str,
) {
    crate::artists::request(core, user, name, note)
        .await
        .unwrap();
    let req = crate::artists::pending_requests(core, admin)
        .await
        .unwrap()
        .remove(0);
    crate::artists::decide(core, admin, &req.id, true)
        .await
        .unwrap();
}

/// The test OpenID Connect provider (scripts/oidc-provider, started by
/// scripts/services.sh at `REFRAIN_TEST_OIDC_URL`, default http://127.0.0.1:3400) as a
/// configured provider `oidc`.
pub fn oidc_provider() -> crate::config::SsoProvider {
    crate::config::SsoProvider {
        id: "oidc".into(),
        name: "Test ID".into(),
        issuer: std::env::var("REFRAIN_TEST_OIDC_URL")
            .unwrap_or_else(|_| "http://127.0.0.1:3400".into()),
        client_id: "refrain".into(),
        client_secret: crate::config::Redacted(
            std::env::var("REFRAIN_TEST_OIDC_SECRET")
                .unwrap_or_else(|_| "refrain-test-secret".into()),
        ),
        scopes: vec!["openid".into(), "email".into(), "profile".into()],
    }
}

/// Signs in at the test provider as `account` (email `<account>@example.test`, verified
/// unless the name ends in `-unverified`; `mfa` marks the sign-in multi-factor), starting
/// at its authorization `url`, and follows its redirects as a browser would (cookies
/// kept, consent given) until it sends the browser to `redirect_prefix`: that URL's
/// query (`code`, `state`, or `error`).
pub async fn sign_in_at_provider(
    url: &str,
    account: &str,
    mfa: bool,
    redirect_prefix: &str,
) -> std::collections::HashMap<String, String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut jar: std::collections::BTreeMap<String, String> = Default::default();
    let mut next = url.to_string();
    let mut form: Option<Vec<(&str, &str)>> = None;
    let mfa_value = if mfa { "1" } else { "" };
    for _ in 0..20 {
        let cookie = jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let req = match form.take() {
            Some(f) => client.post(&next).form(&f),
            None => client.get(&next),
        };
        let r = req.header("cookie", cookie).send().await.unwrap();
        for c in r.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            let gone = v.is_empty() || c.to_lowercase().contains("expires=thu, 01 jan 1970");
            if gone {
                jar.remove(k);
            } else {
                jar.insert(k.to_string(), v.to_string());
            }
        }
        let base = url::Url::parse(&next).unwrap();
        if r.status().is_redirection() {
            let loc = r.headers()["location"].to_str().unwrap();
            let target = base.join(loc).unwrap();
            if target.as_str().starts_with(redirect_prefix) {
                return target.query_pairs().into_owned().collect();
            }
            next = target.into();
            continue;
        }
        let status = r.status();
        let body = r.text().await.unwrap();
        assert!(status.is_success(), "provider answered {status}: {body}");
        let action = body
            .split("action=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_else(|| panic!("no login form at {next}: {body}"));
        next = base.join(action).unwrap().into();
        let mut f = vec![("login", account)];
        if mfa {
            f.push(("mfa", mfa_value));
        }
        form = Some(f);
    }
    panic!("the provider never sent the browser back to {redirect_prefix}");
}

/// A span an [`OtlpReceiver`] received.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    /// The `service.name` of the process that sent it.
    pub service: String,
    pub name: String,
    /// Lowercase hex, as in a `traceparent`.
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
}

/// An OTLP/HTTP trace receiver on a loopback port, as an OpenTelemetry Collector would
/// listen (`POST /v1/traces`, protobuf): it keeps every span it is sent.
pub struct OtlpReceiver {
    /// The base URL to give as `REFRAIN_OTLP_ENDPOINT`.
    pub url: String,
    spans: std::sync::Arc<std::sync::Mutex<Vec<ReceivedSpan>>>,
}

impl OtlpReceiver {
    pub async fn start() -> OtlpReceiver {
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
        use prost::Message;
        let spans = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = spans.clone();
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: bytes::Bytes| {
                let kept = kept.clone();
                async move {
                    let Ok(req) = ExportTraceServiceRequest::decode(body) else {
                        return axum::http::StatusCode::BAD_REQUEST;
                    };
                    let mut out = kept.lock().unwrap();
                    for rs in req.resource_spans {
                        let service = rs
                            .resource
                            .iter()
                            .flat_map(|r| r.attributes.iter())
                            .find(|kv| kv.key == "service.name")
                            .and_then(|kv| kv.value.as_ref())
                            .and_then(|v| match &v.value {
                                Some(opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(s)) => Some(s.clone()),
                                _ => None,
                            })
                            .unwrap_or_default();
                        for ss in rs.scope_spans {
                            for s in ss.spans {
                                out.push(ReceivedSpan {
                                    service: service.clone(),
                                    name: s.name,
                                    trace_id: hex(&s.trace_id),
                                    span_id: hex(&s.span_id),
                                    parent_span_id: hex(&s.parent_span_id),
                                });
                            }
                        }
                    }
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        OtlpReceiver { url, spans }
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans.lock().unwrap().clone()
    }

    /// Waits (bounded) for the span called `name` in the trace `trace_id`.
    pub async fn wait_for_named(&self, trace_id: &str, name: &str) -> ReceivedSpan {
        self.wait_for(
            &format!("{name:?} in trace {trace_id}"),
            |s| s.trace_id == trace_id && s.name == name,
            std::time::Duration::from_secs(60),
        )
        .await
    }

    /// Whether `span` is `ancestor` or one of its descendants (among the spans received).
    pub fn within(&self, span: &ReceivedSpan, ancestor: &ReceivedSpan) -> bool {
        let spans = self.spans();
        let mut at = span.clone();
        for _ in 0..=spans.len() {
            if at.trace_id != ancestor.trace_id {
                return false;
            }
            if at.span_id == ancestor.span_id {
                return true;
            }
            match spans
                .iter()
                .find(|s| s.trace_id == at.trace_id && s.span_id == at.parent_span_id)
            {
                Some(parent) => at = parent.clone(),
                None => return false,
            }
        }
        false
    }

    /// Waits (bounded; the bound only guards against a hang) until a received span
    /// matches `want`; returns it.
    pub async fn wait_for(
        &self,
        what: &str,
        want: impl Fn(&ReceivedSpan) -> bool,
        within: std::time::Duration,
    ) -> ReceivedSpan {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(s) = self.spans().into_iter().find(|s| want(s)) {
                return s;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no span {what} arrived; received: {:#?}",
                self.spans()
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

// ─────────────────────────────────────────────────────────────────────────────────────────
// Private servers and disks for fault tests (server/tests/faults.rs): what a test breaks
// (stops, fills) is its own, never the shared instances the other suites use.
// ─────────────────────────────────────────────────────────────────────────────────────────

/// Whether this process runs as root (PostgreSQL will not, and only root may mount).
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The folder of the newest PostgreSQL server binaries: `REFRAIN_TEST_PG_BIN`, else
/// Debian's `/usr/lib/postgresql/<version>/bin`.
pub fn postgres_bin_dir() -> std::path::PathBuf {
    if let Ok(d) = std::env::var("REFRAIN_TEST_PG_BIN") {
        return d.into();
    }
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").exists().then_some((v, bin))
        })
        .max();
    newest.map(|(_, bin)| bin).expect(
        "PostgreSQL's server binaries (apt-get install postgresql, or set REFRAIN_TEST_PG_BIN)",
    )
}

/// A PostgreSQL server of one test's own, on a free loopback port with its data in a
/// temporary folder, which the test may stop and start again; stopped when dropped. Run
/// as the `postgres` user when the test runs as root (PostgreSQL refuses root).
pub struct PrivatePostgres {
    pub port: u16,
    bin: std::path::PathBuf,
    data: std::path::PathBuf,
    log: std::path::PathBuf,
    as_postgres: bool,
    _dir: tempfile::TempDir,
}

impl PrivatePostgres {
    pub async fn start() -> PrivatePostgres {
        let dir = tempfile::tempdir().unwrap();
        let as_postgres = running_as_root();
        if as_postgres {
            let st = std::process::Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(st.success(), "chown to the postgres user");
        }
        let pg = PrivatePostgres {
            port: free_port(),
            bin: postgres_bin_dir(),
            data: dir.path().join("data"),
            log: dir.path().join("server.log"),
            as_postgres,
            _dir: dir,
        };
        let data = pg.data.to_str().unwrap().to_owned();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )
        .await;
        // Its own port and socket folder; nothing here needs to survive a power cut.
        let conf = format!(
            "\nport = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n",
            pg.port,
            pg.data.display()
        );
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(pg.data.join("postgresql.conf"))
            .unwrap();
        std::io::Write::write_all(&mut f, conf.as_bytes()).unwrap();
        pg.start_again().await;
        pg
    }

    /// The URL of its `postgres` database (trust authentication).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops it (fast shutdown: sessions are ended, as in a restart) and waits until it has.
    pub async fn stop(&self) {
        let data = self.data.to_str().unwrap().to_owned();
        self.run("pg_ctl", &["stop", "-D", &data, "-m", "fast", "-w"])
            .await;
    }

    /// Starts it (again) and waits until it takes connections.
    pub async fn start_again(&self) {
        let (data, log) = (
            self.data.to_str().unwrap().to_owned(),
            self.log.to_str().unwrap().to_owned(),
        );
        self.run(
            "pg_ctl",
            &["start", "-D", &data, "-l", &log, "-w", "-t", "60"],
        )
        .await;
    }

    fn command(&self, tool: &str, args: &[&str]) -> std::process::Command {
        let program = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            std::process::Command::new(program)
        };
        cmd.args(args).stdin(std::process::Stdio::null());
        cmd
    }

    async fn run(&self, tool: &str, args: &[&str]) {
        let mut cmd = tokio::process::Command::from(self.command(tool, args));
        let out = cmd.output().await.unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data.to_str().unwrap_or_default().to_owned();
        let _ = self
            .command("pg_ctl", &["stop", "-D", &data, "-m", "immediate", "-w"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// A small filesystem (a tmpfs of a given size) mounted on a fresh temporary folder, to
/// fill up; unmounted when dropped.
pub struct SmallDisk {
    pub path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `bytes` (rounded up to whole pages), or says why it cannot be
    /// mounted here (mounting needs root, or CAP_SYS_ADMIN).
    pub fn mount(bytes: u64) -> Result<SmallDisk, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={}k,mode=0777", bytes.div_ceil(4096) * 4))
            .arg("tmpfs")
            .arg(dir.path())
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(SmallDisk {
            path: dir.path().to_owned(),
            _dir: dir,
        })
    }

    /// Gives it `bytes` (rounded up to whole pages) from now on.
    pub fn resize(&self, bytes: u64) {
        let st = std::process::Command::new("mount")
            .args(["-o"])
            .arg(format!("remount,size={}k", bytes.div_ceil(4096) * 4))
            .arg(&self.path)
            .status()
            .unwrap();
        assert!(st.success(), "remount of {}", self.path.display());
    }

    /// Every file on it (not folders), as paths relative to its root, sorted.
    pub fn files(&self) -> Vec<String> {
        fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(root, &p, out);
                } else {
                    out.push(p.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.path, &self.path, &mut out);
        out.sort();
        out
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}

/// An `ffmpeg` for `Config::ffmpeg` that holds the import's encode (the run that writes
/// the rendition) at a gate: it creates `started` in its folder and waits until the test
/// creates `go` (see [`FfmpegGate::open`]), then runs the real ffmpeg. So a test can break
/// something at a known point in the middle of an import: after the job was marked as
/// processing, before its results are written.
pub struct FfmpegGate {
    /// The wrapper script to give as `Config::ffmpeg`.
    pub program: String,
    dir: tempfile::TempDir,
}

impl FfmpegGate {
    pub fn new() -> FfmpegGate {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = std::env::var("REFRAIN_TEST_FFMPEG").unwrap_or_else(|_| "ffmpeg".into());
        let d = dir.path().display();
        let script = format!(
            "#!/bin/sh\ncase \"$*\" in *empty_moov*)\n  touch '{d}/started'\n  \
             while [ ! -e '{d}/go' ]; do sleep 0.05; done ;;\nesac\nexec {real} \"$@\"\n"
        );
        let program = dir.path().join("ffmpeg");
        std::fs::write(&program, script).unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        FfmpegGate {
            program: program.display().to_string(),
            dir,
        }
    }

    /// Waits (bounded; the bound only guards against a hang) until an encode is held at
    /// the gate.
    pub async fn wait_until_held(&self, within: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while !self.dir.path().join("started").exists() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no import reached its encode"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Lets the held encode (and every later one) run.
    pub fn open(&self) {
        std::fs::write(self.dir.path().join("go"), b"").unwrap();
    }
}

impl Default for FfmpegGate {
    fn default() -> Self {
        Self::new()
    }
}
