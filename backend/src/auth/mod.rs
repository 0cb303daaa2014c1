//! Accounts, passwords, logins and the database-backed session store.

pub mod account;
pub mod api_tokens;
pub mod audit;
pub mod email;
pub mod identities;
pub mod logins;
pub mod notices;
pub(crate) mod password;
pub mod profile;
pub mod repo;
mod service;
pub(crate) use service::{live_login_window, login_used};
pub mod sso;
pub mod throttle;
pub mod totp;
pub mod two_factor;

pub use password::{check_password_policy, sha256_hex};

/// An argon2id hash of `password` (off the async threads).
pub async fn hash_password(password: &str) -> crate::Result<String> {
    password::hash(password.to_string()).await
}
pub use crate::infra::sessions::{
    DbSessionStore, RedisSessionStore, SESSION_LOGIN_KEY, SessionBackend,
};
pub use service::{
    CurrentUser, LoginStep, Role, device_token, login, login_via, logout, normalize_email, signup,
    signup_from, user_for_login,
};
