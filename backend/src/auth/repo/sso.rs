//! SQL of single sign-on: the flows started at a provider, the pending "give your password
//! to link" steps, and the sign-ins linked to accounts (`user_identities`).

use crate::Result;
use sqlx::{AnyConnection, Executor, Row};

/// A sign-in started at a provider, as stored (under the hash of its `state`).
#[derive(Debug, Clone)]
pub struct FlowRow {
    pub provider: String,
    pub nonce: String,
    pub verifier: String,
    pub redirect_uri: String,
    pub link_user_id: Option<String>,
    pub created_at: i64,
}

/// A linked sign-in, as listed.
#[derive(Debug, Clone)]
pub struct IdentityRow {
    pub provider: String,
    pub email: String,
    pub created_at: i64,
}

/// A pending link step, as stored (under the hash of its token).
#[derive(Debug, Clone)]
pub struct LinkRow {
    pub provider: String,
    pub subject: String,
    pub email: String,
    pub created_at: i64,
}

/// What vouched for a link when it was made.
#[derive(Debug, Clone, Copy)]
pub struct Vouched {
    /// The provider verified the address the sign-in came with.
    pub email: bool,
    /// The account's own address was verified.
    pub account: bool,
}

fn identity_row(r: &sqlx::any::AnyRow) -> IdentityRow {
    IdentityRow {
        provider: r.get("provider"),
        email: r.get("email"),
        created_at: r.get("created_at"),
    }
}

/// Deletes the flows started before `before`.
#[tracing::instrument(name = "sql auth.delete_stale_sso_flows", skip_all)]
pub async fn delete_stale_flows<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    before: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM sso_flows WHERE created_at < $1")
        .bind(before)
        .execute(db)
        .await?;
    Ok(())
}

#[tracing::instrument(name = "sql auth.insert_sso_flow", skip_all)]
pub async fn insert_flow<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    state_hash: &str,
    flow: &FlowRow,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sso_flows (state_hash, provider, nonce, verifier, redirect_uri, link_user_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(state_hash)
    .bind(&flow.provider)
    .bind(&flow.nonce)
    .bind(&flow.verifier)
    .bind(&flow.redirect_uri)
    .bind(flow.link_user_id.as_deref())
    .bind(flow.created_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Takes (deletes and returns) the flow stored under `state_hash`: a second take finds
/// nothing.
#[tracing::instrument(name = "sql auth.take_sso_flow", skip_all)]
pub async fn take_flow<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    state_hash: &str,
) -> Result<Option<FlowRow>> {
    let row = sqlx::query(
        "DELETE FROM sso_flows WHERE state_hash = $1
         RETURNING provider, nonce, verifier, redirect_uri, link_user_id, created_at",
    )
    .bind(state_hash)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| FlowRow {
        provider: r.get("provider"),
        nonce: r.get("nonce"),
        verifier: r.get("verifier"),
        redirect_uri: r.get("redirect_uri"),
        link_user_id: r.get("link_user_id"),
        created_at: r.get("created_at"),
    }))
}

/// The account the issuer's subject signs in to.
#[tracing::instrument(name = "sql auth.linked_user", skip_all)]
pub async fn linked_user<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    provider: &str,
    subject: &str,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT user_id FROM user_identities WHERE provider = $1 AND subject = $2",
    )
    .bind(provider)
    .bind(subject)
    .fetch_optional(db)
    .await?)
}

/// Deletes the link steps opened before `before`.
#[tracing::instrument(name = "sql auth.delete_stale_sso_links", skip_all)]
pub async fn delete_stale_links<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    before: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM sso_links WHERE created_at < $1")
        .bind(before)
        .execute(db)
        .await?;
    Ok(())
}

#[tracing::instrument(name = "sql auth.insert_sso_link", skip_all)]
pub async fn insert_link<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    token_hash: &str,
    user_id: &str,
    link: &LinkRow,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sso_links (token_hash, provider, subject, user_id, email, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(&link.provider)
    .bind(&link.subject)
    .bind(user_id)
    .bind(&link.email)
    .bind(link.created_at)
    .execute(db)
    .await?;
    Ok(())
}

