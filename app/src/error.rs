//! The client-safe error every server function returns. Mapped from the domain error
//! with an exhaustive match, so a new domain failure forces a decision here.

use serde::{Deserialize, Serialize};
use server_fn::codec::PostcardEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

#[cfg(feature = "hydrate")]
thread_local! {
    /// What runs when an answer says the session is over: the offline downloads register
    /// their wipe here at start-up (so this ground-floor file names no feature).
    static ON_SESSION_ENDED: std::cell::Cell<Option<fn()>> = const { std::cell::Cell::new(None) };
}

/// Registers what a 401 answer runs in the browser (the offline downloads' wipe).
#[cfg(feature = "hydrate")]
pub fn on_session_ended(run: fn()) {
    ON_SESSION_ENDED.with(|c| c.set(Some(run)));
}

/// The server said this browser's session is over (a 401): runs what was registered.
#[cfg(feature = "hydrate")]
pub fn session_ended() {
    if let Some(run) = ON_SESSION_ENDED.with(std::cell::Cell::get) {
        run();
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please sign in to continue.")]
    Unauthenticated,
    #[error("You are not allowed to do that.")]
    Forbidden,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    RateLimited(String),
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// Transport or (de)serialization failure between browser and server.
    #[error("Could not reach Refrain: {0}")]
    Request(String),
    /// A service the server needs is not answering; try again shortly.
    #[error("{0}")]
    Unavailable(String),
}

impl FromServerFnError for AppError {
    type Encoder = PostcardEncoding;
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Request(value.to_string())
    }

    /// Every server function's error answer is read here in the browser: a 401 means the
    /// session is over (expired, or ended elsewhere), so this browser's downloads go.
    fn de(data: server_fn::Bytes) -> Self {
        use server_fn::Decodes;
        let e = <PostcardEncoding as Decodes<Self>>::decode(data).unwrap_or_else(|e| {
            Self::from_server_fn_error(ServerFnErrorErr::Deserialization(e.to_string()))
        });
        #[cfg(feature = "hydrate")]
        if e == AppError::Unauthenticated {
            session_ended();
        }
        e
    }
}

#[cfg(feature = "ssr")]
impl From<backend::Error> for AppError {
    fn from(e: backend::Error) -> Self {
        let retry_after = match &e {
            backend::Error::Throttled { retry_after_secs }
            | backend::Error::Unavailable {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        };
        let app = Self::from_domain(e);
        // Give the HTTP response a status that says what happened (a wrong password is a
        // 400, not a server failure); the body still carries the error for the client. Not
        // for a plain form post (no JavaScript): that answer must stay the redirect back to
        // the page, which shows the error carried in the URL.
        if let Some(res) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
            && !plain_form_post()
        {
            res.set_status(app.status());
            if let Some(secs) = retry_after {
                res.insert_header(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from(secs),
                );
            }
        }
        app
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode as S;
        match self {
            AppError::Unauthenticated => S::UNAUTHORIZED,
            AppError::Forbidden => S::FORBIDDEN,
            AppError::NotFound(_) => S::NOT_FOUND,
            AppError::Invalid(_) => S::BAD_REQUEST,
            AppError::RateLimited(_) => S::TOO_MANY_REQUESTS,
            AppError::Internal => S::INTERNAL_SERVER_ERROR,
            AppError::Request(_) => S::BAD_REQUEST,
            AppError::Unavailable(_) => S::SERVICE_UNAVAILABLE,
        }
    }

    fn from_domain(e: backend::Error) -> Self {
        use backend::Error as E;
        match e {
            E::Unauthenticated => AppError::Unauthenticated,
            E::Forbidden => AppError::Forbidden,
            E::NotFound(what) => AppError::NotFound(format!("That {what} does not exist.")),
            E::Invalid(msg) => AppError::Invalid(upper_first(&msg)),
            E::EmailTaken => AppError::Invalid(
                "An account with this email already exists. Try logging in.".into(),
            ),
            E::WeakPassword(why) => {
                AppError::Invalid(format!("Choose a stronger password: {why}."))
            }
            E::BadCredentials => AppError::Invalid("Wrong email or password.".into()),
            E::EmailNotVerified => AppError::Invalid(
                "Confirm your email address first: follow the link we sent you.".into(),
            ),
            E::AccountDisabled => AppError::Invalid(
                "This account has been disabled. Contact the admin of this server.".into(),
            ),
            E::SecondFactorRequired => {
                AppError::Invalid("Enter the code from your authenticator app.".into())
            }
            E::BadCode => AppError::Invalid(
                "That code is not valid. Each code works once; wait for the next one.".into(),
            ),
            E::Throttled { retry_after_secs } => AppError::RateLimited(format!(
                "Too many attempts. Try again in {}.",
                if retry_after_secs < 90 {
                    format!("{retry_after_secs} seconds")
                } else {
                    format!("{} minutes", retry_after_secs.div_ceil(60))
                }
            )),
            E::Unavailable {
                what,
                retry_after_secs,
            } => AppError::Unavailable(format!(
                "{} is not answering right now. Try again in {retry_after_secs} seconds.",
                upper_first(what)
            )),
            E::QuotaExceeded { quota } => AppError::Invalid(format!(
                "Your storage is full ({} MB). Delete some of your uploads or ask an admin for more room.",
                quota / 1024 / 1024
            )),
            E::TooLarge { limit } => AppError::Invalid(format!(
                "The file is too large (limit {} MB).",
                limit / 1024 / 1024
            )),
            e @ (E::Database(_) | E::Storage(_) | E::Unexpected(_)) => {
                tracing::error!(error = %format!("{e:#}"), "unexpected error in a server function");
                AppError::Internal
            }
        }
    }
}

/// "invalid input" -> "Invalid input" (domain messages start lower-case; the server's
/// media answers read them the same way).
#[cfg(feature = "ssr")]
pub fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Whether the server function runs for a plain HTML form the browser posted (no
/// JavaScript yet, or none): such a request accepts HTML, and its answer is a redirect.
#[cfg(feature = "ssr")]
pub fn plain_form_post() -> bool {
    leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|p| {
            p.headers
                .get(axum::http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(|a| a.contains("text/html"))
        })
        .unwrap_or(false)
}
