//! Sign up, log in (with a second step when two-factor is on), log out: server functions
//! and their pages.

pub mod security;

use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};

/// What the client knows about the signed-in user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: String,
    pub email: String,
    pub role: String,
}

#[server]
pub async fn current_user() -> Result<Option<UserInfo>, AppError> {
    Ok(crate::ssr::current_user().await?.map(|u| UserInfo {
        id: u.id,
        email: u.email,
        role: format!("{:?}", u.role).to_lowercase(),
    }))
}

#[server]
pub async fn signup(email: String, password: String) -> Result<(), AppError> {
    let core = crate::ssr::core()?;
    let user = backend::auth::signup(&core, &email, &password).await?;
    crate::ssr::begin_session(&user).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// Where a correct password leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoginOutcome {
    SignedIn,
    /// Two-factor is on: the code form comes next.
    CodeNeeded,
}

#[server]
pub async fn login(email: String, password: String) -> Result<LoginOutcome, AppError> {
    use backend::auth::LoginStep;
    let core = crate::ssr::core()?;
    let from = crate::ssr::client_ip().await?;
    match backend::auth::login(&core, &email, &password, from).await? {
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
#[server]
pub async fn verify_login_code(code: String) -> Result<(), AppError> {
    crate::ssr::complete_pending_login(&code).await?;
    leptos_axum::redirect("/");
    Ok(())
}

#[server]
pub async fn logout() -> Result<(), AppError> {
    crate::ssr::end_session().await?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// Shared auth actions. The signed-in layout loads the user itself each time it mounts,
/// so it never sees a value from before a login or logout.
#[derive(Clone, Copy)]
pub struct Auth {
    pub login: ServerAction<Login>,
    pub verify_code: ServerAction<VerifyLoginCode>,
    pub signup: ServerAction<Signup>,
    pub logout: ServerAction<Logout>,
}

pub fn provide_auth() -> Auth {
    let login = ServerAction::<Login>::new();
    let verify_code = ServerAction::<VerifyLoginCode>::new();
    let signup = ServerAction::<Signup>::new();
    let logout = ServerAction::<Logout>::new();
    let auth = Auth {
        login,
        verify_code,
        signup,
        logout,
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
    let auth = use_auth();
    let error = move || error_text(auth.login.value().get());
    let code_needed =
        move || matches!(auth.login.value().get(), Some(Ok(LoginOutcome::CodeNeeded)));
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
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let auth = use_auth();
    let error = move || error_text(auth.signup.value().get());
    view! {
        <div class="auth-page">
            <div class="auth-card">
                <h1 class="brand-big">"Refrain"</h1>
                <p class="muted">"Create your account. The first account on a server becomes its admin."</p>
                <ActionForm action=auth.signup>
                    <label>"Email" <input type="email" name="email" autocomplete="email" required autofocus/></label>
                    <label>"Password"
                        <input type="password" name="password" autocomplete="new-password" minlength="8" maxlength="128" required/>
                    </label>
                    <p class="hint">"At least 8 characters. Common passwords are refused."</p>
                    {move || error().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                    <button type="submit" class="btn primary" disabled=move || auth.signup.pending().get()>
                        {move || if auth.signup.pending().get() { "Creating…" } else { "Create account" }}
                    </button>
                </ActionForm>
                <p class="muted">"Already have an account? " <A href="/login">"Log in"</A></p>
            </div>
        </div>
    }
}