/// The provider, address and start of the link step stored under `token_hash`.
#[tracing::instrument(name = "sql auth.pending_sso_link", skip_all)]
pub async fn pending_link<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    token_hash: &str,
) -> Result<Option<IdentityRow>> {
    let row =
        sqlx::query("SELECT provider, email, created_at FROM sso_links WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(db)
            .await?;
    Ok(row.as_ref().map(identity_row))
}

/// Takes (deletes and returns) `user_id`'s link step stored under `token_hash`.
#[tracing::instrument(name = "sql auth.take_sso_link", skip_all)]
pub async fn take_link<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    token_hash: &str,
    user_id: &str,
) -> Result<Option<LinkRow>> {
    let row = sqlx::query(
        "DELETE FROM sso_links WHERE token_hash = $1 AND user_id = $2
         RETURNING provider, subject, email, created_at",
    )
    .bind(token_hash)
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| LinkRow {
        provider: r.get("provider"),
        subject: r.get("subject"),
        email: r.get("email"),
        created_at: r.get("created_at"),
    }))
}

/// Makes a new account one without a password of its own, with the address verified at
/// `email_verified_at` (or not) and the display name the provider gave.
#[tracing::instrument(name = "sql auth.set_sso_account", skip_all)]
pub async fn set_sso_account(
    conn: &mut AnyConnection,
    user_id: &str,
    email_verified_at: Option<i64>,
    display_name: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE users SET password_set_at = NULL, email_verified_at = $2, display_name = $3
         WHERE id = $1",
    )
    .bind(user_id)
    .bind(email_verified_at)
    .bind(display_name)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[tracing::instrument(name = "sql auth.insert_identity", skip_all)]
pub async fn insert_identity<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    provider: &str,
    subject: &str,
    user_id: &str,
    email: &str,
    now: i64,
    vouched: Vouched,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO user_identities
           (provider, subject, user_id, email, created_at, email_verified, account_verified)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(provider)
    .bind(subject)
    .bind(user_id)
    .bind(email)
    .bind(now)
    .bind(i64::from(vouched.email))
    .bind(i64::from(vouched.account))
    .execute(db)
    .await?;
    Ok(())
}

/// The account's address, if the account exists.
#[tracing::instrument(name = "sql auth.account_email", skip_all)]
pub async fn account_email(conn: &mut AnyConnection, user_id: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar::<_, String>("SELECT email FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Deletes the account's sign-ins nobody vouched for (the provider had not verified the
/// address, or it was linked to an address other than `account_email` while the account's
/// own was not verified); returns them.
#[tracing::instrument(name = "sql auth.delete_unvouched_identities", skip_all)]
pub async fn delete_unvouched_identities(
    conn: &mut AnyConnection,
    user_id: &str,
    account_email: &str,
) -> Result<Vec<IdentityRow>> {
    let rows = sqlx::query(
        "DELETE FROM user_identities
         WHERE user_id = $1
           AND (email_verified = 0 OR (account_verified = 0 AND email <> $2))
         RETURNING provider, email, created_at",
    )
    .bind(user_id)
    .bind(account_email)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(identity_row).collect())
}

/// The sign-ins linked to the account, oldest first.
#[tracing::instrument(name = "sql auth.identities_of", skip_all)]
pub async fn identities_of<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<Vec<IdentityRow>> {
    let rows = sqlx::query(
        "SELECT provider, email, created_at FROM user_identities WHERE user_id = $1
         ORDER BY created_at",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    Ok(rows.iter().map(identity_row).collect())
}

/// When the account's own password was set: None for no account, Some(None) for none set.
#[tracing::instrument(name = "sql auth.password_set_at", skip_all)]
pub async fn password_set_at<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
) -> Result<Option<Option<i64>>> {
    Ok(
        sqlx::query_scalar("SELECT password_set_at FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(db)
            .await?,
    )
}

#[tracing::instrument(name = "sql auth.delete_identity", skip_all)]
pub async fn delete_identity<'e, E: Executor<'e, Database = sqlx::Any>>(
    db: E,
    user_id: &str,
    provider: &str,
) -> Result<()> {
    sqlx::query("DELETE FROM user_identities WHERE user_id = $1 AND provider = $2")
        .bind(user_id)
        .bind(provider)
        .execute(db)
        .await?;
    Ok(())
}
