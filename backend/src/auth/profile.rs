//! The profile a user edits in settings: a display name shown instead of the email.

use super::service::CurrentUser;
use crate::{Core, Error, Result};

/// Longest display name, in characters.
pub const MAX_NAME: usize = 60;

pub async fn display_name(core: &Core, user_id: &str) -> Result<Option<String>> {
    let v: Option<Option<String>> =
        sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&core.db)
            .await?;
    Ok(v.flatten())
}

/// Sets (or with an empty name, clears) the display name. Control characters are refused;
/// surrounding spaces are trimmed.
pub async fn set_display_name(core: &Core, user: &CurrentUser, name: &str) -> Result<()> {
    let name = name.trim();
    if name.chars().count() > MAX_NAME {
        return Err(Error::Invalid(format!(
            "a display name has at most {MAX_NAME} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::Invalid(
            "a display name cannot contain control characters".into(),
        ));
    }
    let value = (!name.is_empty()).then_some(name);
    sqlx::query("UPDATE users SET display_name = $2 WHERE id = $1")
        .bind(&user.id)
        .bind(value)
        .execute(&core.db)
        .await?;
    Ok(())
}
