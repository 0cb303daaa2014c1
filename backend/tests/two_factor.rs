//! Two-factor authentication on both databases: enrollment, the second login step, replay
//! and parallel submits, recovery codes, turning it off.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::two_factor::{self, PendingLogin};
use backend::auth::{self, CurrentUser, LoginStep, totp};
use backend::testing::Backend;
use backend::{Core, Error};
use std::sync::{Arc, Mutex};

const PW: &str = "violet-harbour-87";
const LOCAL: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

fn now() -> u64 {
    u64::try_from(backend::now_ms() / 1000).unwrap()
}

/// A code for `steps_ahead` time steps from now (each step can be used once).
fn code(secret: &[u8], steps_ahead: u64) -> String {
    totp::code(secret, now() + steps_ahead * totp::STEP)
}

/// Signs up and turns two-factor on; returns the user, the raw secret, the recovery codes
/// and the code that confirmed enrollment.
async fn enrolled(core: &Core, email: &str) -> (CurrentUser, Vec<u8>, Vec<String>, String) {
    let user = auth::signup(core, email, PW).await.unwrap();
    let e = two_factor::begin_enrollment(core, &user).await.unwrap();
    let secret = totp::decode_secret(&e.secret).unwrap();
    assert!(e.uri.contains(&e.secret));
    assert!(e.qr_svg.starts_with("<svg"));
    let first = code(&secret, 0);
    let codes = two_factor::confirm_enrollment(core, &user, &first)
        .await
        .unwrap();
    (user, secret, codes, first)
}

async fn pending(core: &Core, email: &str) -> PendingLogin {
    match auth::login(core, email, PW, LOCAL).await.unwrap() {
        LoginStep::NeedsCode(p) => p,
        LoginStep::Done(_) => panic!("two-factor is on: the password alone must not log in"),
    }
}

/// Every log line of this test process: one global JSON subscriber, installed at the
/// first capture. (A per-thread default is not enough: tracing caches per call site
/// whether anyone listens, and a site first reached by a test without a subscriber could
/// stay silent for the one that has.)
fn process_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || LogSink(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        buf
    })
    .clone()
}

/// The security events (log target `refrain::security`) about one account written since
/// the capture began, each as the JSON object of its fields (tests run in parallel: each
/// reads its own account's).
struct SecurityLog {
    buf: Arc<Mutex<Vec<u8>>>,
    start: usize,
    account: String,
}

impl SecurityLog {
    fn capture(account: &str) -> SecurityLog {
        let buf = process_log();
        let start = buf.lock().unwrap().len();
        SecurityLog {
            buf,
            start,
            account: account.to_string(),
        }
    }

    fn events(&self) -> Vec<serde_json::Value> {
        let text = String::from_utf8(self.buf.lock().unwrap()[self.start..].to_vec()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|e| e["target"] == backend::auth::audit::TARGET)
            .map(|e| e["fields"].clone())
            .filter(|f| f["account"] == self.account.as_str())
            .collect()
    }

