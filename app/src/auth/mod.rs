//! Sign up, log in (with a second step when two-factor is on), log out: server functions
//! and their pages.

pub mod sso;

use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};
use server_fn::codec::Postcard;

/// What the client knows about the signed-in user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: String,
    pub email: String,
    pub role: String,
    /// What the app calls the user: their display name, or their email.
    pub name: String,
    /// The URL of their picture (versioned, so a new picture shows at once).
    pub avatar: Option<String>,
}

/// The version of a stored picture: its key's file name without extension.
pub fn avatar_version(key: &str) -> &str {
    let file = key.rsplit('/').next().unwrap_or(key);
    file.split('.').next().unwrap_or(file)
}

pub fn avatar_url(user_id: &str, key: &str) -> String {
    format!("/avatars/{user_id}?v={}", avatar_version(key))
}

#[server(output = Postcard)]
pub async fn current_user() -> Result<Option<UserInfo>, AppError> {
    let Some(u) = crate::ssr::current_user().await? else {
        return Ok(None);
    };
    let core = crate::ssr::core()?;
    let name = backend::auth::profile::display_name(&core, &u.id)
        .await?
        .unwrap_or_else(|| u.email.clone());
    let avatar = backend::auth::profile::avatar_key(&core, &u.id)
        .await?
        .map(|k| avatar_url(&u.id, &k));
    Ok(Some(UserInfo {
        avatar,
        id: u.id,
        role: u.role.as_str().to_string(),
        email: u.email,
        name,
    }))
}

/// Where a sign-up leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignupOutcome {
    SignedIn,
    /// This server requires a confirmed address: the link went to this email.
    CheckEmail(String),
}

/// `artist_name`, when given, also asks an admin to make the new account an artist.
#[server(output = Postcard)]
pub async fn signup(
    email: String,
    password: String,
    artist_name: Option<String>,
) -> Result<SignupOutcome, AppError> {
    let core = crate::ssr::core()?;
    let artist_name = artist_name.filter(|n| !n.trim().is_empty());
    if let Some(name) = &artist_name {
        // Checked before the account exists, so a bad name loses nothing.
        backend::artists::check_name(name)?;
    }
    let from = crate::ssr::client_ip().await?;
    let user = backend::auth::signup_from(&core, &email, &password, from).await?;
    if let Some(name) = artist_name {
        backend::artists::request(&core, &user, &name, "").await?;
    }
    if core.config.auth.email_verification == backend::config::EmailVerification::Required {
        backend::auth::logout(&core, &user.login_id).await?;
        return Ok(SignupOutcome::CheckEmail(user.email));
    }
    crate::ssr::begin_session(&user).await?;
    leptos_axum::redirect("/");
    Ok(SignupOutcome::SignedIn)
}

/// Sends a new password-reset link if the address has an account; says the same either way.
#[server(output = Postcard)]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    let core = crate::ssr::core()?;
    let from = crate::ssr::client_ip().await?;
    Ok(backend::auth::email::request_password_reset(&core, &email, from).await?)
}

#[server(output = Postcard)]
pub async fn reset_password(token: String, password: String) -> Result<(), AppError> {
    let core = crate::ssr::core()?;
    Ok(backend::auth::email::reset_password(&core, &token, &password).await?)
}

#[server(output = Postcard)]
pub async fn verify_email(token: String) -> Result<(), AppError> {
    let core = crate::ssr::core()?;
    backend::auth::email::verify_email(&core, &token).await?;
    // A form posted without JavaScript lands back on the page, saying it is done.
    if crate::ssr::plain_form_post() {
        leptos_axum::redirect("/verify-email?confirmed=1");
    }
    Ok(())
}

/// Ends the session a new-device sign-in notice named (its link's token); no sign-in
/// needed.
#[server(output = Postcard)]
pub async fn end_session_by_link(token: String) -> Result<(), AppError> {
    let core = crate::ssr::core()?;
    backend::auth::notices::end_login_by_link(&core, &token).await?;
    if crate::ssr::plain_form_post() {
        leptos_axum::redirect("/end-session?ended=1");
    }
    Ok(())
}

#[server(output = Postcard)]
pub async fn confirm_email_change(token: String) -> Result<String, AppError> {
    let core = crate::ssr::core()?;
    let address = backend::auth::email::confirm_email_change(&core, &token).await?;
    if crate::ssr::plain_form_post() {
        leptos_axum::redirect("/confirm-email?confirmed=1");
    }
    Ok(address)
}

/// Where a correct password leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoginOutcome {
    SignedIn,
    /// Two-factor is on: the code form comes next.
    CodeNeeded,
}

