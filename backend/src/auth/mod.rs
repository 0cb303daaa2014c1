//! Accounts, passwords, logins and the database-backed session store.

mod password;
pub mod repo;
mod service;
mod session_store;

pub use password::check_password_policy;
pub use service::{CurrentUser, Role, login, logout, normalize_email, signup, user_for_login};
pub use session_store::DbSessionStore;