    /// How many events of kind `security` with this `outcome` were written.
    fn count(&self, security: &str, outcome: &str) -> usize {
        self.events()
            .iter()
            .filter(|e| e["security"] == security && e["outcome"] == outcome)
            .count()
    }
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The time step of the last code the user's authenticator code was accepted for.
async fn last_step(core: &Core, user: &CurrentUser) -> i64 {
    sqlx::query_scalar("SELECT totp_last_step FROM users WHERE id = $1")
        .bind(&user.id)
        .fetch_one(&core.db)
        .await
        .unwrap()
}

fn step_i64(step: u64) -> i64 {
    i64::try_from(step).unwrap()
}

async fn enrollment_needs_a_valid_code_and_issues_ten_recovery_codes(b: Backend) {
    let (core, _d) = b.core().await;
    let user = auth::signup(&core, "enrol@example.com", PW).await.unwrap();
    let e = two_factor::begin_enrollment(&core, &user).await.unwrap();
    let secret = totp::decode_secret(&e.secret).unwrap();
    let wrong = two_factor::confirm_enrollment(&core, &user, &code(&secret, 5)).await;
    assert!(matches!(wrong, Err(Error::BadCode)), "{wrong:?}");
    // Not on yet: the password alone still logs in.
    assert!(matches!(
        auth::login(&core, "enrol@example.com", PW, LOCAL)
            .await
            .unwrap(),
        LoginStep::Done(_)
    ));
    let codes = two_factor::confirm_enrollment(&core, &user, &code(&secret, 0))
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    let unique: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(unique.len(), 10);
    let s = two_factor::status(&core, &user).await.unwrap();
    assert!(s.enabled);
    assert_eq!(s.recovery_codes_left, 10);
    // Recovery codes are stored hashed, never as issued.
    let stored: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM recovery_codes")
        .fetch_all(&core.db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 10);
    assert!(stored.iter().all(|h| !codes.contains(h) && h.len() == 64));
    // A second enrollment is refused while it is on.
    assert!(matches!(
        two_factor::begin_enrollment(&core, &user).await,
        Err(Error::Invalid(_))
    ));
}

async fn login_takes_two_steps_and_a_code_works_once(b: Backend) {
    let (core, _d) = b.core().await;
    let (user, secret, _, first) = enrolled(&core, "two@example.com").await;
    let mut p = pending(&core, "two@example.com").await;
    // The code used to enroll is spent.
    assert!(matches!(
        two_factor::complete_login(&core, &mut p, &first).await,
        Err(Error::BadCode)
    ));
    let done = two_factor::complete_login(&core, &mut p, &code(&secret, 1))
        .await
        .unwrap();
    assert_eq!(done.id, user.id);
    assert!(
        auth::user_for_login(&core, &done.login_id)
            .await
            .unwrap()
            .is_some()
    );
    let mut again = pending(&core, "two@example.com").await;
    assert!(matches!(
        two_factor::complete_login(&core, &mut again, &code(&secret, 1)).await,
        Err(Error::BadCode)
    ));
    // An older step is refused even though it is within the drift window.
    assert!(matches!(
        two_factor::complete_login(&core, &mut again, &code(&secret, 0)).await,
        Err(Error::BadCode)
    ));
}

async fn parallel_submits_of_one_code_let_exactly_one_through(b: Backend) {
    let (core, _d) = b.core().await;
    let (user, secret, _, _) = enrolled(&core, "race@example.com").await;
    let step = (now() + totp::STEP) / totp::STEP;
    let c = totp::code(&secret, step * totp::STEP);
    let tries = (0..8).map(|_| {
        let (core, id, c) = (core.clone(), user.id.clone(), c.clone());
        tokio::spawn(async move { two_factor::use_code(&core, &id, &c).await })
    });
    let log = SecurityLog::capture(&user.id);
    let results = futures::future::join_all(tries).await;
    let ok = results
        .iter()
        .filter(|r| r.as_ref().unwrap().is_ok())
        .count();
    assert_eq!(ok, 1, "{results:?}");
    // The losers are refused as replays, each logged; the step moved once, to the code's.
    assert_eq!(
        log.count("second_factor", "replayed"),
        7,
        "{:?}",
        log.events()
    );
    assert_eq!(last_step(&core, &user).await, step_i64(step));
}

async fn recovery_codes_are_single_use(b: Backend) {
    let (core, _d) = b.core().await;
    let (user, _, codes, _) = enrolled(&core, "recover@example.com").await;
    let mut p = pending(&core, "recover@example.com").await;
    // Typed in capitals with spaces: still the same code.
    let typed = codes[3].to_uppercase().replace('-', " - ");
    two_factor::complete_login(&core, &mut p, &typed)
        .await
        .unwrap();
    let mut p = pending(&core, "recover@example.com").await;
    assert!(matches!(
        two_factor::complete_login(&core, &mut p, &codes[3]).await,
        Err(Error::BadCode)
    ));
    two_factor::complete_login(&core, &mut p, &codes[4])
        .await
        .unwrap();
    assert_eq!(
        two_factor::status(&core, &user)
            .await
            .unwrap()
            .recovery_codes_left,
        8
    );
}

async fn a_pending_login_expires_after_too_many_wrong_codes(b: Backend) {
    let (core, _d) = b.core().await;
    let (_, secret, _, _) = enrolled(&core, "guess@example.com").await;
    let mut p = pending(&core, "guess@example.com").await;
    for guess in ["000000", "111111", "222222", "333333", "444444"] {
        let r = two_factor::complete_login(&core, &mut p, guess).await;
        assert!(matches!(r, Err(Error::BadCode)), "{r:?}");
    }
    // Even the right code no longer helps: the password step must be repeated.
    assert!(matches!(
        two_factor::complete_login(&core, &mut p, &code(&secret, 1)).await,
        Err(Error::Unauthenticated)
    ));
    let mut stale = pending(&core, "guess@example.com").await;
    stale.started_at -= two_factor::PENDING_TTL_MS + 1;
    assert!(matches!(
        two_factor::complete_login(&core, &mut stale, &code(&secret, 1)).await,
        Err(Error::Unauthenticated)
    ));
}

async fn code_guessing_across_logins_is_slowed_down(b: Backend) {
    let (core, _d) = b.core().await;
    let (_, secret, _, _) = enrolled(&core, "slow@example.com").await;
    for _ in 0..=backend::auth::throttle::ACCOUNT_FREE {
        let mut p = pending(&core, "slow@example.com").await;
        let r = two_factor::complete_login(&core, &mut p, "999999").await;
        assert!(matches!(r, Err(Error::BadCode)), "{r:?}");
    }
    let mut p = pending(&core, "slow@example.com").await;
    let r = two_factor::complete_login(&core, &mut p, &code(&secret, 1)).await;
    assert!(matches!(r, Err(Error::Throttled { .. })), "{r:?}");
}

async fn turning_it_off_or_new_codes_need_password_and_code(b: Backend) {
    let (core, _d) = b.core().await;
    let (user, secret, old, _) = enrolled(&core, "off@example.com").await;
    assert!(matches!(
        two_factor::regenerate_recovery_codes(&core, &user, "wrong-password-1", &code(&secret, 1))
            .await,
        Err(Error::BadCredentials)
    ));
    assert!(matches!(
        two_factor::regenerate_recovery_codes(&core, &user, PW, "123456").await,
        Err(Error::BadCode)
    ));
    let fresh = two_factor::regenerate_recovery_codes(&core, &user, PW, &code(&secret, 1))
        .await
        .unwrap();
    assert_eq!(fresh.len(), 10);
    // The old codes stopped working.
    assert!(matches!(
        two_factor::use_code(&core, &user.id, &old[0]).await,
        Err(Error::BadCode)
    ));
    assert!(matches!(
        two_factor::disable(&core, &user, PW, "not-a-code").await,
        Err(Error::BadCode)
    ));
    two_factor::disable(&core, &user, PW, &fresh[0])
        .await
        .unwrap();
    assert!(!two_factor::status(&core, &user).await.unwrap().enabled);
    assert!(matches!(
        auth::login(&core, "off@example.com", PW, LOCAL)
            .await
            .unwrap(),
        LoginStep::Done(_)
    ));
}

/// TOTP secrets are stored sealed with the server key and bound to their user: the
/// database alone holds no secret that makes codes, one stored in clear by an older
/// version is sealed at the first start of this one (once per database), and a sealed secret moved to another user's row
/// does not open there.
async fn secrets_are_sealed_at_rest(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let config = b.config(dir.path()).await;
    let core = Core::init(config.clone()).await.unwrap();
    let stored = |email: &'static str| {
        let db = core.db.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT totp_secret FROM users WHERE email = $1")
                .bind(email)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    let (_, secret, _, _) = enrolled(&core, "sealed@example.com").await;
    let sealed = stored("sealed@example.com").await;
    assert!(sealed.starts_with("v1."), "{sealed}");
    assert!(!sealed.contains(&totp::encode_secret(&secret)));

    // A secret in clear, as versions before this one stored it.
    let (old, old_secret, _, _) = enrolled(&core, "old@example.com").await;
    sqlx::query("UPDATE users SET totp_secret = $2 WHERE id = $1")
        .bind(&old.id)
        .bind(totp::encode_secret(&old_secret))
        .execute(&core.db)
        .await
        .unwrap();
    // The pass ran once already: a start-up does not scan the users again.
    Core::init(config.clone()).await.unwrap();
    assert!(!stored("old@example.com").await.starts_with("v1."));
    // A database from before this version has not had it: its first start seals them.
    sqlx::query("DELETE FROM maintenance_done")
        .execute(&core.db)
        .await
        .unwrap();
    let restarted = Core::init(config).await.unwrap();
    let resealed = stored("old@example.com").await;
    assert!(resealed.starts_with("v1."), "{resealed}");
    let mut p = pending(&restarted, "old@example.com").await;
    two_factor::complete_login(&restarted, &mut p, &code(&old_secret, 1))
        .await
        .unwrap();

    // Someone with write access to the database swaps in the other user's sealed secret
    // (whose codes they know): it does not open for this user.
    sqlx::query("UPDATE users SET totp_secret = $2 WHERE id = $1")
        .bind(&old.id)
        .bind(&sealed)
        .execute(&core.db)
        .await
        .unwrap();
    let mut p = pending(&restarted, "old@example.com").await;
    let r = two_factor::complete_login(&restarted, &mut p, &code(&secret, 2)).await;
    assert!(r.is_err(), "a moved secret worked: {r:?}");
}

/// Recovery codes carry at least 112 random bits (ASVS 6.5.2), from the look-alike-free
/// alphabet, in groups of five.
async fn recovery_codes_carry_112_bits(b: Backend) {
    let (core, _d) = b.core().await;
    let (_, _, codes, _) = enrolled(&core, "bits@example.com").await;
    assert!(two_factor::recovery_code_bits() >= 112.0);
    for c in &codes {
        let plain: String = c.chars().filter(|ch| *ch != '-').collect();
        assert_eq!(plain.len(), two_factor::RECOVERY_CODE_CHARS, "{c}");
        assert!(
            plain
                .chars()
                .all(|ch| "abcdefghjkmnpqrstuvwxyz23456789".contains(ch)),
            "{c}"
        );
        assert_eq!(c.split('-').count(), 5, "{c}");
    }
}

/// After a hundred wrong authenticator codes in a row, even the right one is refused
/// until a recovery code is used; the recovery code resets the count.
async fn a_hundred_wrong_codes_need_a_recovery_code(b: Backend) {
    let (core, _d) = b.core().await;
    let (user, secret, codes, _) = enrolled(&core, "ceiling@example.com").await;
    let right = code(&secret, 1);
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    for _ in 0..two_factor::MAX_TOTP_FAILURES {
        let r = two_factor::use_code(&core, &user.id, wrong).await;
        assert!(matches!(r, Err(Error::BadCode)), "{r:?}");
    }
    match two_factor::use_code(&core, &user.id, &right).await {
        Err(Error::Invalid(m)) => assert!(m.contains("recovery code"), "{m}"),
        other => panic!("the right code after 100 wrong ones: {other:?}"),
    }
    two_factor::use_code(&core, &user.id, &codes[0])
        .await
        .unwrap();
    two_factor::use_code(&core, &user.id, &right).await.unwrap();
}

/// Recovery codes made before codes carried 124 bits (50-bit codes kept as unsalted
/// SHA-256) are wrapped in Argon2id at start-up, and still work, once.
async fn older_recovery_codes_are_wrapped_in_argon2id(b: Backend) {
    let (core, _d) = b.core().await;
    let (user, _, _, _) = enrolled(&core, "legacy@example.com").await;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(&user.id)
        .execute(&core.db)
        .await
        .unwrap();
    let sha = backend::auth::sha256_hex("k7m2q9xwvt");
    sqlx::query(
        "INSERT INTO recovery_codes (user_id, code_hash, created_at, scheme) VALUES ($1, $2, 1, 'legacy')",
    )
    .bind(&user.id)
    .bind(&sha)
    .execute(&core.db)
    .await
    .unwrap();
    two_factor::wrap_legacy_recovery_codes(&core.db)
        .await
        .unwrap();
    let (stored, scheme): (String, String) =
        sqlx::query_as("SELECT code_hash, scheme FROM recovery_codes WHERE user_id = $1")
            .bind(&user.id)
            .fetch_one(&core.db)
            .await
            .unwrap();
    assert_eq!(scheme, "argon2id");
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(!stored.contains(&sha));
    two_factor::use_code(&core, &user.id, "K7M2Q-9XWVT")
        .await
        .unwrap();
    assert!(matches!(
        two_factor::use_code(&core, &user.id, "k7m2q-9xwvt").await,
        Err(Error::BadCode)
    ));
}

/// Matrix row 5, through the login's second step: a valid code works once; the same code
/// again, and then a code of the step before (valid by the clock, never used, but older
/// than the one used), are refused, and each refusal is a security event (`second_factor`,
/// outcome `replayed`, and a refused sign-in). `totp_last_step` stays at the used step.
async fn a_code_works_once_and_replays_are_refused_and_logged(b: Backend) {
    let (core, _d) = b.core().await;
    let (user, secret, _, _) = enrolled(&core, "replay@example.com").await;
    let step = now() / totp::STEP;
    // As though enrolled long ago: the steps about now are all unused.
    sqlx::query("UPDATE users SET totp_last_step = $1 WHERE id = $2")
        .bind(step_i64(step) - 5)
        .bind(&user.id)
        .execute(&core.db)
        .await
        .unwrap();
    let current = totp::code(&secret, step * totp::STEP);
    let previous = totp::code(&secret, (step - 1) * totp::STEP);
    let log = SecurityLog::capture(&user.id);
    let mut p = pending(&core, "replay@example.com").await;
    let done = two_factor::complete_login(&core, &mut p, &current)
        .await
        .unwrap();
    assert_eq!(done.id, user.id);
    assert_eq!(last_step(&core, &user).await, step_i64(step));
    assert_eq!(log.count("second_factor", "replayed"), 0);

    let mut p = pending(&core, "replay@example.com").await;
    let r = two_factor::complete_login(&core, &mut p, &current).await;
    assert!(matches!(r, Err(Error::BadCode)), "{r:?}");
    assert_eq!(
        log.count("second_factor", "replayed"),
        1,
        "{:?}",
        log.events()
    );
    let r = two_factor::complete_login(&core, &mut p, &previous).await;
    assert!(matches!(r, Err(Error::BadCode)), "{r:?}");
    // A replay while `previous` is still within the accepted drift (the clock did not
    // pass into a second later step meanwhile); refused as out of the window otherwise.
    let expected = if now() / totp::STEP <= step {
        ("replayed", 2)
    } else {
        ("refused", 1)
    };
    assert_eq!(log.count("second_factor", expected.0), expected.1);
    assert_eq!(log.count("sign_in", "refused"), 2, "{:?}", log.events());
    assert_eq!(log.count("sign_in", "success"), 1);
    assert_eq!(last_step(&core, &user).await, step_i64(step));
    // The refusals name the account, and no event carries a code.
    for e in log.events() {
        if e["security"] == "second_factor" {
            assert_eq!(e["account"], user.id.as_str());
        }
        let text = e.to_string();
        assert!(
            !text.contains(&current) && !text.contains(&previous),
            "{text}"
        );
    }
}

/// Matrix row 7: one recovery code submitted in parallel lets exactly one submit through,
/// for a current code (kept as SHA-256) and an older one (kept as Argon2id) alike.
async fn parallel_submits_of_one_recovery_code_let_exactly_one_through(b: Backend) {
    let (core, _d) = b.core().await;
    let (user, _, codes, _) = enrolled(&core, "race-recovery@example.com").await;
    let race = |code: String| {
        let tries = (0..8).map(|_| {
            let (core, id, c) = (core.clone(), user.id.clone(), code.clone());
            tokio::spawn(async move { two_factor::use_code(&core, &id, &c).await })
        });
        futures::future::join_all(tries)
    };
    let results = race(codes[0].clone()).await;
    let won: Vec<_> = results
        .iter()
        .filter(|r| {
            matches!(
                r.as_ref().unwrap(),
                Ok(backend::auth::audit::Factor::RecoveryCode)
            )
        })
        .collect();
    assert_eq!(won.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| matches!(r.as_ref().unwrap(), Ok(_) | Err(Error::BadCode))),
        "{results:?}"
    );
    assert_eq!(
        two_factor::status(&core, &user)
            .await
            .unwrap()
            .recovery_codes_left,
        9
    );
    // An older code, wrapped in Argon2id (checked by hash, then used up by its row).
    let sha = backend::auth::sha256_hex("k7m2q9xwvt");
    sqlx::query(
        "INSERT INTO recovery_codes (user_id, code_hash, created_at, scheme) VALUES ($1, $2, 1, 'legacy')",
    )
    .bind(&user.id)
    .bind(&sha)
    .execute(&core.db)
    .await
    .unwrap();
    two_factor::wrap_legacy_recovery_codes(&core.db)
        .await
        .unwrap();
    let results = race("k7m2q-9xwvt".to_string()).await;
    let ok = results
        .iter()
        .filter(|r| r.as_ref().unwrap().is_ok())
        .count();
    assert_eq!(ok, 1, "{results:?}");
    assert_eq!(
        two_factor::status(&core, &user)
            .await
            .unwrap()
            .recovery_codes_left,
        9
    );
}

