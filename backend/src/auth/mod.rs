//! Accounts, passwords, logins and the database-backed session store.

pub mod account;
pub mod api_tokens;
pub mod audit;
pub mod email;
pub mod logins;
pub mod notices;
pub(crate) mod password;
pub mod profile;
mod redis_store;
mod refresh_repo;
pub mod repo;
mod service;
pub(crate) use service::{live_login_window, login_used};
mod session_store;
mod sessions;
pub mod sso;
pub mod throttle;
pub mod totp;
pub mod two_factor;
pub mod two_factor_repo;

pub use password::{check_password_policy, sha256_hex};

/// The session field naming the login a signed-in session belongs to (the web layer sets
/// it at sign-in; the session stores index their records by it so ending a login deletes
/// them).
pub const SESSION_LOGIN_KEY: &str = "login";

/// The login a stored session record belongs to, if it is signed in.
pub(crate) fn login_of(record: &tower_sessions::session::Record) -> Option<&str> {
    record.data.get(SESSION_LOGIN_KEY).and_then(|v| v.as_str())
}

/// An argon2id hash of `password` (off the async threads).
pub async fn hash_password(password: &str) -> crate::Result<String> {
    password::hash(password.to_string()).await
}
pub use redis_store::RedisSessionStore;
pub use service::{
    CurrentUser, LoginStep, Role, device_token, login, login_via, logout, normalize_email, signup,
    signup_from, user_for_login,
};
pub use session_store::DbSessionStore;
pub use sessions::SessionBackend;
