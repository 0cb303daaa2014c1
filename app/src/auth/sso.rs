//! Single sign-on (OpenID Connect, Google): the buttons on the login and sign-up pages,
//! the start and callback endpoints (`GET /sso/start`, `GET /sso/callback`: plain links
//! and the provider's redirect, so they work without JavaScript; outside `/api/`, whose
//! server functions take POST only), the page that links a sign-in to an existing account
//! by its password, and the Settings section of connected sign-ins, whose *Connect*
//! buttons post to `POST /sso/connect` (it ties the sign-in to the signed-in account: a
//! change of state, so a POST, refused from other sites like every POST).
//!
//! A started sign-in is bound to the browser that started it: its `state` is kept in
//! that browser's session, and a callback arriving in another browser (a link someone
//! sent) is refused, so nobody can sign a victim in to the sender's account.

use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};
use server_fn::codec::{GetUrl, Postcard};

/// A configured provider, as a button shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoButton {
    pub id: String,
    pub name: String,
}

/// A sign-in connected to the user's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedSignIn {
    pub provider: String,
    pub name: String,
    pub email: String,
    pub linked_at: i64,
}

/// Settings' view of how the user signs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInInfo {
    pub linked: Vec<LinkedSignIn>,
    /// Configured providers not connected yet.
    pub available: Vec<SsoButton>,
    /// Whether the account has a password of its own (an account a sign-in made has
    /// none until a reset link sets one).
    pub has_password: bool,
}

/// The providers the login page offers (no sign-in needed: they are on the login page).
#[server(output = Postcard)]
pub async fn sso_providers() -> Result<Vec<SsoButton>, AppError> {
    let core = crate::ssr::core()?;
    Ok(backend::auth::sso::providers(&core)
        .into_iter()
        .map(|(id, name)| SsoButton { id, name })
        .collect())
}

