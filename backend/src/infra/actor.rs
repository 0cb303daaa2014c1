//! Who is acting: the signed-in user of a request (with the login it came through) and
//! their role, which every domain service takes; and the one way an email address is
//! written down.

use super::error::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Artist,
    Listener,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Artist => "artist",
            Role::Listener => "listener",
        }
    }

    pub fn parse(s: &str) -> Result<Role> {
        match s {
            "admin" => Ok(Role::Admin),
            "artist" => Ok(Role::Artist),
            "listener" => Ok(Role::Listener),
            other => Err(anyhow::anyhow!("unknown role {other:?} in the database").into()),
        }
    }
}

/// The authenticated user of a request, with the login (session) it came through.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub login_id: String,
}

pub fn normalize_email(email: &str) -> Result<String> {
    let e = email.trim().to_lowercase();
    let valid = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(e)
    } else {
        Err(Error::Invalid("enter a valid email address".into()))
    }
}
