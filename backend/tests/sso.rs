//! Single sign-on against a real OpenID Connect provider (npm's oidc-provider, started by
//! scripts/services.sh), on both databases: accounts made and found by the issuer's
//! subject, forged and replayed tokens refused, linking to an existing account only
//! through a verified email and its password, two-factor kept unless the issuer's
//! multi-factor is trusted, connecting and disconnecting from Settings; auto-linking only
//! to an account whose own address is verified, and recovering an account (a reset link)
//! or confirming its address drops the sign-ins linked from unverified addresses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::sso::{self, Outcome};
use backend::auth::{self, CurrentUser, LoginStep, email, totp, two_factor};
use backend::config::EmailVerification;
use backend::testing::{
    Backend, link_token, oidc_provider, queued_emails, sign_in_at_provider, unique,
};
use backend::{Config, Core, Error};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

const PW: &str = "violet-harbour-87";
const LOCAL: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
/// Where the provider sends the browser back (nothing listens: the tests read the URL).
const CALLBACK: &str = "http://127.0.0.1:9/sso/callback";

async fn config(b: Backend, dir: &std::path::Path) -> Config {
    let mut c = b.config(dir).await;
    c.sso.providers = vec![oidc_provider()];
    c
}

async fn core_with(b: Backend, edit: impl FnOnce(&mut Config)) -> (Core, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(b, dir.path()).await;
    edit(&mut c);
    (Core::init(c).await.unwrap(), dir)
}

/// A fresh account name at the provider (its email is `<name>@example.test`).
fn account(tag: &str) -> String {
    format!("{tag}-{}", &unique()[..12])
}

/// Starts a sign-in, signs in at the provider as `who`: the `state` and `code` it sent back.
async fn at_provider(core: &Core, who: &str, mfa: bool, link: Option<&str>) -> (String, String) {
    let started = sso::begin(core, "oidc", CALLBACK, link).await.unwrap();
    assert!(
        started.url.contains("code_challenge_method=S256"),
        "{}",
        started.url
    );
    let back = sign_in_at_provider(&started.url, who, mfa, CALLBACK).await;
    assert_eq!(back.get("state"), Some(&started.state), "{back:?}");
    (
        started.state,
        back.get("code")
            .cloned()
            .unwrap_or_else(|| panic!("no code: {back:?}")),
    )
}

async fn sso_login(core: &Core, who: &str, mfa: bool) -> backend::Result<Outcome> {
    let (state, code) = at_provider(core, who, mfa, None).await;
    sso::finish(core, &state, &code).await
}

fn done(o: Outcome) -> CurrentUser {
    match o {
        Outcome::Login(LoginStep::Done(u)) => u,
        other => panic!("expected a login, got {other:?}"),
    }
}

async fn user_count(core: &Core) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&core.db)
        .await
        .unwrap()
}

async fn a_first_sign_in_makes_an_account_and_the_next_finds_it(b: Backend) {
    let (core, _d) = core_with(b, |_| {}).await;
    // Someone else is the admin: the sign-in makes a listener.
    auth::signup(&core, "admin@example.com", PW).await.unwrap();
    let who = account("ada");
    let email = format!("{who}@example.test");
    let (state, code) = at_provider(&core, &who, false, None).await;
    let user = done(sso::finish(&core, &state, &code).await.unwrap());
    assert_eq!(user.email, email);
    assert_eq!(user.role.as_str(), "listener");
    // The provider verified the address; the name it gave is the display name.
    assert!(
        auth::repo::email_verified(&core.db, &user.id)
            .await
            .unwrap()
    );
    let name = auth::profile::display_name(&core, &user.id).await.unwrap();
    assert_eq!(name.as_deref(), Some(who.replace('-', " ").as_str()));
    // No password of its own: the password login refuses anything.
    let (linked, has_password) = sso::identities(&core, &user).await.unwrap();
    assert_eq!(linked.len(), 1);
    assert!(!has_password);
    assert!(matches!(
        auth::login(&core, &email, PW, LOCAL).await,
        Err(Error::BadCredentials)
    ));
    // Where a step asks for the current password (an app key, say), the answer says
    // there is none to give, not "wrong password".
    let key = backend::subsonic::keys::create(
        &core,
        &user,
        "Phone",
        backend::subsonic::keys::KeyKind::ApiKey,
        PW,
    )
    .await;
    assert!(
        matches!(&key, Err(Error::Invalid(m)) if m.contains("no password of its own")),
        "{key:?}"
    );
    // The same state twice: the second finds nothing (and makes no account).
    let again = sso::finish(&core, &state, &code).await;
    assert!(
        matches!(&again, Err(Error::Invalid(m)) if m.contains("already used")),
        "{again:?}"
    );
    // The next sign-in finds the account by the issuer's subject.
    let before = user_count(&core).await;
    let next = done(sso_login(&core, &who, false).await.unwrap());
    assert_eq!(next.id, user.id);
    assert_ne!(next.login_id, user.login_id);
    assert_eq!(user_count(&core).await, before);
    // Its last way in cannot be disconnected until a password is set.
    let r = sso::unlink(&core, &user, "oidc").await;
    assert!(
        matches!(&r, Err(Error::Invalid(m)) if m.contains("set a password")),
        "{r:?}"
    );
}

