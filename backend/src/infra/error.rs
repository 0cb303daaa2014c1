use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The domain's one error type. Variants are things a caller may act on; anything else is
/// `Unexpected` and is logged once at the boundary that maps it for a client.
#[derive(Debug, Error)]
pub enum Error {
    #[error("not signed in")]
    Unauthenticated,
    #[error("not allowed")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("weak password: {0}")]
    WeakPassword(String),
    #[error("wrong email or password")]
    BadCredentials,
    #[error("this account uses two-factor authentication: a code is needed")]
    SecondFactorRequired,
    #[error("wrong or already used code")]
    BadCode,
    #[error("this account is disabled")]
    AccountDisabled,
    #[error("confirm your email address first")]
    EmailNotVerified,
    #[error("too many attempts; try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    /// A service this needs is not answering (its circuit breaker is open).
    #[error("{what} is not answering; try again in {retry_after_secs} s")]
    Unavailable {
        what: &'static str,
        retry_after_secs: u64,
    },
    #[error("file too large: the limit is {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("storage quota of {quota} bytes used up")]
    QuotaExceeded { quota: u64 },
    /// An error from the database; one that means it is not answering becomes
    /// [`Error::Unavailable`] instead (see `From<sqlx::Error>`).
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("storage error: {0}")]
    Storage(#[from] object_store::Error),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A database that is not answering (see [`crate::db::is_outage`]) is an outage the client
/// may retry (503), not a failure of ours (500); the cause is logged here, once.
impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if crate::db::is_outage(&e) {
            tracing::warn!(error = %e, "the database is not answering");
            Error::Unavailable {
                what: crate::db::NOT_ANSWERING,
                retry_after_secs: 5,
            }
        } else {
            Error::Database(e)
        }
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Error::Unexpected(anyhow::Error::new(e).context("running migrations"))
    }
}