/// Matrix row 6: six-digit guesses at the login's second step count toward the ceiling
/// of [`two_factor::MAX_TOTP_FAILURES`] (100) wrong codes in a row, across pending logins
/// and whatever the throttle allows (its waits are skipped here); past it even the right
/// code is refused until a recovery code is used.
async fn code_guesses_at_the_login_count_toward_the_hundred(b: Backend) {
    let (core, _d) = b.core().await;
    let (user, secret, codes, _) = enrolled(&core, "hundred@example.com").await;
    // A guess that is no code of any step the test's minutes could accept.
    let mut window: Vec<String> = (0..4).map(|i| code(&secret, i)).collect();
    window.push(totp::code(&secret, now() - totp::STEP));
    let wrong = (0..10)
        .map(|d| d.to_string().repeat(totp::DIGITS))
        .find(|c| !window.contains(c))
        .unwrap();
    let mut p = two_factor::pending_for(&user.id);
    for i in 0..two_factor::MAX_TOTP_FAILURES {
        if p.attempts >= two_factor::PENDING_MAX_ATTEMPTS {
            p = two_factor::pending_for(&user.id);
        }
        sqlx::query("DELETE FROM auth_throttle")
            .execute(&core.db)
            .await
            .unwrap();
        let r = two_factor::complete_login(&core, &mut p, &wrong).await;
        assert!(matches!(r, Err(Error::BadCode)), "guess {i}: {r:?}");
    }
    assert_eq!(
        backend::auth::repo::two_factor::totp_failures(&core.db, &user.id)
            .await
            .unwrap(),
        two_factor::MAX_TOTP_FAILURES
    );
    let mut p = two_factor::pending_for(&user.id);
    match two_factor::complete_login(&core, &mut p, &code(&secret, 1)).await {
        Err(Error::Invalid(m)) => assert!(m.contains("recovery code"), "{m}"),
        other => panic!("the right code after 100 wrong ones: {other:?}"),
    }
    let done = two_factor::complete_login(&core, &mut p, &codes[0])
        .await
        .unwrap();
    assert_eq!(done.id, user.id);
}