async fn forged_and_misdirected_tokens_are_refused(b: Backend) {
    let (core, _d) = core_with(b, |_| {}).await;
    let (state, code) = at_provider(&core, &account("eve"), false, None).await;
    let r = sso::redeem(&core, &state, &code).await.unwrap();
    // The genuine token passes, with its nonce only.
    let claims = sso::verify_id_token(&core, "oidc", &r.id_token, &r.nonce)
        .await
        .unwrap();
    assert!(claims.email_is_verified());
    let wrong_nonce = sso::verify_id_token(&core, "oidc", &r.id_token, "another-sign-in").await;
    assert!(
        matches!(&wrong_nonce, Err(Error::Invalid(m)) if m.contains("not issued for this sign-in")),
        "{wrong_nonce:?}"
    );

    let parts: Vec<&str> = r.id_token.split('.').collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(payload["sub"], serde_json::json!(claims.sub));
    payload["sub"] = serde_json::json!("someone-else");
    payload["email"] = serde_json::json!("admin@example.com");
    let forged_payload = B64.encode(serde_json::to_vec(&payload).unwrap());
    // The payload changed, the issuer's signature kept.
    let altered = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    // No signature at all.
    let none = format!(
        "{}.{forged_payload}.",
        B64.encode(br#"{"alg":"none","typ":"JWT"}"#)
    );
    // Signed with the client secret (HS256), which Refrain also knows.
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &payload,
        &jsonwebtoken::EncodingKey::from_secret(oidc_provider().client_secret.0.as_bytes()),
    )
    .unwrap();
    // The genuine token, with its `aud` changed to name another party too.
    let mut two_audiences =
        serde_json::from_slice::<serde_json::Value>(&B64.decode(parts[1]).unwrap()).unwrap();
    two_audiences["aud"] = serde_json::json!(["refrain", "another-client"]);
    let two_audiences = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(serde_json::to_vec(&two_audiences).unwrap()),
        parts[2]
    );
    for (what, token, why) in [
        ("altered", altered, "Signature verification failed"),
        ("alg none", none, "not signed with the issuer's keys"),
        ("HS256", hs256, "not signed with the issuer's keys"),
        ("two audiences", two_audiences, "another-client"),
        ("not a JWT", "not.a.token".to_string(), "not a token"),
    ] {
        let v = sso::verify_id_token(&core, "oidc", &token, &r.nonce).await;
        assert!(
            matches!(&v, Err(Error::Invalid(m)) if m.contains(why)),
            "{what} token: {v:?}"
        );
    }
    // A code is redeemed once: the provider refuses it again (and the flow is gone).
    assert!(sso::redeem(&core, &state, &code).await.is_err());
    // A state this server never issued.
    assert!(sso::finish(&core, "made-up-state", &code).await.is_err());
    assert_eq!(user_count(&core).await, 0);
}

