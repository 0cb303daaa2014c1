//! Ending access ends all of it, on both databases: a password reset (the email link and
//! the command line's), an admin disabling the account, "log out everywhere else", and a
//! password change (unless its user keeps their apps) end every app key (Subsonic API keys
//! and app passwords) and every API refresh-token family of the account, not only its
//! sessions; enabling a disabled account again revives none of them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::auth::api_tokens::{self, TokenPair};
use backend::auth::{self, CurrentUser, email, logins};
use backend::subsonic::keys::{self, AuthError, Credentials, KeyKind};
use backend::testing::{Backend, link_token, queued_emails};
use backend::{Core, Error};

const PW: &str = "violet-harbour-87";
const NEW_PW: &str = "copper-meadow-55";
const LOCAL: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

async fn core(b: Backend) -> (Core, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = b.config(dir.path()).await;
    config.server.public_url = Some("https://music.example".into());
    (Core::init(config).await.unwrap(), dir)
}

/// What a user holds besides their web session: an API key, an app password and an API
/// token pair (a login of its own with its refresh-token family).
struct Held {
    api_key: String,
    app_password: String,
    tokens: TokenPair,
}

async fn hold(core: &Core, user: &CurrentUser) -> Held {
    let api_key = keys::create(core, user, "Phone", KeyKind::ApiKey, PW)
        .await
        .unwrap()
        .secret;
    let app_password = keys::create(core, user, "Old app", KeyKind::AppPassword, PW)
        .await
        .unwrap()
        .secret;
    let tokens = api_tokens::issue_with_password(core, &user.email, PW, None, LOCAL, None)
        .await
        .unwrap();
    let held = Held {
        api_key,
        app_password,
        tokens,
    };
    assert_eq!(api_key_user(core, &held).await, Ok(user.id.clone()));
    assert_eq!(
        app_password_user(core, user, &held).await,
        Ok(user.id.clone())
    );
    held
}

/// Who the API key authenticates as (the check every `/rest` request makes).
async fn api_key_user(core: &Core, held: &Held) -> Result<String, AuthError> {
    keys::authenticate(core, &Credentials::ApiKey(held.api_key.clone()), LOCAL)
        .await
        .map(|u| u.id)
}

async fn app_password_user(
    core: &Core,
    user: &CurrentUser,
    held: &Held,
) -> Result<String, AuthError> {
    let creds = Credentials::Token {
        user: user.email.clone(),
        token: keys::subsonic_token(&held.app_password, "c19b2d"),
        salt: "c19b2d".into(),
    };
    keys::authenticate(core, &creds, LOCAL).await.map(|u| u.id)
}

/// The user's app keys still stored (deleted, not hidden).
async fn stored_keys(core: &Core, user: &CurrentUser) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM app_keys WHERE user_id = $1")
        .bind(&user.id)
        .fetch_one(&core.db)
        .await
        .unwrap()
}

/// The user's refresh tokens not revoked (of any family).
async fn unrevoked_refresh_tokens(core: &Core, user: &CurrentUser) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(&user.id)
    .fetch_one(&core.db)
    .await
    .unwrap()
}

/// Every app key and token family of `user` is gone: the key and the app password are
/// refused, the refresh token and the access token too, and nothing is left stored.
async fn assert_all_ended(core: &Core, user: &CurrentUser, held: &Held) {
    assert_eq!(
        api_key_user(core, held).await,
        Err(AuthError::InvalidApiKey),
        "the API key still works"
    );
    assert_eq!(
        app_password_user(core, user, held).await,
        Err(AuthError::WrongPassword),
        "the app password still works"
    );
    assert_eq!(stored_keys(core, user).await, 0);
    assert_eq!(
        unrevoked_refresh_tokens(core, user).await,
        0,
        "a refresh-token family is not revoked"
    );
    assert!(matches!(
        api_tokens::refresh(core, &held.tokens.refresh_token).await,
        Err(Error::Unauthenticated)
    ));
    assert!(
        api_tokens::user_for_access_token(core, &held.tokens.access_token)
            .await
            .unwrap()
            .is_none()
    );
}

/// `user`'s key, app password and tokens all still work.
async fn assert_all_work(core: &Core, user: &CurrentUser, held: &Held) {
    assert_eq!(api_key_user(core, held).await, Ok(user.id.clone()));
    assert_eq!(
        app_password_user(core, user, held).await,
        Ok(user.id.clone())
    );
    assert!(
        api_tokens::user_for_access_token(core, &held.tokens.access_token)
            .await
            .unwrap()
            .is_some()
    );
}