#[server(output = Postcard)]
pub async fn login(email: String, password: String) -> Result<LoginOutcome, AppError> {
    use backend::auth::LoginStep;
    let core = crate::ssr::core()?;
    let from = crate::ssr::client_ip().await?;
    let device = crate::ssr::device_cookie().await;
    let pathway = backend::auth::audit::Pathway::Web;
    match backend::auth::login_via(&core, pathway, &email, &password, from, device.as_deref())
        .await?
    {
        LoginStep::Done(user) => {
            crate::ssr::begin_session(&user).await?;
            leptos_axum::redirect("/");
            Ok(LoginOutcome::SignedIn)
        }
        LoginStep::NeedsCode(pending) => {
            crate::ssr::begin_pending_login(&pending).await?;
            Ok(LoginOutcome::CodeNeeded)
        }
    }
}

/// The second login step: an authenticator code or a recovery code.
#[server(output = Postcard)]
pub async fn verify_login_code(code: String) -> Result<(), AppError> {
    crate::ssr::complete_pending_login(&code).await?;
    leptos_axum::redirect("/");
    Ok(())
}

#[server(output = Postcard)]
pub async fn logout() -> Result<(), AppError> {
    crate::ssr::end_session().await?;
    // Nothing of this user stays in the browser: downloads, stored plays and caches go
    // (the client deletes its downloads first too; this also covers a logout without
    // JavaScript).
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.insert_header(
            axum::http::HeaderName::from_static("clear-site-data"),
            axum::http::HeaderValue::from_static("\"cache\", \"storage\""),
        );
    }
    leptos_axum::redirect("/login");
    Ok(())
}

/// The login and sign-up pages' actions (each page makes its own). The signed-in layout
/// loads the user itself each time it mounts, so it never sees a value from before a
/// login or logout.
#[derive(Clone, Copy)]
pub struct Auth {
    pub login: ServerAction<Login>,
    pub verify_code: ServerAction<VerifyLoginCode>,
    pub signup: ServerAction<Signup>,
}

pub fn provide_auth() -> Auth {
    let login = ServerAction::<Login>::new();
    let verify_code = ServerAction::<VerifyLoginCode>::new();
    let signup = ServerAction::<Signup>::new();
    let auth = Auth {
        login,
        verify_code,
        signup,
    };
    provide_context(auth);
    auth
}

pub fn use_auth() -> Auth {
    expect_context::<Auth>()
}

