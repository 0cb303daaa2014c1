//! Account rules against a fresh SQLite database per test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::Error;
use backend::auth::{self, Role};
use backend::testing::Backend;

const PW: &str = "violet-harbour-87";
const LOCAL: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

async fn first_account_is_admin_and_later_ones_are_listeners(b: Backend) {
    let (core, _d) = b.core().await;
    let a = auth::signup(&core, "first@example.com", PW).await.unwrap();
    let b = auth::signup(&core, "second@example.com", PW).await.unwrap();
    assert_eq!(a.role, Role::Admin);
    assert_eq!(b.role, Role::Listener);
}

async fn duplicate_email_is_refused_whatever_its_case(b: Backend) {
    let (core, _d) = b.core().await;
    auth::signup(&core, "Dup@Example.com", PW).await.unwrap();
    let e = auth::signup(&core, "  dup@example.COM ", PW)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::EmailTaken), "{e:?}");
}

async fn weak_passwords_are_refused_with_a_reason(b: Backend) {
    let (core, _d) = b.core().await;
    for pw in [
        "short1",
        "password123",
        "Qwertyuiop",
        "violet-harbour",
        &"x".repeat(257),
    ] {
        let e = auth::signup(&core, "weak@example.com", pw)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::WeakPassword(_)), "{pw}: {e:?}");
    }
    // Nothing was created by the refused attempts.
    assert!(
        auth::repo::find_by_email(&core.db, "weak@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

async fn invalid_email_is_refused(b: Backend) {
    let (core, _d) = b.core().await;
    for email in ["", "no-at-sign", "a@b", "a b@example.com"] {
        let e = auth::signup(&core, email, PW).await.unwrap_err();
        assert!(matches!(e, Error::Invalid(_)), "{email}: {e:?}");
    }
}

async fn wrong_password_and_unknown_email_get_the_same_answer(b: Backend) {
    let (core, _d) = b.core().await;
    auth::signup(&core, "someone@example.com", PW)
        .await
        .unwrap();
    let wrong = auth::login(&core, "someone@example.com", "violet-harbour-88", LOCAL)
        .await
        .unwrap_err();
    let unknown = auth::login(&core, "nobody@example.com", PW, LOCAL)
        .await
        .unwrap_err();
    assert!(matches!(wrong, Error::BadCredentials), "{wrong:?}");
    assert!(matches!(unknown, Error::BadCredentials), "{unknown:?}");
    assert_eq!(wrong.to_string(), unknown.to_string());
}

async fn login_opens_a_new_login_and_logout_ends_it(b: Backend) {
    let (core, _d) = b.core().await;
    let signed_up = auth::signup(&core, "me@example.com", PW).await.unwrap();
    let auth::LoginStep::Done(logged_in) = auth::login(&core, "ME@example.com", PW, LOCAL)
        .await
        .unwrap()
    else {
        panic!("no second factor is enrolled")
    };
    assert_eq!(signed_up.id, logged_in.id);
    assert_ne!(signed_up.login_id, logged_in.login_id);
    assert!(
        auth::user_for_login(&core, &logged_in.login_id)
            .await
            .unwrap()
            .is_some()
    );
    auth::logout(&core, &logged_in.login_id).await.unwrap();
    assert!(
        auth::user_for_login(&core, &logged_in.login_id)
            .await
            .unwrap()
            .is_none()
    );
    // The other login is untouched.
    assert!(
        auth::user_for_login(&core, &signed_up.login_id)
            .await
            .unwrap()
            .is_some()
    );
}

async fn passwords_are_stored_as_argon2id(b: Backend) {
    let (core, _d) = b.core().await;
    auth::signup(&core, "hash@example.com", PW).await.unwrap();
    let row = auth::repo::find_by_email(&core.db, "hash@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(row.password_hash.starts_with("$argon2id$"));
    assert!(!row.password_hash.contains(PW));
}

async fn repeated_failures_slow_down_the_account_then_expire(b: Backend) {
    use backend::auth::throttle;
    let (core, _d) = b.core().await;
    auth::signup(&core, "target@example.com", PW).await.unwrap();
    for _ in 0..throttle::ACCOUNT_FREE {
        let r = auth::login(&core, "target@example.com", "wrong-guess-123", LOCAL).await;
        assert!(matches!(r, Err(Error::BadCredentials)), "{r:?}");
    }
    // One more failure past the allowance: from now on even the right password waits.
    let r = auth::login(&core, "Target@Example.com", "wrong-guess-123", LOCAL).await;
    assert!(matches!(r, Err(Error::BadCredentials)), "{r:?}");
    let r = auth::login(&core, "target@example.com", PW, LOCAL).await;
    assert!(
        matches!(r, Err(Error::Throttled { retry_after_secs }) if retry_after_secs >= 1),
        "{r:?}"
    );
    // Another account from the same address is not affected.
    auth::signup(&core, "bystander@example.com", PW)
        .await
        .unwrap();
    assert!(
        auth::login(&core, "bystander@example.com", PW, LOCAL)
            .await
            .is_ok()
    );
    // The wait passes (simulated: no sleeping in tests); the right password works and
    // clears the account's count.
    sqlx::query("UPDATE auth_throttle SET blocked_until = 0")
        .execute(&core.db)
        .await
        .unwrap();
    assert!(
        auth::login(&core, "target@example.com", PW, LOCAL)
            .await
            .is_ok()
    );
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM auth_throttle WHERE key = $1")
        .bind("acct:target@example.com")
        .fetch_one(&core.db)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

async fn an_unknown_email_is_throttled_exactly_like_a_real_one(b: Backend) {
    use backend::auth::throttle;
    let (core, _d) = b.core().await;
    for _ in 0..=throttle::ACCOUNT_FREE {
        let r = auth::login(&core, "ghost@example.com", PW, LOCAL).await;
        assert!(matches!(r, Err(Error::BadCredentials)), "{r:?}");
    }
    let r = auth::login(&core, "ghost@example.com", PW, LOCAL).await;
    assert!(matches!(r, Err(Error::Throttled { .. })), "{r:?}");
}

async fn one_address_guessing_many_accounts_is_slowed_down(b: Backend) {
    use backend::auth::throttle;
    let (core, _d) = b.core().await;
    let attacker: std::net::IpAddr = "203.0.113.50".parse().unwrap();
    auth::signup(&core, "victim@example.com", PW).await.unwrap();
    for i in 0..=throttle::ADDRESS_FREE {
        let r = auth::login(&core, &format!("user{i}@example.com"), PW, attacker).await;
        assert!(matches!(r, Err(Error::BadCredentials)), "{r:?}");
    }
    let r = auth::login(&core, "victim@example.com", PW, attacker).await;
    assert!(matches!(r, Err(Error::Throttled { .. })), "{r:?}");
    // The victim, from their own address, is not locked out.
    assert!(
        auth::login(&core, "victim@example.com", PW, LOCAL)
            .await
            .is_ok()
    );
    // The window passing forgets everything.
    sqlx::query("UPDATE auth_throttle SET first_failure_at = first_failure_at - $1")
        .bind(throttle::WINDOW_MS)
        .execute(&core.db)
        .await
        .unwrap();
    assert!(
        auth::login(&core, "victim@example.com", PW, attacker)
            .await
            .is_ok()
    );
}

async fn sessions_can_be_listed_and_ended_and_time_out(b: Backend) {
    use backend::auth::logins;
    let (core, _d) = b.core().await;
    let first = auth::signup(&core, "devices@example.com", PW)
        .await
        .unwrap();
    let auth::LoginStep::Done(second) = auth::login(&core, "devices@example.com", PW, LOCAL)
        .await
        .unwrap()
    else {
        panic!("no 2FA")
    };
    logins::describe(
        &core,
        &second.login_id,
        Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"),
        Some(LOCAL),
    )
    .await
    .unwrap();
    let list = logins::list(&core, &second).await.unwrap();
    assert_eq!(list.len(), 2);
    let me = list.iter().find(|l| l.current).unwrap();
    assert_eq!(me.id, second.login_id);
    assert_eq!(me.device, "Chrome on Linux");
    assert_eq!(me.address.as_deref(), Some("127.0.0.1"));

    // Someone else cannot end my login; I can.
    let other = auth::signup(&core, "other@example.com", PW).await.unwrap();
    assert!(matches!(
        logins::end(&core, &other, &first.login_id).await,
        Err(Error::NotFound(_))
    ));
    logins::end(&core, &second, &first.login_id).await.unwrap();
    assert!(
        auth::user_for_login(&core, &first.login_id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(logins::list(&core, &second).await.unwrap().len(), 1);

    // Idle and absolute time-outs (simulated by moving the login's times back).
    let idle = core.config.auth.session_ttl_secs * 1000 + 1;
    sqlx::query("UPDATE logins SET last_seen_at = last_seen_at - $1, created_at = created_at - $1 WHERE id = $2")
        .bind(idle)
        .bind(&second.login_id)
        .execute(&core.db)
        .await
        .unwrap();
    assert!(
        auth::user_for_login(&core, &second.login_id)
            .await
            .unwrap()
            .is_none()
    );
    let auth::LoginStep::Done(third) = auth::login(&core, "devices@example.com", PW, LOCAL)
        .await
        .unwrap()
    else {
        panic!("no 2FA")
    };
    let absolute = core.config.auth.session_absolute_secs * 1000 + 1;
    sqlx::query("UPDATE logins SET created_at = created_at - $1 WHERE id = $2")
        .bind(absolute)
        .bind(&third.login_id)
        .execute(&core.db)
        .await
        .unwrap();
    assert!(
        auth::user_for_login(&core, &third.login_id)
            .await
            .unwrap()
            .is_none(),
        "however active, a login ends after the absolute time-out"
    );
}

async fn changing_the_password_ends_the_other_logins(b: Backend) {
    use backend::auth::logins;
    let (core, _d) = b.core().await;
    let phone = auth::signup(&core, "change@example.com", PW).await.unwrap();
    let auth::LoginStep::Done(laptop) = auth::login(&core, "change@example.com", PW, LOCAL)
        .await
        .unwrap()
    else {
        panic!("no 2FA")
    };
    assert!(matches!(
        logins::change_password(
            &core,
            &laptop,
            "not-my-password",
            "new-violet-harbour-1",
            true
        )
        .await,
        Err(Error::BadCredentials)
    ));
    assert!(matches!(
        logins::change_password(&core, &laptop, PW, "password", true).await,
        Err(Error::WeakPassword(_))
    ));
    logins::change_password(&core, &laptop, PW, "new-violet-harbour-1", true)
        .await
        .unwrap();
    assert!(
        auth::user_for_login(&core, &phone.login_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        auth::user_for_login(&core, &laptop.login_id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        auth::login(&core, "change@example.com", PW, LOCAL).await,
        Err(Error::BadCredentials)
    ));
    assert!(
        auth::login(&core, "change@example.com", "new-violet-harbour-1", LOCAL)
            .await
            .is_ok()
    );
}

/// Guesses sent in parallel each count before any of them is checked: no more than the
/// free tries and the one that starts the wait get their password checked.
async fn parallel_guesses_cannot_slip_past_the_limit(b: Backend) {
    use backend::auth::throttle;
    let (core, _d) = b.core().await;
    auth::signup(&core, "target@example.com", PW).await.unwrap();
    let tries: Vec<_> = (0..20)
        .map(|_| {
            let core = core.clone();
            tokio::spawn(async move {
                auth::login(&core, "target@example.com", "wrong-guess-123", LOCAL).await
            })
        })
        .collect();
    let (mut checked, mut throttled) = (0, 0);
    for t in tries {
        match t.await.unwrap() {
            Err(Error::BadCredentials) => checked += 1,
            Err(Error::Throttled { .. }) => throttled += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(checked + throttled, 20);
    assert!(
        checked <= throttle::ACCOUNT_FREE + 1,
        "{checked} guesses were checked in parallel"
    );
}

/// Re-entering the current password (to change it, delete the account, turn two-factor
/// off...) is throttled too, on its own count: the owner's login is not locked.
async fn current_password_checks_are_throttled_apart_from_the_login(b: Backend) {
    use backend::auth::{logins, throttle};
    let (core, _d) = b.core().await;
    let user = auth::signup(&core, "owner@example.com", PW).await.unwrap();
    for _ in 0..=throttle::ACCOUNT_FREE {
        let r = logins::change_password(&core, &user, "a-guess-1234", "new-violet-harbour-1", true)
            .await;
        assert!(matches!(r, Err(Error::BadCredentials)), "{r:?}");
    }
    let r = logins::change_password(&core, &user, PW, "new-violet-harbour-1", true).await;
    assert!(matches!(r, Err(Error::Throttled { .. })), "{r:?}");
    assert!(
        auth::login(&core, "owner@example.com", PW, LOCAL)
            .await
            .is_ok()
    );
    // After the wait, the right password works and clears the count.
    sqlx::query("UPDATE auth_throttle SET blocked_until = 0")
        .execute(&core.db)
        .await
        .unwrap();
    logins::change_password(&core, &user, PW, "new-violet-harbour-1", true)
        .await
        .unwrap();
}

/// Every sign-up hashes a password: one address gets a few, then waits.
async fn sign_ups_from_one_address_are_slowed_down(b: Backend) {
    let (core, _d) = b.core().await;
    let busy: std::net::IpAddr = "203.0.113.77".parse().unwrap();
    for i in 0..=core.config.auth.signups_per_address {
        auth::signup_from(&core, &format!("user{i}@example.com"), PW, busy)
            .await
            .unwrap();
    }
    let r = auth::signup_from(&core, "one-more@example.com", PW, busy).await;
    assert!(matches!(r, Err(Error::Throttled { .. })), "{r:?}");
    auth::signup_from(&core, "elsewhere@example.com", PW, LOCAL)
        .await
        .unwrap();
}

/// A stranger's wrong passwords put the account in backoff for everyone else, but not for
/// a browser the owner signed in from before (its device token), nor for the owner's
/// Subsonic apps (an app password or an API key is counted per address only); a device
/// token of another account, or a forged one, helps nobody.
async fn a_strangers_failures_keep_neither_a_known_device_nor_an_app_out(b: Backend) {
    use backend::auth::audit::Pathway;
    use backend::subsonic::keys::{self, Credentials, KeyKind};
    let (core, _d) = b.core().await;
    let home: std::net::IpAddr = "198.51.100.7".parse().unwrap();
    let stranger: std::net::IpAddr = "203.0.113.9".parse().unwrap();
    let owner = auth::signup(&core, "owner@example.com", PW).await.unwrap();
    let other = auth::signup(&core, "other@example.com", PW).await.unwrap();
    let device = auth::device_token(&core, &owner.id).unwrap();
    let others_device = auth::device_token(&core, &other.id).unwrap();
    let api_key = keys::create(&core, &owner, "Phone", KeyKind::ApiKey, PW)
        .await
        .unwrap()
        .secret;
    let app_password = keys::create(&core, &owner, "Old app", KeyKind::AppPassword, PW)
        .await
        .unwrap()
        .secret;
    // The stranger guesses until the account waits.
    let mut throttled = false;
    for _ in 0..=2 * backend::auth::throttle::ACCOUNT_FREE {
        let r = auth::login(&core, "owner@example.com", "wrong-guess-123", stranger).await;
        throttled |= matches!(r, Err(Error::Throttled { .. }));
    }
    assert!(throttled, "the stranger was never slowed down");
    // A browser without a device token waits, even with the right password, and so does
    // one holding another account's token or a forged one.
    let web = |device: Option<String>| {
        let core = core.clone();
        async move {
            auth::login_via(
                &core,
                Pathway::Web,
                "owner@example.com",
                PW,
                home,
                device.as_deref(),
            )
            .await
        }
    };
    for device in [None, Some(others_device), Some("v1.forged".to_string())] {
        let r = web(device.clone()).await;
        assert!(
            matches!(r, Err(Error::Throttled { .. })),
            "{device:?}: {r:?}"
        );
    }
    // The owner's known browser signs in.
    let r = web(Some(device.clone())).await;
    assert!(
        matches!(r, Ok(auth::LoginStep::Done(ref u)) if u.id == owner.id),
        "{r:?}"
    );
    // Wrong passwords from the known browser count against it, not against the account,
    // and it gets no more free tries than an account.
    for _ in 0..backend::auth::throttle::ACCOUNT_FREE {
        let r = auth::login_via(
            &core,
            Pathway::Web,
            "owner@example.com",
            "nope-nope-1",
            home,
            Some(&device),
        )
        .await;
        assert!(matches!(r, Err(Error::BadCredentials)), "{r:?}");
    }
    let r = auth::login_via(
        &core,
        Pathway::Web,
        "owner@example.com",
        "nope-nope-1",
        home,
        Some(&device),
    )
    .await;
    assert!(matches!(r, Err(Error::BadCredentials)), "{r:?}");
    let r = web(Some(device.clone())).await;
    assert!(matches!(r, Err(Error::Throttled { .. })), "{r:?}");
    // The owner's apps were never kept out.
    let by_key = keys::authenticate(&core, &Credentials::ApiKey(api_key), home).await;
    assert_eq!(by_key.map(|u| u.id), Ok(owner.id.clone()));
    let token = Credentials::Token {
        user: "owner@example.com".into(),
        token: keys::subsonic_token(&app_password, "a1b2c3"),
        salt: "a1b2c3".into(),
    };
    assert_eq!(
        keys::authenticate(&core, &token, home).await.map(|u| u.id),
        Ok(owner.id.clone())
    );
    // Nor do wrong app passwords from the stranger's address keep the owner's app out.
    for _ in 0..=backend::auth::throttle::ADDRESS_FREE {
        let wrong = Credentials::Password {
            user: "owner@example.com".into(),
            password: "aaaaaa-bbbbbb-cccccc-dddddd".into(),
        };
        let _ = keys::authenticate(&core, &wrong, stranger).await;
    }
    let right_from_there = Credentials::Password {
        user: "owner@example.com".into(),
        password: app_password.clone(),
    };
    assert!(
        keys::authenticate(&core, &right_from_there, stranger)
            .await
            .is_err(),
        "the guessing address itself waits"
    );
    assert_eq!(
        keys::authenticate(&core, &token, home).await.map(|u| u.id),
        Ok(owner.id)
    );
}

/// Matrix row 3: an account row whose `password_hash` is empty (or damaged) verifies no
/// password at all, the empty one included, and answers exactly like a wrong password (not
/// a 500 that would single the account out), on every pathway that checks the password:
/// the login form, the API's password grant and re-authentication. An unknown account
/// with an empty password is refused the same way.
async fn an_empty_stored_hash_answers_like_a_wrong_password(b: Backend) {
    use backend::auth::{api_tokens, logins};
    let (core, _d) = b.core().await;
    let user = auth::signup(&core, "damaged@example.com", PW)
        .await
        .unwrap();
    let unknown = auth::login(&core, "nobody@example.com", "", LOCAL)
        .await
        .unwrap_err();
    assert!(matches!(unknown, Error::BadCredentials), "{unknown:?}");
    for damaged in ["", "not-a-phc-string"] {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(damaged)
            .bind(&user.id)
            .execute(&core.db)
            .await
            .unwrap();
        for password in ["", PW, damaged] {
            let e = auth::login(&core, "damaged@example.com", password, LOCAL)
                .await
                .unwrap_err();
            assert!(
                matches!(e, Error::BadCredentials),
                "{damaged:?}/{password:?}: {e:?}"
            );
            assert_eq!(e.to_string(), unknown.to_string());
            let e = api_tokens::issue_with_password(
                &core,
                "damaged@example.com",
                password,
                None,
                LOCAL,
                None,
            )
            .await
            .unwrap_err();
            assert!(matches!(e, Error::BadCredentials), "{e:?}");
            let e = logins::change_password(&core, &user, password, "new-violet-harbour-1", true)
                .await
                .unwrap_err();
            assert!(matches!(e, Error::BadCredentials), "{e:?}");
            // Wrong answers are throttled: start each round afresh.
            sqlx::query("DELETE FROM auth_throttle")
                .execute(&core.db)
                .await
                .unwrap();
        }
    }
}

/// Matrix row 2: 101 wrong passwords at one account, each from another client address (as
/// a spoofed `X-Forwarded-For` would claim, were it believed): the account's own count
/// slows it down long before the 100th, whatever the address; the addresses, each seen
/// once, played no part. An unknown account is slowed down the same way, with the same
/// answer text.
async fn guesses_from_rotating_addresses_still_slow_the_account_down(b: Backend) {
    use backend::auth::throttle;
    let (core, _d) = b.core().await;
    auth::signup(&core, "target@example.com", PW).await.unwrap();
    let free = usize::try_from(throttle::ACCOUNT_FREE).unwrap();
    let mut refusals = Vec::new();
    for email in ["target@example.com", "ghost@example.com"] {
        let mut first_throttled = None;
        for i in 0..101u8 {
            let from = std::net::IpAddr::from([198, 51, 100, i]);
            match auth::login(&core, email, "wrong-guess-123", from).await {
                Err(e @ Error::BadCredentials) => refusals.push(e.to_string()),
                Err(Error::Throttled { .. }) => {
                    first_throttled.get_or_insert(usize::from(i));
                }
                other => panic!("{email} attempt {i}: {other:?}"),
            }
        }
        // The free tries and the one that starts the wait are checked; after that the
        // account waits (how soon exactly depends on how long a hash check takes).
        assert!(
            first_throttled.is_some_and(|i| i > free && i < 100),
            "{email}: first throttled at {first_throttled:?}"
        );
        let (failures, blocked_until): (i64, i64) =
            sqlx::query_as("SELECT failures, blocked_until FROM auth_throttle WHERE key = $1")
                .bind(format!("acct:{email}"))
                .fetch_one(&core.db)
                .await
                .unwrap();
        assert!(
            failures > throttle::ACCOUNT_FREE && blocked_until > 0,
            "{email}"
        );
    }
    let most: i64 =
        sqlx::query_scalar("SELECT MAX(failures) FROM auth_throttle WHERE key LIKE 'addr:%'")
            .fetch_one(&core.db)
            .await
            .unwrap();
    assert!(most <= 2, "an address was counted {most} times");
    assert!(refusals.windows(2).all(|w| w[0] == w[1]), "{refusals:?}");
}

backend::on_both_databases!(
    a_strangers_failures_keep_neither_a_known_device_nor_an_app_out,
    an_empty_stored_hash_answers_like_a_wrong_password,
    guesses_from_rotating_addresses_still_slow_the_account_down,
    parallel_guesses_cannot_slip_past_the_limit,
    current_password_checks_are_throttled_apart_from_the_login,
    sign_ups_from_one_address_are_slowed_down,
    sessions_can_be_listed_and_ended_and_time_out,
    changing_the_password_ends_the_other_logins,
    repeated_failures_slow_down_the_account_then_expire,
    an_unknown_email_is_throttled_exactly_like_a_real_one,
    one_address_guessing_many_accounts_is_slowed_down,
    first_account_is_admin_and_later_ones_are_listeners,
    duplicate_email_is_refused_whatever_its_case,
    weak_passwords_are_refused_with_a_reason,
    invalid_email_is_refused,
    wrong_password_and_unknown_email_get_the_same_answer,
    login_opens_a_new_login_and_logout_ends_it,
    passwords_are_stored_as_argon2id,
);