async fn a_reset_link_ends_every_app_key_and_api_token(b: Backend) {
    let (core, _d) = core(b).await;
    let user = auth::signup(&core, "phished@example.com", PW)
        .await
        .unwrap();
    let held = hold(&core, &user).await;
    // Somebody else's keys are not touched.
    let bystander = auth::signup(&core, "bystander@example.com", PW)
        .await
        .unwrap();
    let theirs = hold(&core, &bystander).await;

    email::request_password_reset(&core, "phished@example.com", LOCAL)
        .await
        .unwrap();
    let mails = queued_emails(&core.db).await;
    let mail = mails
        .iter()
        .rev()
        .find(|m| m.to == "phished@example.com")
        .unwrap();
    let token = link_token(&mail.text, "/reset-password").unwrap();
    email::reset_password(&core, &token, NEW_PW).await.unwrap();

    assert_all_ended(&core, &user, &held).await;
    assert!(
        auth::user_for_login(&core, &user.login_id)
            .await
            .unwrap()
            .is_none()
    );
    assert_all_work(&core, &bystander, &theirs).await;
}

async fn the_command_line_reset_ends_every_app_key_and_api_token(b: Backend) {
    let (core, _d) = core(b).await;
    let user = auth::signup(&core, "locked-out@example.com", PW)
        .await
        .unwrap();
    let held = hold(&core, &user).await;
    // What `refrain reset-password EMAIL` runs.
    backend::admin::reset_password(&core, "locked-out@example.com", NEW_PW)
        .await
        .unwrap();
    assert_all_ended(&core, &user, &held).await;
}

async fn disabling_ends_every_app_key_and_enabling_revives_none(b: Backend) {
    let (core, _d) = core(b).await;
    let admin = auth::signup(&core, "boss@example.com", PW).await.unwrap();
    let user = auth::signup(&core, "suspended@example.com", PW)
        .await
        .unwrap();
    let held = hold(&core, &user).await;
    backend::admin::set_disabled(&core, &admin, &user.id, true)
        .await
        .unwrap();
    assert_eq!(stored_keys(&core, &user).await, 0);
    backend::admin::set_disabled(&core, &admin, &user.id, false)
        .await
        .unwrap();
    // Enabled again: the account works with its password, nothing it held before does.
    assert_all_ended(&core, &user, &held).await;
    assert!(
        auth::login(&core, "suspended@example.com", PW, LOCAL)
            .await
            .is_ok()
    );
}

async fn logging_out_everywhere_else_ends_every_app_key_and_api_token(b: Backend) {
    let (core, _d) = core(b).await;
    let user = auth::signup(&core, "careful@example.com", PW)
        .await
        .unwrap();
    let held = hold(&core, &user).await;
    logins::end_others(&core, &user).await.unwrap();
    assert_all_ended(&core, &user, &held).await;
    // The session that asked goes on.
    assert!(
        auth::user_for_login(&core, &user.login_id)
            .await
            .unwrap()
            .is_some()
    );
}

async fn a_password_change_signs_out_apps_unless_asked_not_to(b: Backend) {
    let (core, _d) = core(b).await;
    // Asked to (what Settings offers, ticked).
    let user = auth::signup(&core, "changer@example.com", PW)
        .await
        .unwrap();
    let held = hold(&core, &user).await;
    logins::change_password(&core, &user, PW, NEW_PW, true)
        .await
        .unwrap();
    assert_all_ended(&core, &user, &held).await;
    assert!(
        auth::user_for_login(&core, &user.login_id)
            .await
            .unwrap()
            .is_some()
    );

    // Unticked: the apps keep their keys (other logins end as always).
    let keeper = auth::signup(&core, "keeper@example.com", PW).await.unwrap();
    let held = hold(&core, &keeper).await;
    logins::change_password(&core, &keeper, PW, NEW_PW, false)
        .await
        .unwrap();
    assert_eq!(api_key_user(&core, &held).await, Ok(keeper.id.clone()));
    assert_eq!(
        app_password_user(&core, &keeper, &held).await,
        Ok(keeper.id.clone())
    );
    assert_eq!(stored_keys(&core, &keeper).await, 2);
    assert!(
        auth::user_for_login(&core, &keeper.login_id)
            .await
            .unwrap()
            .is_some()
    );
}

async fn deleting_the_account_ends_every_app_key(b: Backend) {
    let (core, _d) = core(b).await;
    // The first account is the admin, who may not delete themselves.
    auth::signup(&core, "admin@example.com", PW).await.unwrap();
    let user = auth::signup(&core, "leaving@example.com", PW)
        .await
        .unwrap();
    let held = hold(&core, &user).await;
    auth::account::delete_account(&core, &user, PW, None)
        .await
        .unwrap();
    assert_all_ended(&core, &user, &held).await;
}

backend::on_both_databases!(
    a_reset_link_ends_every_app_key_and_api_token,
    the_command_line_reset_ends_every_app_key_and_api_token,
    disabling_ends_every_app_key_and_enabling_revives_none,
    logging_out_everywhere_else_ends_every_app_key_and_api_token,
    a_password_change_signs_out_apps_unless_asked_not_to,
    deleting_the_account_ends_every_app_key,
);