async fn an_existing_account_links_only_by_verified_email_and_its_password(b: Backend) {
    let (core, _d) = core_with(b, |_| {}).await;
    // The provider has not verified this address: no link, no second account.
    let unverified = format!("{}-unverified", account("mallory"));
    auth::signup(&core, &format!("{unverified}@example.test"), PW)
        .await
        .unwrap();
    let r = sso_login(&core, &unverified, false).await;
    assert!(
        matches!(&r, Err(Error::Invalid(m)) if m.contains("not verified")),
        "{r:?}"
    );
    assert_eq!(user_count(&core).await, 1);

    let who = account("grace");
    let email = format!("{who}@example.test");
    let owner = auth::signup(&core, &email, PW).await.unwrap();
    let Outcome::LinkNeeded { token } = sso_login(&core, &who, false).await.unwrap() else {
        panic!("an existing account must be linked by its password");
    };
    let pending = sso::pending_link(&core, &token).await.unwrap();
    assert_eq!(pending.email, email);
    assert_eq!(pending.provider_name, "Test ID");
    // A wrong password links nothing and the step stays open.
    let wrong = sso::link_with_password(&core, &token, "not-the-password", LOCAL).await;
    assert!(matches!(wrong, Err(Error::BadCredentials)), "{wrong:?}");
    assert!(sso::identities(&core, &owner).await.unwrap().0.is_empty());
    let LoginStep::Done(user) = sso::link_with_password(&core, &token, PW, LOCAL)
        .await
        .unwrap()
    else {
        panic!("no two-factor: the password signs in");
    };
    assert_eq!(user.id, owner.id);
    // The step is single use.
    assert!(
        sso::link_with_password(&core, &token, PW, LOCAL)
            .await
            .is_err()
    );
    // From now on the provider signs straight in to that account.
    assert_eq!(
        done(sso_login(&core, &who, false).await.unwrap()).id,
        owner.id
    );
    assert_eq!(user_count(&core).await, 2);
    let (linked, has_password) = sso::identities(&core, &owner).await.unwrap();
    assert_eq!((linked.len(), has_password), (1, true));
    // With a password of its own, the sign-in may be disconnected; then it links anew.
    sso::unlink(&core, &owner, "oidc").await.unwrap();
    assert!(matches!(
        sso_login(&core, &who, false).await.unwrap(),
        Outcome::LinkNeeded { .. }
    ));

    // An admin may let verified emails link by themselves, to an account whose own
    // address is verified too.
    sqlx::query("UPDATE users SET email_verified_at = $2 WHERE id = $1")
        .bind(&owner.id)
        .bind(backend::now_ms())
        .execute(&core.db)
        .await
        .unwrap();
    let auto = Core::init({
        let mut c = (*core.config).clone();
        c.sso.auto_link = true;
        c
    })
    .await
    .unwrap();
    assert_eq!(
        done(sso_login(&auto, &who, false).await.unwrap()).id,
        owner.id
    );
}

async fn two_factor_is_kept_unless_the_issuers_multi_factor_is_trusted(b: Backend) {
    let (core, _d) = core_with(b, |_| {}).await;
    let who = account("alan");
    let email = format!("{who}@example.test");
    let user = auth::signup(&core, &email, PW).await.unwrap();
    let e = two_factor::begin_enrollment(&core, &user).await.unwrap();
    let secret = totp::decode_secret(&e.secret).unwrap();
    let now = u64::try_from(backend::now_ms() / 1000).unwrap();
    two_factor::confirm_enrollment(&core, &user, &totp::code(&secret, now))
        .await
        .unwrap();
    // Linking: the password is not enough, the code completes it, and only then is the
    // sign-in linked.
    let Outcome::LinkNeeded { token } = sso_login(&core, &who, false).await.unwrap() else {
        panic!("expected the link step");
    };
    let LoginStep::NeedsCode(mut pending) = sso::link_with_password(&core, &token, PW, LOCAL)
        .await
        .unwrap()
    else {
        panic!("two-factor is on: the password alone must not sign in");
    };
    assert!(sso::identities(&core, &user).await.unwrap().0.is_empty());
    let code = totp::code(&secret, now + totp::STEP);
    let signed_in = two_factor::complete_login(&core, &mut pending, &code)
        .await
        .unwrap();
    assert_eq!(signed_in.id, user.id);
    assert_eq!(sso::identities(&core, &user).await.unwrap().0.len(), 1);

    // Linked: the provider's sign-in still asks for the code, multi-factor or not...
    for mfa in [false, true] {
        assert!(
            matches!(
                sso_login(&core, &who, mfa).await.unwrap(),
                Outcome::Login(LoginStep::NeedsCode(_))
            ),
            "mfa {mfa}: the second factor was skipped"
        );
    }
    // ...unless the admin trusts the issuer's multi-factor, and the sign-in was one.
    let trusting = Core::init({
        let mut c = (*core.config).clone();
        c.sso.trust_mfa = true;
        c
    })
    .await
    .unwrap();
    assert!(matches!(
        sso_login(&trusting, &who, false).await.unwrap(),
        Outcome::Login(LoginStep::NeedsCode(_))
    ));
    assert_eq!(
        done(sso_login(&trusting, &who, true).await.unwrap()).id,
        user.id
    );
}