fn error_text<T>(r: Option<Result<T, AppError>>) -> Option<String> {
    match r {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    // Actions of its own, made inside the route: a fresh visit starts at the password
    // step, and an error that a form posted without JavaScript came back with (in the
    // URL) shows here.
    let auth = provide_auth();
    let error = move || error_text(auth.login.value().get());
    // A single sign-on that needs the account's code comes back as /login?step=code.
    let code_step = leptos_router::hooks::use_query_map()
        .with_untracked(|q| q.get("step").is_some_and(|s| s == "code"));
    let code_needed =
        move || code_step || matches!(auth.login.value().get(), Some(Ok(LoginOutcome::CodeNeeded)));

    view! {
        <div class="auth-page">
            <div class="auth-card">
                <h1 class="brand-big">"Refrain"</h1>
                <Show when=code_needed fallback=move || view! {
                    <p class="muted">"Log in to your music."</p>
                    <ActionForm action=auth.login>
                        <label>"Email" <input type="email" name="email" autocomplete="username" required autofocus/></label>
                        <label>"Password" <input type="password" name="password" autocomplete="current-password" required/></label>
                        {move || error().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                        <button type="submit" class="btn primary" disabled=move || auth.login.pending().get()>
                            {move || if auth.login.pending().get() { "Logging in…" } else { "Log in" }}
                        </button>
                    </ActionForm>
                    <sso::SsoError/>
                    <sso::SsoButtons/>
                    <p class="muted"><A href="/forgot-password">"Forgot your password?"</A></p>
                    <p class="muted">"New here? " <A href="/signup">"Create an account"</A></p>
                }>
                    <SecondStep/>
                </Show>
            </div>
        </div>
    }
}

/// The code form shown after a correct password when two-factor is on.
#[component]
fn SecondStep() -> impl IntoView {
    let auth = use_auth();
    let error = move || error_text(auth.verify_code.value().get());
    let (recovery, set_recovery) = signal(false);
    view! {
        <p class="muted">
            {move || if recovery.get() {
                "Enter one of your recovery codes. Each works once."
            } else {
                "Enter the 6-digit code from your authenticator app."
            }}
        </p>
        <ActionForm action=auth.verify_code>
            <label>
                {move || if recovery.get() { "Recovery code" } else { "Code" }}
                <input type="text" name="code" data-testid="login-code" required autofocus
                    autocomplete="one-time-code" spellcheck="false"
                    inputmode=move || if recovery.get() { "text" } else { "numeric" }
                    maxlength="32"/>
            </label>
            {move || error().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
            <button type="submit" class="btn primary" disabled=move || auth.verify_code.pending().get()>
                {move || if auth.verify_code.pending().get() { "Checking…" } else { "Continue" }}
            </button>
        </ActionForm>
        <button type="button" class="btn ghost" data-testid="use-recovery"
            on:click=move |_| set_recovery.update(|r| *r = !*r)>
            {move || if recovery.get() { "Use the authenticator app instead" } else { "Use a recovery code" }}
        </button>
        <button type="button" class="btn ghost" on:click=move |_| {
            auth.verify_code.value().set(None);
            auth.login.value().set(None);
        }>"Start over"</button>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    // Made inside the route, so errors of a form posted without JavaScript show (as above).
    let auth = provide_auth();
    let error = move || error_text(auth.signup.value().get());
    let check_email = move || match auth.signup.value().get() {
        Some(Ok(SignupOutcome::CheckEmail(e))) => Some(e),
        _ => None,
    };
    view! {
        <div class="auth-page">
            <div class="auth-card">
                <h1 class="brand-big">"Refrain"</h1>
                <Show when=move || check_email().is_none() fallback=move || view! {
                    <h2>"Check your inbox"</h2>
                    <p data-testid="check-email">"We sent a link to " <strong>{check_email()}</strong>
                       ". Open it to confirm your address, then log in."</p>
                    <p class="muted"><A href="/login">"Go to log in"</A></p>
                }>
                <p class="muted">"Create your account. The first account on a server becomes its admin."</p>
                <ActionForm action=auth.signup>
                    <label>"Email" <input type="email" name="email" autocomplete="email" required autofocus/></label>
                    <label>"Password"
                        <input type="password" name="password" autocomplete="new-password" minlength="15" maxlength="256" required/>
                    </label>
                    <p class="hint">"At least 15 characters (a few words make a good one). Common passwords are refused."</p>
                    <details class="artist-signup">
                        <summary>"I'm an artist and want to publish my music"</summary>
                        <label>"Artist name"
                            <input type="text" name="artist_name" maxlength="100" autocomplete="off"/>
                        </label>
                        <p class="hint">"An admin approves artist accounts. Until then you can listen and upload for yourself."</p>
                    </details>
                    {move || error().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                    <button type="submit" class="btn primary" disabled=move || auth.signup.pending().get()>
                        {move || if auth.signup.pending().get() { "Creating…" } else { "Create account" }}
                    </button>
                </ActionForm>
                <sso::SsoButtons/>
                <p class="muted">"Already have an account? " <A href="/login">"Log in"</A></p>
                </Show>
            </div>
        </div>
    }
}

/// "Forgot your password?": asks for the address and always answers the same.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let request = ServerAction::<RequestPasswordReset>::new();
    view! {
        <leptos_meta::Title text="Reset your password"/>
        <div class="auth-page">
            <div class="auth-card">
                <h1 class="brand-big">"Refrain"</h1>
                <Show when=move || !matches!(request.value().get(), Some(Ok(()))) fallback=|| view! {
                    <p role="status" data-testid="reset-sent">
                        "If an account uses that address, a link to choose a new password is on its way. It works for 30 minutes."
                    </p>
                    <p class="muted"><A href="/login">"Back to log in"</A></p>
                }>
                    <p class="muted">"Enter your account's email address and we'll send you a link to choose a new password."</p>
                    <ActionForm action=request>
                        <label>"Email" <input type="email" name="email" autocomplete="username" required autofocus/></label>
                        {move || error_text(request.value().get()).map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                        <button type="submit" class="btn primary" disabled=move || request.pending().get()>"Send the link"</button>
                    </ActionForm>
                    <p class="muted"><A href="/login">"Back to log in"</A></p>
                </Show>
            </div>
        </div>
    }
}

fn token_from_query() -> String {
    leptos_router::hooks::use_query_map().with_untracked(|q| q.get("token").unwrap_or_default())
}

/// The page a reset link opens: choose a new password.
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let reset = ServerAction::<ResetPassword>::new();
    let token = StoredValue::new(token_from_query());
    view! {
        <leptos_meta::Title text="Choose a new password"/>
        <div class="auth-page">
            <div class="auth-card">
                <h1 class="brand-big">"Refrain"</h1>
                <Show when=move || !matches!(reset.value().get(), Some(Ok(()))) fallback=|| view! {
                    <p role="status" data-testid="reset-done">"Your password is changed and every session was logged out."</p>
                    <p><A href="/login" attr:class="btn primary">"Log in"</A></p>
                }>
                    <p class="muted">"Choose a new password. Every device signed in to your account will be logged out."</p>
                    <ActionForm action=reset>
                        <input type="hidden" name="token" value=token.get_value()/>
                        <label>"New password"
                            <input type="password" name="password" autocomplete="new-password" minlength="15" maxlength="256" required autofocus/>
                        </label>
                        {move || error_text(reset.value().get()).map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                        <button type="submit" class="btn primary" disabled=move || reset.pending().get()>"Set the new password"</button>
                    </ActionForm>
                </Show>
            </div>
        </div>
    }
}

/// The page a verification or change-of-address link opens. Opening it changes nothing:
/// mail scanners fetch the links in the emails they check, so the address is confirmed
/// only by pressing the button (a plain form post, which works before the client loads
/// or without JavaScript; on success the server sends the browser back here with
/// `?confirmed=1`).
#[component]
pub fn ConfirmEmailPage(#[prop(optional)] change: bool) -> impl IntoView {
    let token = StoredValue::new(token_from_query());
    let confirmed_before = leptos_router::hooks::use_query_map()
        .with_untracked(|q| q.get("confirmed").is_some_and(|v| v == "1"));
    let verify = ServerAction::<VerifyEmail>::new();
    let confirm = ServerAction::<ConfirmEmailChange>::new();
    let message = move || {
        if change {
            match confirm.value().get() {
                Some(Ok(address)) => Some(format!("Your address is now {address}.")),
                _ => confirmed_before.then(|| "Your new address is confirmed.".to_string()),
            }
        } else {
            (confirmed_before || matches!(verify.value().get(), Some(Ok(()))))
                .then(|| "Your email address is confirmed.".to_string())
        }
    };
    let error = move || {
        if change {
            error_text(confirm.value().get())
        } else {
            error_text(verify.value().get())
        }
    };
    let pending = move || verify.pending().get() || confirm.pending().get();
    let (intro, label) = if change {
        (
            "Confirm that this is your new email address.",
            "Use this address",
        )
    } else {
        (
            "Confirm your email address to finish setting up your account.",
            "Confirm my email",
        )
    };
    let fields = move || {
        view! {
            <input type="hidden" name="token" value=token.get_value()/>
            {move || error().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
            <button type="submit" class="btn primary" data-testid="confirm-email" disabled=pending>{label}</button>
        }
    };
    let form = if change {
        crate::wire::post_form(
            confirm,
            move || ConfirmEmailChange {
                token: token.get_value(),
            },
            fields(),
        )
        .into_any()
    } else {
        crate::wire::post_form(
            verify,
            move || VerifyEmail {
                token: token.get_value(),
            },
            fields(),
        )
        .into_any()
    };
    view! {
        <leptos_meta::Title text="Confirm your email"/>
        <div class="auth-page">
            <div class="auth-card">
                <h1 class="brand-big">"Refrain"</h1>
                {move || match message() {
                    Some(msg) => view! { <p role="status" data-testid="email-confirmed">{msg}</p> }.into_any(),
                    None => view! { <p class="muted">{intro}</p> }.into_any(),
                }}
                <div hidden=move || message().is_some()>{form}</div>
                <p><A href="/">"Open Refrain"</A></p>
            </div>
        </div>
    }
}

/// The page the link in a new-device sign-in notice opens. Opening it changes nothing (mail
/// scanners fetch links); the button ends that session, a plain form post that works
/// without JavaScript too.
#[component]
pub fn EndSessionPage() -> impl IntoView {
    let token = StoredValue::new(token_from_query());
    let ended_before = leptos_router::hooks::use_query_map()
        .with_untracked(|q| q.get("ended").is_some_and(|v| v == "1"));
    let end = ServerAction::<EndSessionByLink>::new();
    let done = move || ended_before || matches!(end.value().get(), Some(Ok(())));
    let form = crate::wire::post_form(
        end,
        move || EndSessionByLink {
            token: token.get_value(),
        },
        view! {
            <input type="hidden" name="token" value=token.get_value()/>
            {move || error_text(end.value().get()).map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
            <button type="submit" class="btn primary danger" data-testid="end-session" disabled=move || end.pending().get()>
                "End that session"
            </button>
        },
    );
    view! {
        <leptos_meta::Title text="End a session"/>
        <div class="auth-page">
            <div class="auth-card">
                <h1 class="brand-big">"Refrain"</h1>
                <Show when=done fallback=|| view! {
                    <p class="muted">"Someone signed in to your account on a new device. If it was not you, end that session; then choose a new password."</p>
                }>
                    <p role="status" data-testid="session-ended">
                        "That session has ended: the device is signed out. If it was not you who signed in, choose a new password now."
                    </p>
                    <p><A href="/forgot-password" attr:class="btn primary">"Choose a new password"</A></p>
                </Show>
                <div hidden=done>{form}</div>
                <p><A href="/">"Open Refrain"</A></p>
            </div>
        </div>
    }
}