/// Matrix row 6, "server time only": the second step takes the code alone; the time step
/// it is checked against comes from the server's clock (`complete_login` and `use_code`
/// have no time parameter, and the pending login's start is the server's). A code that
/// is right at the time a client's skewed clock claims, two or more steps from the
/// server's, is refused; the code of the server's time works. (No libfaketime: the TOTP
/// wrapper takes `now`, see `totp::tests::clock_skew_within_one_step_is_accepted_and_two_is_not`,
/// and here the client's clock is what is skewed.)
async fn codes_are_checked_against_the_server_clock_only(b: Backend) {
    let (core, _d) = b.core().await;
    let (user, secret, _, _) = enrolled(&core, "clock@example.com").await;
    let at = |offset: i64| {
        let t = i64::try_from(now()).unwrap() + offset;
        totp::code(&secret, u64::try_from(t).unwrap())
    };
    let step = i64::try_from(totp::STEP).unwrap();
    let right = code(&secret, 1);
    // Behind by two steps and more; ahead by three and more (ahead by two could come
    // within one step of the server's clock should it pass a step boundary meanwhile).
    for offset in [-2 * step, -61, -10 * step, 3 * step, 10 * step, 3600] {
        let claimed = at(offset);
        if claimed == right {
            continue;
        }
        let mut p = two_factor::pending_for(&user.id);
        let r = two_factor::complete_login(&core, &mut p, &claimed).await;
        assert!(matches!(r, Err(Error::BadCode)), "{offset} s: {r:?}");
        sqlx::query("DELETE FROM auth_throttle")
            .execute(&core.db)
            .await
            .unwrap();
    }
    let mut p = two_factor::pending_for(&user.id);
    let done = two_factor::complete_login(&core, &mut p, &right)
        .await
        .unwrap();
    assert_eq!(done.id, user.id);
}

backend::on_both_databases!(
    a_code_works_once_and_replays_are_refused_and_logged,
    parallel_submits_of_one_recovery_code_let_exactly_one_through,
    code_guesses_at_the_login_count_toward_the_hundred,
    codes_are_checked_against_the_server_clock_only,
    recovery_codes_carry_112_bits,
    a_hundred_wrong_codes_need_a_recovery_code,
    older_recovery_codes_are_wrapped_in_argon2id,
    secrets_are_sealed_at_rest,
    enrollment_needs_a_valid_code_and_issues_ten_recovery_codes,
    login_takes_two_steps_and_a_code_works_once,
    parallel_submits_of_one_code_let_exactly_one_through,
    recovery_codes_are_single_use,
    a_pending_login_expires_after_too_many_wrong_codes,
    turning_it_off_or_new_codes_need_password_and_code,
    code_guessing_across_logins_is_slowed_down,
);
