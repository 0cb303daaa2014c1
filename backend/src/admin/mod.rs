//! Administration: users (search, roles, disable, reset two-factor) and the audit log.
//! Every function checks that the caller is an admin; every change is audited in the same
//! transaction as the change itself.

use crate::infra::actor::{CurrentUser, Role};
use crate::{Core, Error, Result, new_id, now_ms};

pub mod repo;

pub use repo::{AuditEntry, UserSummary};

/// Admins only; with `REFRAIN_REQUIRE_ADMIN_2FA`, only admins who turned two-factor on.
pub(crate) async fn require_admin(core: &Core, user: &CurrentUser) -> Result<()> {
    if user.role != Role::Admin {
        crate::auth::audit::refused(&user.id, "admin function (not an admin)");
        return Err(Error::Forbidden);
    }
    if core.config.auth.require_admin_2fa
        && crate::auth::repo::totp_secret(&core.db, &user.id)
            .await?
            .is_none()
    {
        crate::auth::audit::refused(&user.id, "admin function (no second factor)");
        return Err(Error::Invalid(
            "this server requires admins to use two-factor authentication: turn it on in Settings first"
                .into(),
        ));
    }
    Ok(())
}

/// Users whose email contains `query` (all when empty), newest first, at most `limit`.
pub async fn list_users(
    core: &Core,
    admin: &CurrentUser,
    query: &str,
    limit: i64,
) -> Result<Vec<UserSummary>> {
    require_admin(core, admin).await?;
    let pattern = format!(
        "%{}%",
        query
            .trim()
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    repo::users(&core.db, &pattern, limit.clamp(1, 500)).await
}

pub(crate) async fn target_email(conn: &mut sqlx::AnyConnection, user_id: &str) -> Result<String> {
    repo::email_of(conn, user_id)
        .await?
        .ok_or(Error::NotFound("user"))
}

pub(crate) async fn audit(
    conn: &mut sqlx::AnyConnection,
    actor: &CurrentUser,
    action: &str,
    target: Option<&str>,
    detail: &str,
) -> Result<()> {
    record(conn, &actor.id, action, target, detail).await
}

/// The actor id of actions taken on the command line (`refrain create-admin`, …).
const CLI_ACTOR: &str = "cli";

pub(crate) async fn cli_audit(
    conn: &mut sqlx::AnyConnection,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<()> {
    record(conn, CLI_ACTOR, action, Some(target), detail).await
}

async fn record(
    conn: &mut sqlx::AnyConnection,
    actor_id: &str,
    action: &str,
    target: Option<&str>,
    detail: &str,
) -> Result<()> {
    repo::insert_audit(conn, &new_id(), actor_id, action, target, detail, now_ms()).await?;
    tracing::info!(actor = actor_id, action, target, detail, "admin action");
    Ok(())
}

/// Admins cannot act on their own role or access here: it would be too easy to lock the
/// server out of its last admin.
fn not_self(admin: &CurrentUser, user_id: &str) -> Result<()> {
    if admin.id == user_id {
        Err(Error::Invalid(
            "you cannot change your own role or access; ask another admin".into(),
        ))
    } else {
        Ok(())
    }
}

pub async fn set_role(core: &Core, admin: &CurrentUser, user_id: &str, role: Role) -> Result<()> {
    require_admin(core, admin).await?;
    not_self(admin, user_id)?;
    let mut tx = crate::db::begin(&core.db).await?;
    let email = target_email(&mut tx, user_id).await?;
    repo::set_role(&mut tx, user_id, role.as_str()).await?;
    audit(
        &mut tx,
        admin,
        "role.set",
        Some(user_id),
        &format!("{email} is now {}", role.as_str()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Disables (or re-enables) an account. A disabled account's sessions, stream URLs and
/// tokens stop working at once, because every check looks at `disabled_at`; disabling
/// also ends its access for good (logins, API token families, app keys deleted), so
/// enabling it again revives none of it.
pub async fn set_disabled(
    core: &Core,
    admin: &CurrentUser,
    user_id: &str,
    disabled: bool,
) -> Result<()> {
    require_admin(core, admin).await?;
    not_self(admin, user_id)?;
    let mut tx = crate::db::begin(&core.db).await?;
    let email = target_email(&mut tx, user_id).await?;
    let at = disabled.then(now_ms);
    repo::set_disabled_at(&mut tx, user_id, at).await?;
    let ended = if disabled {
        // Every login, token family and app key ends for good: enabling the account again
        // does not revive them.
        Some(crate::auth::logins::end_all_access(&mut tx, user_id, None, now_ms()).await?)
    } else {
        None
    };
    let (action, detail) = if disabled {
        ("user.disable", format!("{email} disabled"))
    } else {
        ("user.enable", format!("{email} enabled again"))
    };
    audit(&mut tx, admin, action, Some(user_id), &detail).await?;
    tx.commit().await?;
    if let Some(ended) = ended {
        ended
            .after_commit(core, user_id, "account disabled by an admin")
            .await;
    }
    Ok(())
}

/// Sets a listener's upload quota (None: back to the server default).
pub async fn set_quota(
    core: &Core,
    admin: &CurrentUser,
    user_id: &str,
    quota_bytes: Option<u64>,
) -> Result<()> {
    require_admin(core, admin).await?;
    let q = quota_bytes
        .map(i64::try_from)
        .transpose()
        .map_err(|_| Error::Invalid("that quota is too large".into()))?;
    let mut tx = crate::db::begin(&core.db).await?;
    let email = target_email(&mut tx, user_id).await?;
    repo::set_quota(&mut tx, user_id, q).await?;
    let detail = match quota_bytes {
        Some(b) => format!("quota of {email} set to {} MB", b / 1024 / 1024),
        None => format!("quota of {email} back to the default"),
    };
    audit(&mut tx, admin, "quota.set", Some(user_id), &detail).await?;
    tx.commit().await?;
    Ok(())
}

/// Turns two-factor off for a user who lost their device and their recovery codes.
pub async fn reset_two_factor(core: &Core, admin: &CurrentUser, user_id: &str) -> Result<()> {
    require_admin(core, admin).await?;
    let mut tx = crate::db::begin(&core.db).await?;
    let email = target_email(&mut tx, user_id).await?;
    crate::auth::repo::clear_two_factor(&mut tx, user_id).await?;
    audit(
        &mut tx,
        admin,
        "2fa.reset",
        Some(user_id),
        &format!("two-factor reset for {email}"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The newest audit entries.
pub async fn audit_log(core: &Core, admin: &CurrentUser, limit: i64) -> Result<Vec<AuditEntry>> {
    require_admin(core, admin).await?;
    repo::audit_log(&core.db, limit.clamp(1, 500)).await
}

/// What `refrain create-admin` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminCreated {
    Created,
    /// The account existed: it is now an admin (its password is unchanged).
    Promoted,
}

/// For the command line (whoever runs it owns the server): creates an admin account, or
/// makes an existing account admin. Audited with the actor `cli`.
pub async fn create_admin(core: &Core, email: &str, password: &str) -> Result<AdminCreated> {
    let email = crate::infra::actor::normalize_email(email)?;
    if let Some(u) = crate::auth::repo::find_by_email(&core.db, &email).await? {
        let mut tx = crate::db::begin(&core.db).await?;
        repo::promote(&mut tx, &u.id).await?;
        cli_audit(&mut tx, "role.set", &u.id, &format!("{email} is now admin")).await?;
        tx.commit().await?;
        return Ok(AdminCreated::Promoted);
    }
    let user = crate::auth::signup(core, &email, password).await?;
    crate::auth::repo::revoke_login(&core.db, &user.login_id, now_ms()).await?;
    let mut tx = crate::db::begin(&core.db).await?;
    repo::make_admin(&mut tx, &user.id).await?;
    cli_audit(
        &mut tx,
        "user.create",
        &user.id,
        &format!("{email} created as admin"),
    )
    .await?;
    tx.commit().await?;
    Ok(AdminCreated::Created)
}

/// For the command line: new signing keys for API access tokens and stream URLs. The old
/// keys keep verifying for `REFRAIN_KEY_GRACE_SECS`; every node signs with the new ones
/// within a minute. Returns each purpose with its new key id.
pub async fn rotate_signing_keys(core: &Core) -> Result<Vec<(&'static str, String)>> {
    use crate::keys::{Purpose, rotate};
    let mut tx = crate::db::begin(&core.db).await?;
    let mut rotated = Vec::new();
    for purpose in [Purpose::Api, Purpose::Stream] {
        rotated.push((
            purpose.as_str(),
            rotate(&mut tx, &core.secret_key, purpose).await?,
        ));
    }
    let detail = rotated
        .iter()
        .map(|(p, kid)| format!("{p} key {kid}"))
        .collect::<Vec<_>>()
        .join(", ");
    record(
        &mut tx,
        CLI_ACTOR,
        "keys.rotate",
        None,
        &format!("new {detail}"),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(%detail, "signing keys rotated");
    Ok(rotated)
}

/// For the command line: sets a new password, ends every way into the account (logins,
/// API token families, app keys), drops the sign-ins linked from unverified addresses
/// (telling the account's address which), and clears its sign-in throttling. Two-factor
/// stays as it was.
pub async fn reset_password(core: &Core, email: &str, password: &str) -> Result<()> {
    let email = crate::infra::actor::normalize_email(email)?;
    let u = crate::auth::repo::find_by_email(&core.db, &email)
        .await?
        .ok_or(Error::NotFound("account"))?;
    let second_factor = crate::auth::repo::totp_secret(&core.db, &u.id)
        .await?
        .is_some();
    crate::auth::check_password_policy(password, &email, second_factor)?;
    let hash = crate::auth::hash_password(password).await?;
    let mut tx = crate::db::begin(&core.db).await?;
    crate::auth::repo::set_password_hash(&mut *tx, &u.id, &hash).await?;
    let ended = crate::auth::logins::end_all_access(&mut tx, &u.id, None, now_ms()).await?;
    crate::auth::identities::drop_unvouched_identities(&mut tx, core, &u.id).await?;
    cli_audit(
        &mut tx,
        "password.reset",
        &u.id,
        &format!("password of {email} reset"),
    )
    .await?;
    tx.commit().await?;
    core.events.wake();
    ended
        .after_commit(core, &u.id, "password reset from the command line")
        .await;
    crate::auth::throttle::clear(&core.db, &crate::auth::throttle::Key::account(&email)).await?;
    Ok(())
}
