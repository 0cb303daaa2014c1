use super::repo::{self, ArtistRequest};
use crate::infra::actor::{CurrentUser, Role};
use crate::{Core, Error, Result, admin, new_id, now_ms};

pub const MAX_NAME: usize = 100;
pub const MAX_NOTE: usize = 500;

/// What the settings page shows about becoming (or being) an artist.
#[derive(Debug, Clone, PartialEq)]
pub struct ArtistStatus {
    pub role: Role,
    /// The profile an artist publishes as.
    pub profile: Option<String>,
    /// The newest request, whatever its state.
    pub request: Option<ArtistRequest>,
}

fn clean(text: &str, max: usize, what: &str) -> Result<String> {
    let t = text.trim();
    if t.chars().count() > max {
        return Err(Error::Invalid(format!(
            "the {what} is too long (at most {max} characters)"
        )));
    }
    if t.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Error::Invalid(format!(
            "the {what} contains control characters"
        )));
    }
    Ok(t.to_string())
}

/// The artist name as stored: trimmed, 1 to 100 characters, one line.
pub fn check_name(artist_name: &str) -> Result<String> {
    let name = clean(artist_name, MAX_NAME, "artist name")?;
    if name.is_empty() || name.contains('\n') {
        return Err(Error::Invalid("enter the name you publish under".into()));
    }
    Ok(name)
}

/// A listener asks to publish as `artist_name`; an admin decides.
pub async fn request(core: &Core, user: &CurrentUser, artist_name: &str, note: &str) -> Result<()> {
    if user.role != Role::Listener {
        return Err(Error::Invalid(match user.role {
            Role::Artist => "you are an artist already".into(),
            _ => "admins publish to the shared catalog already".into(),
        }));
    }
    let name = check_name(artist_name)?;
    let note = clean(note, MAX_NOTE, "note")?;
    match repo::insert(&core.db, &new_id(), &user.id, &name, &note, now_ms()).await {
        Ok(()) => {}
        Err(Error::Database(sqlx::Error::Database(e))) if e.is_unique_violation() => {
            return Err(Error::Invalid(
                "you already have a request waiting for an admin".into(),
            ));
        }
        Err(e) => return Err(e),
    }
    tracing::info!(user_id = %user.id, artist = %name, "artist account requested");
    Ok(())
}

pub async fn status(core: &Core, user: &CurrentUser) -> Result<ArtistStatus> {
    Ok(ArtistStatus {
        role: user.role,
        profile: repo::profile_name(&core.db, &user.id).await?,
        request: repo::latest_of(&core.db, &user.id).await?,
    })
}

/// Requests waiting for a decision, oldest first (admins only).
pub async fn pending_requests(core: &Core, admin: &CurrentUser) -> Result<Vec<ArtistRequest>> {
    admin::require_admin(core, admin).await?;
    repo::pending(&core.db, 200).await
}

/// Approves or declines a pending request (admins only, audited). Approval makes the
/// account an artist linked to the profile of that name (created if new); a profile that
/// another account already publishes as cannot be given away.
pub async fn decide(
    core: &Core,
    admin_user: &CurrentUser,
    request_id: &str,
    approve: bool,
) -> Result<()> {
    admin::require_admin(core, admin_user).await?;
    let now = now_ms();
    let mut tx = crate::db::begin(&core.db).await?;
    let Some(req) = repo::by_id(&mut tx, request_id).await? else {
        return Err(Error::NotFound("artist request"));
    };
    let state = if approve { "approved" } else { "declined" };
    if !repo::decide(&mut tx, request_id, state, &admin_user.id, now).await? {
        return Err(Error::Invalid("that request was decided already".into()));
    }
    if approve {
        let artist_id = crate::library::repo::upsert_artist(&mut tx, &req.artist_name).await?;
        if let Some(other) = repo::account_of_profile(&mut tx, &artist_id).await?
            && other != req.user_id
        {
            return Err(Error::Invalid(format!(
                "another account already publishes as {}",
                req.artist_name
            )));
        }
        if !repo::make_artist(&mut tx, &req.user_id, &artist_id).await? {
            return Err(Error::Invalid(
                "that account is no longer a listener; its role changed since it asked".into(),
            ));
        }
        crate::auth::notices::record(
            &mut tx,
            crate::auth::notices::ARTIST_APPROVED,
            &req.user_id,
            &crate::auth::notices::ArtistApproved {
                user_id: req.user_id.clone(),
                artist_name: req.artist_name.clone(),
            },
        )
        .await?;
    }
    let detail = format!(
        "{} {} as artist {:?}",
        req.email,
        if approve { "approved" } else { "declined" },
        req.artist_name
    );
    let action = if approve {
        "artist.approve"
    } else {
        "artist.decline"
    };
    admin::audit(&mut tx, admin_user, action, Some(&req.user_id), &detail).await?;
    tx.commit().await?;
    core.events.wake();
    Ok(())
}
