//! The `refrain` binary's account commands, run as a real process on a SQLite data
//! directory: create an admin, then reset a password (which ends every session).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::{self, LoginStep, Role};
use backend::testing::{Backend, env_of};
use std::io::Write;

const SERVER: &str = env!("CARGO_BIN_EXE_refrain");
const LOCAL: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

fn run(env: &[(String, String)], args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = std::process::Command::new(SERVER)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn create_admin_and_reset_password_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = Backend::Sqlite.config(dir.path()).await;
    let env = env_of(&config);
    let core = backend::Core::init(config).await.unwrap();
    // Someone else got there first; the command line still makes the owner an admin.
    let first = auth::signup(&core, "first@example.com", "violet-harbour-87")
        .await
        .unwrap();
    assert_eq!(first.role, Role::Admin);
    let other = auth::signup(&core, "owner@example.com", "violet-harbour-87")
        .await
        .unwrap();
    assert_eq!(other.role, Role::Listener);

    let (ok, out) = run(
        &env,
        &["create-admin", "new-admin@example.com"],
        "cobalt-lantern-42\n",
    );
    assert!(ok, "{out}");
    assert!(out.contains("created"), "{out}");
    let LoginStep::Done(admin) =
        auth::login(&core, "new-admin@example.com", "cobalt-lantern-42", LOCAL)
            .await
            .unwrap()
    else {
        panic!("no 2FA")
    };
    assert_eq!(admin.role, Role::Admin);

    let (ok, out) = run(
        &env,
        &["create-admin", "owner@example.com"],
        "ignored-password-1\n",
    );
    assert!(ok, "{out}");
    assert!(out.contains("now an admin"), "{out}");
    assert!(
        auth::user_for_login(&core, &other.login_id)
            .await
            .unwrap()
            .unwrap()
            .role
            == Role::Admin
    );

    // A weak password is refused with the reason, and nothing changes.
    let (ok, out) = run(&env, &["reset-password", "owner@example.com"], "password\n");
    assert!(!ok);
    assert!(out.contains("weak password"), "{out}");
    let (ok, out) = run(
        &env,
        &["reset-password", "owner@example.com"],
        "amber-orchard-77\n",
    );
    assert!(ok, "{out}");
    assert!(
        auth::user_for_login(&core, &other.login_id)
            .await
            .unwrap()
            .is_none(),
        "sessions ended"
    );
    assert!(
        auth::login(&core, "owner@example.com", "amber-orchard-77", LOCAL)
            .await
            .is_ok()
    );
    let (ok, out) = run(
        &env,
        &["reset-password", "nobody@example.com"],
        "amber-orchard-77\n",
    );
    assert!(!ok);
    assert!(out.contains("not found"), "{out}");

    let log = backend::admin::audit_log(&core, &admin, 10).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["password.reset", "role.set", "user.create"]);
    assert!(log.iter().all(|e| e.actor_email.is_none()));
}

#[tokio::test]
async fn rotate_keys_from_the_command_line_keeps_old_tokens_valid_for_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let config = Backend::Sqlite.config(dir.path()).await;
    let env = env_of(&config);
    let core = backend::Core::init(config.clone()).await.unwrap();
    auth::signup(&core, "keys@example.com", "violet-harbour-87")
        .await
        .unwrap();
    let before = auth::api_tokens::issue_with_password(
        &core,
        "keys@example.com",
        "violet-harbour-87",
        None,
        LOCAL,
        None,
    )
    .await
    .unwrap();
    let old_api = core.keys.api.signing_kid().await.unwrap();
    let old_stream = core.keys.stream.signing_kid().await.unwrap();

    let (ok, out) = run(&env, &["rotate-keys"], "");
    assert!(ok, "{out}");
    assert!(out.contains("new api signing key"), "{out}");
    assert!(out.contains("new stream signing key"), "{out}");

    let after = backend::Core::init(config).await.unwrap();
    let new_api = after.keys.api.signing_kid().await.unwrap();
    assert_ne!(new_api, old_api);
    assert_ne!(after.keys.stream.signing_kid().await.unwrap(), old_stream);
    assert!(out.contains(&new_api), "{out}");
    // Tokens signed before the rotation still verify on a node started after it.
    assert!(
        auth::api_tokens::user_for_access_token(&after, &before.access_token)
            .await
            .unwrap()
            .is_some()
    );
    let detail: String =
        sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'keys.rotate'")
            .fetch_one(&after.db)
            .await
            .unwrap();
    assert!(detail.contains(&new_api), "{detail}");
}

/// `refrain scan` scans `REFRAIN_LIBRARY_DIRS` and prints the counts; without an admin
/// to own the tracks it fails with a reason.
#[tokio::test]
async fn scan_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let music = tempfile::tempdir().unwrap();
    std::fs::write(
        music.path().join("tune.mp3"),
        backend::testing::sine_mp3(1, &[("title", "Command Line Tune")]),
    )
    .unwrap();
    std::fs::write(music.path().join("fake.flac"), b"fLaC but nothing else").unwrap();
    let mut config = Backend::Sqlite.config(dir.path()).await;
    config.library.dirs = vec![music.path().to_path_buf()];
    let mut env = env_of(&config);
    env.push((
        "REFRAIN_LIBRARY_DIRS".into(),
        music.path().to_string_lossy().into_owned(),
    ));
    let core = backend::Core::init(config).await.unwrap();

    let (ok, out) = run(&env, &["scan"], "");
    assert!(!ok, "{out}");
    assert!(out.contains("no admin account"), "{out}");

    let admin = auth::signup(&core, "first@example.com", "violet-harbour-87")
        .await
        .unwrap();
    let (ok, out) = run(&env, &["scan"], "");
    assert!(ok, "{out}");
    assert!(
        out.contains("2 files seen, 1 new, 0 changed, 0 moved, 0 removed, 1 failed"),
        "{out}"
    );
    assert!(out.contains("fake.flac"), "{out}");
    let titles: Vec<String> = backend::library::list_tracks(&core, &admin)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.title)
        .collect();
    assert_eq!(titles, ["Command Line Tune"]);
    let (ok, out) = run(&env, &["scan"], "");
    assert!(ok, "{out}");
    assert!(out.contains("2 files seen, 0 new"), "{out}");
    // A folder from REFRAIN_LIBRARY_DIRS shows as such and is removed there, not here.
    let folders = backend::folders::list_folders(&core, &admin).await.unwrap();
    assert_eq!(folders.len(), 1);
    assert!(folders[0].configured);
    assert!(matches!(
        backend::folders::remove_folder(&core, &admin, &folders[0].id).await,
        Err(backend::Error::Invalid(_))
    ));
}