async fn a_signed_in_user_connects_and_disconnects_a_sign_in(b: Backend) {
    let (core, _d) = core_with(b, |_| {}).await;
    let user = auth::signup(&core, "listener@example.com", PW)
        .await
        .unwrap();
    // Another address at the provider than the account's: connecting does not need them
    // to match, the user is signed in.
    let who = account("joan");
    let (state, code) = at_provider(&core, &who, false, Some(&user.id)).await;
    match sso::finish(&core, &state, &code).await.unwrap() {
        Outcome::Linked { user_id, provider } => {
            assert_eq!(user_id, user.id);
            assert_eq!(provider, "Test ID");
        }
        other => panic!("expected a connected sign-in, got {other:?}"),
    }
    let (linked, _) = sso::identities(&core, &user).await.unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].email, format!("{who}@example.test"));
    assert_eq!(
        done(sso_login(&core, &who, false).await.unwrap()).id,
        user.id
    );
    // Nobody else can connect the same provider account to theirs.
    let other = auth::signup(&core, "other@example.com", PW).await.unwrap();
    let (state, code) = at_provider(&core, &who, false, Some(&other.id)).await;
    let r = sso::finish(&core, &state, &code).await;
    assert!(
        matches!(&r, Err(Error::Invalid(m)) if m.contains("another")),
        "{r:?}"
    );
    sso::unlink(&core, &user, "oidc").await.unwrap();
    assert!(sso::identities(&core, &user).await.unwrap().0.is_empty());
    assert!(matches!(
        sso::unlink(&core, &user, "oidc").await,
        Err(Error::NotFound(_))
    ));
}

async fn an_unreachable_provider_is_a_clear_error(b: Backend) {
    let (core, _d) = core_with(b, |c| {
        c.sso.providers[0].issuer = "http://127.0.0.1:9".into();
    })
    .await;
    let r = sso::begin(&core, "oidc", CALLBACK, None).await;
    assert!(
        matches!(&r, Err(Error::Unavailable { what, .. }) if *what == "the sign-in provider"),
        "{r:?}"
    );
    let r = sso::begin(&core, "google", CALLBACK, None).await;
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
}

/// The subject of the message about removed sign-ins.
const REMOVED: &str = "Sign-ins removed from your Refrain account";

/// The owner of `address` recovers its account with a reset link.
async fn reset_by_email(core: &Core, address: &str) {
    email::request_password_reset(core, address, LOCAL)
        .await
        .unwrap();
    let mails = queued_emails(&core.db).await;
    let mail = mails.iter().rev().find(|m| m.to == address).unwrap();
    let token = link_token(&mail.text, "/reset-password").unwrap();
    email::reset_password(core, &token, "copper-meadow-55")
        .await
        .unwrap();
}

/// Connects `who`'s sign-in at the provider to `user`'s account, from Settings.
async fn connect(core: &Core, user: &CurrentUser, who: &str) {
    let (state, code) = at_provider(core, who, false, Some(&user.id)).await;
    let o = sso::finish(core, &state, &code).await.unwrap();
    assert!(matches!(o, Outcome::Linked { .. }), "{o:?}");
}

/// The messages about removed sign-ins sent to `to`.
async fn removal_notices(core: &Core, to: &str) -> Vec<String> {
    queued_emails(&core.db)
        .await
        .into_iter()
        .filter(|m| m.to == to && m.subject == REMOVED)
        .map(|m| m.text)
        .collect()
}

async fn auto_linking_never_hands_a_sign_in_to_an_account_with_an_unverified_address(b: Backend) {
    let (core, _d) = core_with(b, |c| c.sso.auto_link = true).await;
    let who = account("victim");
    let address = format!("{who}@example.test");
    // Somebody signs up first with the victim's address, and never confirms it.
    let squatter = auth::signup(&core, &address, PW).await.unwrap();
    assert!(
        !auth::repo::email_verified(&core.db, &squatter.id)
            .await
            .unwrap()
    );
    // The victim's sign-in (an address the provider verified) does not land in that
    // account: as without auto-linking, only the account's password would link them.
    let r = sso_login(&core, &who, false).await.unwrap();
    assert!(matches!(r, Outcome::LinkNeeded { .. }), "{r:?}");
    assert!(
        sso::identities(&core, &squatter)
            .await
            .unwrap()
            .0
            .is_empty(),
        "the sign-in was linked to an account whose address nobody verified"
    );
    assert_eq!(user_count(&core).await, 1);
    // Once the owner of the address has recovered the account with a reset link, the
    // address is verified and the sign-in links by itself.
    reset_by_email(&core, &address).await;
    assert_eq!(
        done(sso_login(&core, &who, false).await.unwrap()).id,
        squatter.id
    );
}

