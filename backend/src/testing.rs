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
            config.database_url = format!("{base}/{name}");
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
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sine.mp3");
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
    let st = cmd
        .args(["-c:a", "libmp3lame"])
        .arg(&out)
        .status()
        .expect("ffmpeg on PATH");
    assert!(st.success(), "ffmpeg failed");
    std::fs::read(out).unwrap()
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
    }
}
