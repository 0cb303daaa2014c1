//! Counters of this process that several floors add to, rendered for `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// What an authentication failure was: a label of `refrain_auth_failures_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// A wrong email or password at login.
    Password,
    /// A wrong or reused two-factor code.
    SecondFactor,
    /// A wrong current password where one is asked again (change password, delete...).
    Reauth,
    /// A Subsonic app's wrong credentials or API key.
    AppCredentials,
    /// An ID token from a single sign-on provider refused (forged, replayed, expired).
    SingleSignOn,
}

const AUTH_FAILURE_KINDS: [(AuthFailure, &str); 5] = [
    (AuthFailure::Password, "password"),
    (AuthFailure::SecondFactor, "second_factor"),
    (AuthFailure::Reauth, "reauth"),
    (AuthFailure::AppCredentials, "app_credentials"),
    (AuthFailure::SingleSignOn, "single_sign_on"),
];

static AUTH_FAILURES: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];

/// Counts an authentication failure in this process (for `/metrics`).
pub fn count_auth_failure(kind: AuthFailure) {
    if let Some(i) = AUTH_FAILURE_KINDS.iter().position(|(k, _)| *k == kind) {
        AUTH_FAILURES[i].fetch_add(1, Ordering::Relaxed);
    }
}

/// Appends `refrain_auth_failures_total` by kind.
pub fn render_auth_failures(out: &mut String) {
    let _ = writeln!(
        out,
        "# HELP refrain_auth_failures_total Failed sign-ins and credential checks on this node, by kind."
    );
    let _ = writeln!(out, "# TYPE refrain_auth_failures_total counter");
    for (i, (_, label)) in AUTH_FAILURE_KINDS.iter().enumerate() {
        let _ = writeln!(
            out,
            "refrain_auth_failures_total{{kind=\"{label}\"}} {}",
            AUTH_FAILURES[i].load(Ordering::Relaxed)
        );
    }
}

/// Bytes the kept Subsonic transcodes took at the last count, and how many were dropped
/// to stay under the cap since start-up (for `/metrics`).
pub static TRANSCODES_KEPT_BYTES: AtomicU64 = AtomicU64::new(0);
pub static TRANSCODES_DROPPED: AtomicU64 = AtomicU64::new(0);