async fn a_reset_link_drops_sign_ins_linked_from_unverified_addresses_and_says_which(b: Backend) {
    let (core, _d) = core_with(b, |_| {}).await;
    // A sign-in from an address the provider did not verify makes an account with it.
    let lax = format!("{}-unverified", account("owner"));
    let lax_address = format!("{lax}@example.test");
    let made = done(sso_login(&core, &lax, false).await.unwrap());
    assert_eq!(made.email, lax_address);
    // Somebody signs up with another person's address and connects their own sign-in
    // (an address the provider verified, but not the account's) before the owner comes.
    let squatter = auth::signup(&core, "owner@example.com", PW).await.unwrap();
    let mallory = account("mallory");
    connect(&core, &squatter, &mallory).await;
    // A user whose own address is verified connects another address the same way.
    let ada = auth::signup(&core, "ada@example.com", PW).await.unwrap();
    sqlx::query("UPDATE users SET email_verified_at = $2 WHERE id = $1")
        .bind(&ada.id)
        .bind(backend::now_ms())
        .execute(&core.db)
        .await
        .unwrap();
    let ada_at_provider = account("ada");
    connect(&core, &ada, &ada_at_provider).await;

    // The owners of the addresses recover the accounts.
    reset_by_email(&core, &lax_address).await;
    reset_by_email(&core, "owner@example.com").await;
    reset_by_email(&core, "ada@example.com").await;

    // The sign-in from the unverified address no longer opens the account...
    assert!(sso::identities(&core, &made).await.unwrap().0.is_empty());
    let r = sso_login(&core, &lax, false).await;
    assert!(
        matches!(&r, Err(Error::Invalid(m)) if m.contains("not verified")),
        "{r:?}"
    );
    // ...nor does the squatter's...
    assert!(
        sso::identities(&core, &squatter)
            .await
            .unwrap()
            .0
            .is_empty()
    );
    assert!(matches!(
        sso_login(&core, &mallory, false).await.unwrap(),
        Outcome::Login(LoginStep::Done(u)) if u.id != squatter.id
    ));
    // ...and each address is told which went: provider and address.
    let told = removal_notices(&core, &lax_address).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].contains(&format!("Test ID ({lax_address})")),
        "{}",
        told[0]
    );
    let told = removal_notices(&core, "owner@example.com").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].contains(&format!("Test ID ({mallory}@example.test)")),
        "{}",
        told[0]
    );
    // The sign-in a verified account connected stays, and nothing is said.
    assert_eq!(sso::identities(&core, &ada).await.unwrap().0.len(), 1);
    assert_eq!(
        done(sso_login(&core, &ada_at_provider, false).await.unwrap()).id,
        ada.id
    );
    assert!(removal_notices(&core, "ada@example.com").await.is_empty());
}

async fn confirming_the_address_drops_sign_ins_linked_from_unverified_addresses(b: Backend) {
    let (core, _d) = core_with(b, |c| {
        c.auth.email_verification = EmailVerification::Optional;
    })
    .await;
    let lax = format!("{}-unverified", account("owner"));
    let lax_address = format!("{lax}@example.test");
    let made = done(sso_login(&core, &lax, false).await.unwrap());
    // The confirmation link went to the address; its owner follows it.
    let mails = queued_emails(&core.db).await;
    let mail = mails.iter().rev().find(|m| m.to == lax_address).unwrap();
    let token = link_token(&mail.text, "/verify-email").unwrap();
    email::verify_email(&core, &token).await.unwrap();
    assert!(
        auth::repo::email_verified(&core.db, &made.id)
            .await
            .unwrap()
    );
    assert!(sso::identities(&core, &made).await.unwrap().0.is_empty());
    let told = removal_notices(&core, &lax_address).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].contains(&format!("Test ID ({lax_address})")),
        "{}",
        told[0]
    );
}

backend::on_both_databases!(
    a_first_sign_in_makes_an_account_and_the_next_finds_it,
    auto_linking_never_hands_a_sign_in_to_an_account_with_an_unverified_address,
    a_reset_link_drops_sign_ins_linked_from_unverified_addresses_and_says_which,
    confirming_the_address_drops_sign_ins_linked_from_unverified_addresses,
    forged_and_misdirected_tokens_are_refused,
    an_existing_account_links_only_by_verified_email_and_its_password,
    two_factor_is_kept_unless_the_issuers_multi_factor_is_trusted,
    a_signed_in_user_connects_and_disconnects_a_sign_in,
    an_unreachable_provider_is_a_clear_error,
);