#[cfg(feature = "ssr")]
fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Where a failed sign-in sends the browser: the reason waits in its session (a URL
/// could be made to show anything), and the page it lands on shows it once.
#[cfg(feature = "ssr")]
async fn fail(connecting: bool, why: String) -> Result<(), AppError> {
    crate::ssr::remember_sso_error(&why).await?;
    leptos_axum::redirect(if connecting {
        "/settings?sso_error=1#sign-in-methods"
    } else {
        "/login?sso_error=1"
    });
    Ok(())
}

/// The reason the last sign-in at a provider failed in this browser, once.
#[server(output = Postcard)]
pub async fn sso_error() -> Result<Option<String>, AppError> {
    crate::ssr::take_sso_error().await
}

/// `GET /sso/start?provider=…`: off to the provider's sign-in page. Connecting a sign-in
/// to the signed-in account is `POST /sso/connect`; a GET that asks for it (an old
/// bookmark, or a link another site put on a page) starts nothing.
#[server(prefix = "/sso", endpoint = "start", input = GetUrl)]
pub async fn sso_start(provider: String, connect: Option<bool>) -> Result<(), AppError> {
    if connect.unwrap_or(false) {
        return fail(
            true,
            "To connect a sign-in, use its Connect button here in Settings.".into(),
        )
        .await;
    }
    begin_at(provider, None).await
}

/// `POST /sso/connect` (`provider`): the signed-in user connects a sign-in at that
/// provider to their account (Settings' *Connect* buttons, a plain form).
#[server(prefix = "/sso", endpoint = "connect", output = Postcard)]
pub async fn sso_connect(provider: String) -> Result<(), AppError> {
    match crate::ssr::current_user().await? {
        Some(u) => begin_at(provider, Some(u.id)).await,
        None => {
            leptos_axum::redirect("/login");
            Ok(())
        }
    }
}

/// Starts a sign-in at `provider` (for `link_user` to connect, if given) and sends the
/// browser there, its `state` kept in the browser's session.
#[cfg(feature = "ssr")]
async fn begin_at(provider: String, link_user: Option<String>) -> Result<(), AppError> {
    let core = crate::ssr::core()?;
    let connecting = link_user.is_some();
    let redirect_uri = format!("{}/sso/callback", core.config.public_url());
    match backend::auth::sso::begin(&core, &provider, &redirect_uri, link_user.as_deref()).await {
        Ok(started) => {
            crate::ssr::remember_sso_state(&started.state).await?;
            leptos_axum::redirect(&started.url);
        }
        // Settings' hydrated form stays on its page and shows why beside its buttons.
        Err(e) if connecting && !crate::ssr::plain_form_post() => return Err(e.into()),
        Err(e) => fail(connecting, AppError::from(e).to_string()).await?,
    }
    Ok(())
}

/// `GET /sso/callback?code=…&state=…`: where the provider sends the browser back.
/// Whatever happens, it answers with a redirect (a page, not an error body).
#[server(prefix = "/sso", endpoint = "callback", input = GetUrl)]
pub async fn sso_callback(
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
) -> Result<(), AppError> {
    use backend::auth::{LoginStep, sso::Outcome};
    let core = crate::ssr::core()?;
    // The browser that started this sign-in, and only it, may finish it.
    let started_here = match (&state, crate::ssr::take_sso_state().await?) {
        (Some(s), Some(kept)) => s.as_str() == kept.as_str(),
        _ => false,
    };
    let Some(state) = state.filter(|_| started_here) else {
        return fail(
            false,
            "This sign-in was started in another browser or has already been used. Start again here.".into(),
        )
        .await;
    };
    let Some(code) = code else {
        // Cancelled or refused at the provider (its words, for this browser's own flow).
        let why = match (error.as_deref(), error_description) {
            (Some("access_denied"), _) => "The sign-in was cancelled.".to_string(),
            (_, Some(d)) if !d.trim().is_empty() => format!(
                "The provider refused the sign-in: {}",
                d.chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect::<String>()
            ),
            _ => "The provider refused the sign-in.".to_string(),
        };
        return fail(false, why).await;
    };
    match backend::auth::sso::finish(&core, &state, &code).await {
        Ok(Outcome::Login(LoginStep::Done(user))) => {
            crate::ssr::begin_session(&user).await?;
            leptos_axum::redirect("/");
        }
        Ok(Outcome::Login(LoginStep::NeedsCode(pending))) => {
            crate::ssr::begin_pending_login(&pending).await?;
            leptos_axum::redirect("/login?step=code");
        }
        Ok(Outcome::LinkNeeded { token }) => {
            leptos_axum::redirect(&format!("/link-account?token={token}"));
        }
        Ok(Outcome::Linked { user_id, provider }) => {
            // The session that started connecting is still this user's.
            match crate::ssr::current_user().await? {
                Some(u) if u.id == user_id => leptos_axum::redirect(&format!(
                    "/settings?linked={}#sign-in-methods",
                    urlencode(&provider)
                )),
                _ => {
                    return fail(
                        false,
                        AppError::from(backend::Error::Unauthenticated).to_string(),
                    )
                    .await;
                }
            }
        }
        Err(e) => return fail(false, AppError::from(e).to_string()).await,
    }
    Ok(())
}

/// The pending link the link page names: (email, provider name).
#[server(output = Postcard)]
pub async fn pending_link(token: String) -> Result<(String, String), AppError> {
    let core = crate::ssr::core()?;
    let link = backend::auth::sso::pending_link(&core, &token).await?;
    Ok((link.email, link.provider_name))
}

/// The link step: the existing account's password links the sign-in to it and signs in
/// (or, with two-factor on, asks for the code first).
#[server(output = Postcard)]
pub async fn link_account(token: String, password: String) -> Result<(), AppError> {
    use backend::auth::LoginStep;
    let core = crate::ssr::core()?;
    let from = crate::ssr::client_ip().await?;
    match backend::auth::sso::link_with_password(&core, &token, &password, from).await? {
        LoginStep::Done(user) => {
            crate::ssr::begin_session(&user).await?;
            leptos_axum::redirect("/");
        }
        LoginStep::NeedsCode(pending) => {
            crate::ssr::begin_pending_login(&pending).await?;
            leptos_axum::redirect("/login?step=code");
        }
    }
    Ok(())
}

#[server(output = Postcard)]
pub async fn sign_in_methods() -> Result<SignInInfo, AppError> {
    let user = crate::ssr::require_user().await?;
    let core = crate::ssr::core()?;
    let (list, has_password) = backend::auth::sso::identities(&core, &user).await?;
    let available = backend::auth::sso::providers(&core)
        .into_iter()
        .filter(|(id, _)| !list.iter().any(|i| &i.provider == id))
        .map(|(id, name)| SsoButton { id, name })
        .collect();
    Ok(SignInInfo {
        linked: list
            .into_iter()
            .map(|i| LinkedSignIn {
                provider: i.provider,
                name: i.provider_name,
                email: i.email,
                linked_at: i.linked_at,
            })
            .collect(),
        available,
        has_password,
    })
}

#[server(output = Postcard)]
pub async fn disconnect_sign_in(provider: String) -> Result<(), AppError> {
    let user = crate::ssr::require_user().await?;
    let core = crate::ssr::core()?;
    backend::auth::sso::unlink(&core, &user, &provider).await?;
    if crate::ssr::plain_form_post() {
        leptos_axum::redirect("/settings#sign-in-methods");
    }
    Ok(())
}

/// "Continue with …" links, or nothing when no provider is configured.
#[component]
pub fn SsoButtons() -> impl IntoView {
    let providers = crate::wire::resource(|| (), |_| sso_providers());
    view! {
        <Suspense fallback=|| ()>
            {move || providers.get().and_then(Result::ok).filter(|p| !p.is_empty()).map(|list| view! {
                <div class="sso-buttons" data-testid="sso-buttons">
                    <p class="divider"><span>"or"</span></p>
                    {list.into_iter().map(|p| view! {
                        // A full navigation (rel=external): the server answers with a
                        // redirect to the provider.
                        <a class="btn sso" rel="external" href=format!("/sso/start?provider={}", p.id)>
                            "Continue with " {p.name}
                        </a>
                    }).collect_view()}
                </div>
            })}
        </Suspense>
    }
}

/// After a failed sign-in at a provider (the page was opened with `?sso_error=1`): why,
/// from the session (taken once: the server reads it and the client gets the value with
/// the page). Create it where the page's component is set up, never inside a closure that
/// runs when another resource resolves: a resource made there gets a different id on the
/// server and in the browser, and the page fails to hydrate.
fn sso_error_reason() -> crate::wire::Res<Option<String>> {
    let failed =
        leptos_router::hooks::use_query_map().with_untracked(|q| q.get("sso_error").is_some());
    crate::wire::resource(
        move || failed,
        |failed| async move {
            if failed {
                sso_error().await.ok().flatten()
            } else {
                None
            }
        },
    )
}

/// Why the last sign-in at a provider failed, if the page was opened after one.
#[component]
pub fn SsoError() -> impl IntoView {
    let why = sso_error_reason();
    view! { <SsoErrorNote why/> }
}

#[component]
fn SsoErrorNote(why: crate::wire::Res<Option<String>>) -> impl IntoView {
    view! {
        <Suspense fallback=|| ()>
            {move || why.get().flatten().map(|e| view! { <p class="form-error" role="alert" data-testid="sso-error">{e}</p> })}
        </Suspense>
    }
}

/// `/link-account?token=…`: a first sign-in at a provider whose verified email has an
/// account here; that account's password links the two.
#[component]
pub fn LinkAccountPage() -> impl IntoView {
    let token = StoredValue::new(
        leptos_router::hooks::use_query_map()
            .with_untracked(|q| q.get("token").unwrap_or_default()),
    );
    let link = ServerAction::<LinkAccount>::new();
    let pending = crate::wire::resource(move || token.get_value(), pending_link);
    view! {
        <leptos_meta::Title text="Link your sign-in"/>
        <div class="auth-page">
            <div class="auth-card">
                <h1 class="brand-big">"Refrain"</h1>
                <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || pending.get().map(|r| match r {
                        Err(e) => view! {
                            <p class="form-error" role="alert">{e.to_string()}</p>
                            <p><A href="/login" attr:class="btn primary">"Back to log in"</A></p>
                        }.into_any(),
                        Ok((email, provider)) => view! {
                            <h2>"You already have an account"</h2>
                            <p class="muted" data-testid="link-explainer">
                                {format!("{email} already has a Refrain account. Enter its password once to link your {provider} sign-in to it; after that, {provider} signs you straight in.")}
                            </p>
                            <ActionForm action=link>
                                <input type="hidden" name="token" value=token.get_value()/>
                                <input type="email" name="email" value=email.clone() autocomplete="username" hidden/>
                                <label>"Password" <input type="password" name="password" autocomplete="current-password" required autofocus/></label>
                                {move || link.value().get().and_then(Result::err).map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })}
                                <button type="submit" class="btn primary" disabled=move || link.pending().get()>"Link and log in"</button>
                            </ActionForm>
                            <p class="muted"><A href="/forgot-password">"Forgot your password?"</A></p>
                            <p class="muted"><A href="/login">"Cancel"</A></p>
                        }.into_any(),
                    })}
                </Suspense>
            </div>
        </div>
    }
}

