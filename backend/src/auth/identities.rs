//! The sign-ins linked to an account (`user_identities`) as people see them, and what
//! happens to those nobody vouched for once the account's address is proven. Apart from
//! `sso.rs` (the sign-in flow) so that confirming an address (`email.rs`) does not reach
//! into the flow, which itself sends email.

use super::repo::sso as sso_repo;
use crate::config::SsoProvider;
use crate::{Core, Error, Result};
use sqlx::AnyConnection;

/// One sign-in connected to an account, as Settings lists it.
#[derive(Debug, Clone)]
pub struct Identity {
    pub provider: String,
    pub provider_name: String,
    pub email: String,
    pub linked_at: i64,
}

pub(super) fn provider<'a>(core: &'a Core, id: &str) -> Result<&'a SsoProvider> {
    core.config
        .sso
        .providers
        .iter()
        .find(|p| p.id == id)
        .ok_or(Error::NotFound("sign-in provider"))
}

pub(super) fn provider_name(core: &Core, id: &str) -> String {
    provider(core, id).map_or_else(|_| id.to_string(), |p| p.name.clone())
}

/// A linked sign-in as read from `user_identities` (`provider`, `email`, `created_at`).
pub(super) fn identity_of(core: &Core, r: sso_repo::IdentityRow) -> Identity {
    Identity {
        provider_name: provider_name(core, &r.provider),
        provider: r.provider,
        email: r.email,
        linked_at: r.created_at,
    }
}

/// After the owner of `user_id`'s address proved it (a password reset, a confirmed
/// address; also the command line's reset), inside that transaction: drops the sign-ins
/// nobody vouched for when they were linked, which someone else may have linked before:
/// those whose address the provider had not verified, and those linked to another
/// address while the account's own was not yet verified. The account's address is told
/// which went (provider and address), through the outbox like every email. Returns them.
pub(crate) async fn drop_unvouched_identities(
    conn: &mut AnyConnection,
    core: &Core,
    user_id: &str,
) -> Result<Vec<Identity>> {
    let Some(account_email) = sso_repo::account_email(conn, user_id).await? else {
        return Ok(Vec::new());
    };
    let rows = sso_repo::delete_unvouched_identities(conn, user_id, &account_email).await?;
    let mut dropped: Vec<Identity> = rows.into_iter().map(|r| identity_of(core, r)).collect();
    if dropped.is_empty() {
        return Ok(dropped);
    }
    dropped.sort_by(|a, b| (a.linked_at, &a.provider).cmp(&(b.linked_at, &b.provider)));
    let list = dropped
        .iter()
        .map(|i| {
            let address = if i.email.is_empty() {
                "no address given".to_string()
            } else {
                i.email.clone()
            };
            format!("  - {} ({address})", i.provider_name)
        })
        .collect::<Vec<_>>()
        .join("\n");
    let base = core.config.public_url();
    crate::events::repo::queue_email(
        conn,
        user_id,
        &account_email,
        "Sign-ins removed from your Refrain account".into(),
        format!(
            "The password of your Refrain account was reset, or its address confirmed, so \
             these sign-ins were disconnected from it: they were connected from an address \
             nobody had verified, and may not be yours:\n\n\
             {list}\n\nIf one is yours, sign in and connect it again in Settings \
             ({base}/settings). An account without a password of its own gets one with \
             Forgot your password? on the login page.\n"
        ),
    )
    .await?;
    tracing::info!(%user_id, dropped = dropped.len(), "unverified sign-ins disconnected");
    Ok(dropped)
}