/// Settings: the sign-ins connected to the account, connect more, disconnect one.
#[component]
pub fn SignInMethodsSection() -> impl IntoView {
    let disconnect = ServerAction::<DisconnectSignIn>::new();
    let connect = ServerAction::<SsoConnect>::new();
    let methods = crate::wire::resource(move || disconnect.version().get(), |_| sign_in_methods());
    let linked_now = leptos_router::hooks::use_query_map().with_untracked(|q| q.get("linked"));
    let sso_failed = sso_error_reason();
    view! {
        <Transition fallback=|| ()>
            {move || methods.get().and_then(Result::ok)
                .filter(|m| !m.linked.is_empty() || !m.available.is_empty())
                .map(|m| {
                    let only_way = !m.has_password && m.linked.len() == 1;
                    view! {
                        <section class="card settings-section" id="sign-in-methods" aria-labelledby="sso-h">
                            <h2 id="sso-h">"Sign-in methods"</h2>
                            {linked_now.clone().map(|p| view! { <p class="form-ok" role="status">{format!("{p} is connected: it signs you in from now on.")}</p> })}
                            <SsoErrorNote why=sso_failed/>
                            {(!m.has_password).then(|| view! {
                                <p class="hint" data-testid="no-password">"Your account has no password of its own. To set one, use “Forgot your password?” on the login page."</p>
                            })}
                            <ul class="session-list" data-testid="sign-in-methods">
                                {m.linked.into_iter().map(|l| {
                                    let provider = l.provider.clone();
                                    view! {
                                        <li class="session">
                                            <div class="session-text">
                                                <strong>{l.name.clone()}</strong>
                                                <span class="muted">{l.email.clone()} " · connected " {crate::ui::format::ago(l.linked_at)}</span>
                                            </div>
                                            {(!only_way).then(|| view! {
                                                <button class="btn ghost" on:click=move |_| {
                                                    disconnect.dispatch(DisconnectSignIn { provider: provider.clone() });
                                                }>"Disconnect"</button>
                                            })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                            {move || disconnect.value().get().and_then(Result::err).map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })}
                            <div class="row-actions">
                                // Plain forms underneath (they work without JavaScript);
                                // hydrated, the answer's redirect to the provider is
                                // followed by the page.
                                {m.available.into_iter().map(|p| {
                                    let id = p.id.clone();
                                    crate::wire::post_form(
                                        connect,
                                        move || SsoConnect { provider: id.clone() },
                                        view! {
                                            <input type="hidden" name="provider" value=p.id.clone()/>
                                            <button type="submit" class="btn" disabled=move || connect.pending().get()>
                                                "Connect " {p.name.clone()}
                                            </button>
                                        },
                                    )
                                }).collect_view()}
                            </div>
                            {move || connect.value().get().and_then(Result::err).map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })}
                        </section>
                    }
                })}
        </Transition>
    }
}
