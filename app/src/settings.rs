//! The Settings page: profile and picture, email address, the password, two-factor
//! authentication (QR code, confirm with a code, recovery codes shown once; off and new
//! codes with password and code), sign-in methods, app keys, downloads, playback, and the
//! list of signed-in devices, any of which can be logged out. Its server functions keep
//! the URLs they had as `auth::security` (`endpoint`).

use crate::error::AppError;
use crate::ui::dom::percent_encode;
#[cfg(feature = "hydrate")]
use crate::ui::dom::post_file;
use crate::ui::format::ago;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::Postcard;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TwoFactorInfo {
    pub enabled: bool,
    pub recovery_codes_left: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TotpEnrollment {
    /// Base32, for typing into an app that cannot scan.
    pub secret: String,
    pub uri: String,
    /// The QR code of `uri`, as SVG markup made on the server.
    pub qr_svg: String,
}

#[server(output = Postcard, endpoint = "two_factor_status683898942061850440")]
pub async fn two_factor_status() -> Result<TwoFactorInfo, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let s = backend::auth::two_factor::status(&core, &user).await?;
    Ok(TwoFactorInfo {
        enabled: s.enabled,
        recovery_codes_left: s.recovery_codes_left,
    })
}

#[server(output = Postcard, endpoint = "begin_totp_enrollment683898942061850440")]
pub async fn begin_totp_enrollment() -> Result<TotpEnrollment, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let e = backend::auth::two_factor::begin_enrollment(&core, &user).await?;
    Ok(TotpEnrollment {
        secret: e.secret,
        uri: e.uri,
        qr_svg: e.qr_svg,
    })
}

#[server(output = Postcard, endpoint = "confirm_totp_enrollment683898942061850440")]
pub async fn confirm_totp_enrollment(code: String) -> Result<Vec<String>, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::auth::two_factor::confirm_enrollment(&core, &user, &code).await?)
}

#[server(output = Postcard, endpoint = "disable_totp683898942061850440")]
pub async fn disable_totp(password: String, code: String) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::auth::two_factor::disable(&core, &user, &password, &code).await?)
}

#[server(output = Postcard, endpoint = "regenerate_recovery_codes683898942061850440")]
pub async fn regenerate_recovery_codes(
    password: String,
    code: String,
) -> Result<Vec<String>, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(
        backend::auth::two_factor::regenerate_recovery_codes(&core, &user, &password, &code)
            .await?,
    )
}

/// One signed-in device as the settings page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionItem {
    pub id: String,
    pub device: String,
    pub address: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub current: bool,
}

#[server(output = Postcard, endpoint = "list_sessions683898942061850440")]
pub async fn list_sessions() -> Result<Vec<SessionItem>, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let list = backend::auth::logins::list(&core, &user).await?;
    Ok(list
        .into_iter()
        .map(|l| SessionItem {
            id: l.id,
            device: l.device,
            address: l.address,
            created_at: l.created_at,
            last_seen_at: l.last_seen_at,
            current: l.current,
        })
        .collect())
}

#[server(output = Postcard, endpoint = "end_login683898942061850440")]
pub async fn end_login(login_id: String) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::auth::logins::end(&core, &user, &login_id).await?)
}

#[server(output = Postcard, endpoint = "end_other_logins683898942061850440")]
pub async fn end_other_logins() -> Result<u64, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::auth::logins::end_others(&core, &user).await?)
}

/// `sign_out_apps`: also delete the app keys and end the API tokens (the form's box,
/// ticked unless the user unticks it; a form without the box, from a page of an earlier
/// build, keeps them as that page said).
#[server(output = Postcard, endpoint = "change_password683898942061850440")]
pub async fn change_password(
    current: String,
    new: String,
    #[server(default)] sign_out_apps: bool,
) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::auth::logins::change_password(&core, &user, &current, &new, sign_out_apps).await?)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailStatus {
    pub email: String,
    pub verified: bool,
}

#[server(output = Postcard, endpoint = "email_info683898942061850440")]
pub async fn email_info() -> Result<EmailStatus, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let verified = backend::auth::repo::email_verified(&core.db, &user.id).await?;
    Ok(EmailStatus {
        email: user.email,
        verified,
    })
}

#[server(output = Postcard, endpoint = "resend_verification683898942061850440")]
pub async fn resend_verification() -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::auth::email::resend_verification(&core, &user).await?)
}

#[server(output = Postcard, endpoint = "request_email_change683898942061850440")]
pub async fn request_email_change(password: String, new_email: String) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::auth::email::request_email_change(&core, &user, &password, &new_email).await?)
}

/// Deletes the signed-in account and its data, then ends this session.
#[server(output = Postcard, endpoint = "delete_account683898942061850440")]
pub async fn delete_account(password: String, code: Option<String>) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    backend::auth::account::delete_account(&core, &user, &password, code.as_deref()).await?;
    crate::ssr::end_session().await?;
    leptos_axum::redirect("/signup");
    Ok(())
}

#[server(output = Postcard, endpoint = "get_display_name683898942061850440")]
pub async fn get_display_name() -> Result<String, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::auth::profile::display_name(&core, &user.id)
        .await?
        .unwrap_or_default())
}

#[server(output = Postcard, endpoint = "set_display_name683898942061850440")]
pub async fn set_display_name(name: String) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::auth::profile::set_display_name(&core, &user, &name).await?)
}

#[server(output = Postcard, endpoint = "remove_avatar683898942061850440")]
pub async fn remove_avatar() -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::auth::profile::remove_avatar(&core, &user).await?)
}

/// Player settings kept in this browser (like the volume).
#[component]
fn Playback() -> impl IntoView {
    let p = expect_context::<crate::player::state::PlayerCtx>();
    view! {
        <label class="switch-row">
            <input type="checkbox" data-testid="normalize"
                prop:checked=move || p.normalize.get()
                on:change=move |ev| p.set_normalize(event_target_checked(&ev))/>
            <span>
                <strong>"Normalize volume"</strong>
                <span class="muted block">
                    "Loud tracks are turned down to about the same loudness (−14 LUFS, measured when \
                     the track was imported), so you are not startled between songs. Quiet tracks \
                     play as they are. Saved on this device."
                </span>
            </span>
        </label>
        {move || (p.normalize.get() && p.current.get().is_some()).then(|| {
            let db = 20.0 * p.gain.get().max(1e-6).log10();
            view! {
                <p class="muted" data-testid="gain-note">
                    {if db < -0.05 {
                        format!("The current track plays {:.1} dB quieter.", -db)
                    } else {
                        "The current track plays at its own level.".to_string()
                    }}
                </p>
            }
        })}
    }
}

fn error_of<T>(r: Option<Result<T, AppError>>) -> Option<String> {
    r.and_then(|r| r.err()).map(|e| e.to_string())
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <leptos_meta::Title text="Settings"/>
        <header class="page-head"><h1>"Settings"</h1></header>
        <div class="settings">
            <section class="card settings-section" aria-labelledby="profile-h">
                <h2 id="profile-h">"Profile"</h2>
                <Profile/>
            </section>
            <section class="card settings-section" aria-labelledby="playback-h">
                <h2 id="playback-h">"Playback"</h2>
                <Playback/>
            </section>
            <crate::downloads::DownloadsSection/>
            <section class="card settings-section" aria-labelledby="artist-h">
                <h2 id="artist-h">"Artist profile"</h2>
                <crate::artists::ArtistSection/>
            </section>
            <section class="card settings-section" aria-labelledby="security-h">
                <h2 id="security-h">"Two-factor authentication"</h2>
                <TwoFactor/>
            </section>
            <section class="card settings-section" aria-labelledby="sessions-h">
                <h2 id="sessions-h">"Where you're signed in"</h2>
                <Sessions/>
            </section>
            <crate::auth::sso::SignInMethodsSection/>
            <crate::appkeys::AppKeysSection/>
            <section class="card settings-section" aria-labelledby="email-h">
                <h2 id="email-h">"Email address"</h2>
                <EmailAddress/>
            </section>
            <section class="card settings-section" aria-labelledby="password-h">
                <h2 id="password-h">"Password"</h2>
                <ChangePassword/>
            </section>
            <section class="card settings-section danger-zone" aria-labelledby="delete-h">
                <h2 id="delete-h">"Delete your account"</h2>
                <DeleteAccount/>
            </section>
        </div>
    }
}

#[component]
fn TwoFactor() -> impl IntoView {
    let begin = ServerAction::<BeginTotpEnrollment>::new();
    let confirm = ServerAction::<ConfirmTotpEnrollment>::new();
    let disable = ServerAction::<DisableTotp>::new();
    let regenerate = ServerAction::<RegenerateRecoveryCodes>::new();
    // Refetch the state only after a change succeeded: refetching after a refused code
    // would rebuild the form under the user's (or a test's) fingers and lose their input.
    let changed = RwSignal::new(0u32);
    let bump = move |ok: bool| {
        if ok {
            changed.update(|n| *n += 1);
        }
    };
    Effect::new(move |_| bump(matches!(confirm.value().get(), Some(Ok(_)))));
    Effect::new(move |_| bump(matches!(disable.value().get(), Some(Ok(_)))));
    Effect::new(move |_| bump(matches!(regenerate.value().get(), Some(Ok(_)))));
    let status = crate::wire::resource(move || changed.get(), |_| two_factor_status());
    // Codes just issued (by confirming enrollment or regenerating), shown once.
    let fresh_codes = move || match (confirm.value().get(), regenerate.value().get()) {
        (_, Some(Ok(c))) | (Some(Ok(c)), None) => Some(c),
        _ => None,
    };
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || status.get().map(|s| match s {
                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                Ok(s) if s.enabled => view! {
                    <p data-testid="two-factor-state">
                        <span class="badge ok">"On"</span>
                        {format!(" Codes from your authenticator app are needed to log in. {} recovery codes left.", s.recovery_codes_left)}
                    </p>
                    {move || fresh_codes().map(|codes| view! { <RecoveryCodes codes/> })}
                    <details class="settings-action">
                        <summary>"New recovery codes"</summary>
                        <ActionForm action=regenerate>
                            <p class="hint">"Your old codes stop working."</p>
                            <label>"Password" <input type="password" name="password" autocomplete="current-password" required/></label>
                            <label>"Current code" <input type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required/></label>
                            {move || error_of(regenerate.value().get()).map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                            <button type="submit" class="btn">"Make new codes"</button>
                        </ActionForm>
                    </details>
                    <details class="settings-action">
                        <summary>"Turn off two-factor authentication"</summary>
                        <ActionForm action=disable>
                            <label>"Password" <input type="password" name="password" autocomplete="current-password" required/></label>
                            <label>"Current code" <input type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required/></label>
                            {move || error_of(disable.value().get()).map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                            <button type="submit" class="btn danger">"Turn off"</button>
                        </ActionForm>
                    </details>
                }.into_any(),
                Ok(_) => view! {
                    <p data-testid="two-factor-state">
                        <span class="badge">"Off"</span>
                        " Protect your account with codes from an authenticator app."
                    </p>
                    {move || match begin.value().get() {
                        Some(Ok(e)) => view! { <Enroll enrollment=e confirm/> }.into_any(),
                        other => view! {
                            {error_of(other).map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                            <button class="btn primary" data-testid="enable-2fa"
                                disabled=move || begin.pending().get()
                                on:click=move |_| { begin.dispatch(BeginTotpEnrollment {}); }>
                                "Set up two-factor authentication"
                            </button>
                        }.into_any(),
                    }}
                }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn Sessions() -> impl IntoView {
    let end_one = ServerAction::<EndLogin>::new();
    let end_all = ServerAction::<EndOtherLogins>::new();
    let list = crate::wire::resource(
        move || (end_one.version().get(), end_all.version().get()),
        |_| list_sessions(),
    );
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || list.get().map(|r| match r {
                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                Ok(items) => {
                    let others = items.iter().filter(|s| !s.current).count();
                    view! {
                        <ul class="session-list" data-testid="sessions">
                            {items.into_iter().map(|s| {
                                let id = s.id.clone();
                                view! {
                                    <li class="session">
                                        <div class="session-text">
                                            <strong>{s.device.clone()}</strong>
                                            {s.current.then(|| view! { <span class="badge ok">"This device"</span> })}
                                            <span class="muted">
                                                {s.address.clone().unwrap_or_else(|| "unknown address".into())}
                                                " · last active " {ago(s.last_seen_at)}
                                            </span>
                                        </div>
                                        {(!s.current).then(|| view! {
                                            <button class="btn ghost" on:click=move |_| {
                                                end_one.dispatch(EndLogin { login_id: id.clone() });
                                            }>"Log out"</button>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        {(others > 0).then(|| view! {
                            <button class="btn" data-testid="end-others"
                                title="Also signs out apps: deletes your app keys and app passwords"
                                on:click=move |_| { end_all.dispatch(EndOtherLogins {}); }>
                                "Log out everywhere else"
                            </button>
                            <p class="hint">"This also signs out your apps: their app keys and app passwords are deleted."</p>
                        })}
                    }.into_any()
                }
            })}
        </Transition>
    }
}

#[component]
fn EmailAddress() -> impl IntoView {
    let resend = ServerAction::<ResendVerification>::new();
    let change = ServerAction::<RequestEmailChange>::new();
    let info = crate::wire::resource(|| (), |_| email_info());
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || info.get().map(|r| match r {
                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                Ok(i) => view! {
                    <p>
                        <strong>{i.email.clone()}</strong>" "
                        {if i.verified {
                            view! { <span class="badge ok">"Confirmed"</span> }.into_any()
                        } else {
                            view! {
                                <span class="badge">"Not confirmed"</span>" "
                                <button class="btn ghost" disabled=move || resend.pending().get()
                                    on:click=move |_| { resend.dispatch(ResendVerification {}); }>
                                    "Send the link again"
                                </button>
                            }.into_any()
                        }}
                    </p>
                }.into_any(),
            })}
        </Transition>
        {move || match resend.value().get() {
            Some(Ok(())) => Some(view! { <p class="form-ok" role="status">"A new link is on its way."</p> }.into_any()),
            Some(Err(e)) => Some(view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any()),
            None => None,
        }}
        <details class="settings-action">
            <summary>"Change your email address"</summary>
            <ActionForm action=change>
                <label>"New address" <input type="email" name="new_email" autocomplete="email" required/></label>
                <label>"Password" <input type="password" name="password" autocomplete="current-password" required/></label>
                {move || match change.value().get() {
                    Some(Ok(())) => Some(view! { <p class="form-ok" role="status">"Check the new address: the change happens when you open the link we sent there."</p> }.into_any()),
                    Some(Err(e)) => Some(view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any()),
                    None => None,
                }}
                <button type="submit" class="btn" disabled=move || change.pending().get()>"Send the confirmation link"</button>
            </ActionForm>
        </details>
    }
}

/// The signed-in user's picture in the sidebar; the settings page sets it, so a new
/// picture shows everywhere at once.
#[derive(Clone, Copy)]
pub struct AvatarCtx {
    pub url: RwSignal<Option<String>>,
}

/// A round picture, or the first letter of `name` when there is none.
#[component]
pub fn Avatar(
    #[prop(into)] url: Signal<Option<String>>,
    #[prop(into)] name: String,
) -> impl IntoView {
    let initial: String = name
        .chars()
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    view! {
        {move || match url.get() {
            Some(u) => view! { <img class="avatar" src=u alt="" width="36" height="36"/> }.into_any(),
            None => view! { <span class="avatar avatar-initial" aria-hidden="true">{initial.clone()}</span> }.into_any(),
        }}
    }
}

/// The profile picture: the current one (read here, within this page's own Transition,
/// so the server and the hydrating client render it from the same data), changed or
/// removed in place and mirrored to the sidebar.
#[component]
fn Picture() -> impl IntoView {
    let me = crate::wire::resource(|| (), |_| crate::auth::current_user());
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || me.get().and_then(Result::ok).flatten().map(|u| view! {
                <PictureEditor initial=u.avatar name=u.name/>
            })}
        </Transition>
        <p class="hint">"PNG, JPEG, WebP or GIF up to 5 MB; we crop it to a square."</p>
    }
}

#[component]
fn PictureEditor(initial: Option<String>, name: String) -> impl IntoView {
    let url = RwSignal::new(initial);
    let sidebar = use_context::<AvatarCtx>();
    let show = move |v: Option<String>| {
        url.set(v.clone());
        if let Some(s) = sidebar {
            s.url.set(v);
        }
    };
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let remove = ServerAction::<RemoveAvatar>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = remove.value().get() {
            show(None);
        }
    });
    let on_change = move |_ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            let Some(file) = crate::ui::dom::picked_file(&_ev) else {
                return;
            };
            busy.set(true);
            error.set(None);
            leptos::task::spawn_local(async move {
                match send_avatar(file).await {
                    Ok(u) => show(Some(u)),
                    Err(e) => error.set(Some(e)),
                }
                busy.set(false);
            });
        }
    };
    view! {
        <div class="picture-row">
            <Avatar url=url name=name/>
            <label class="btn" class:disabled=move || busy.get()>
                {move || if busy.get() { "Uploading…" } else { "Change picture" }}
                <input type="file" accept="image/png,image/jpeg,image/webp,image/gif" class="visually-hidden"
                    data-testid="avatar-input" on:change=on_change/>
            </label>
            {move || url.get().is_some().then(|| view! {
                <button class="btn ghost" on:click=move |_| { remove.dispatch(RemoveAvatar {}); }>"Remove"</button>
            })}
        </div>
        {move || error.get().or_else(|| error_of(remove.value().get())).map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
    }
}

/// Uploads a picture to `POST /api/avatar`; the new picture's URL, or the server's reason.
#[cfg(feature = "hydrate")]
async fn send_avatar(file: web_sys::File) -> Result<String, String> {
    let body = post_file("/api/avatar", file, "The picture was refused.").await?;
    crate::wire::json_str(&body, "url").ok_or_else(|| "Unexpected answer.".to_string())
}

#[component]
fn Profile() -> impl IntoView {
    let save = ServerAction::<SetDisplayName>::new();
    let current = crate::wire::resource(|| (), |_| get_display_name());
    view! {
        <Picture/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || current.get().map(|r| {
                let name = r.unwrap_or_default();
                view! {
                    <ActionForm action=save>
                        <label>"Display name"
                            <input type="text" name="name" value=name maxlength="60" autocomplete="nickname"
                                placeholder="Shown instead of your email"/>
                        </label>
                        {move || match save.value().get() {
                            Some(Ok(())) => Some(view! { <p class="form-ok" role="status">"Saved. It shows after the next page load."</p> }.into_any()),
                            Some(Err(e)) => Some(view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any()),
                            None => None,
                        }}
                        <button type="submit" class="btn" disabled=move || save.pending().get()>"Save"</button>
                    </ActionForm>
                }
            })}
        </Transition>
    }
}

#[component]
fn DeleteAccount() -> impl IntoView {
    let delete = ServerAction::<DeleteAccount>::new();
    view! {
        <p class="muted">"Your uploads, tracks and sessions are deleted for good. This cannot be undone."</p>
        <details class="settings-action">
            <summary>"Delete my account"</summary>
            <ActionForm action=delete>
                <label>"Password" <input type="password" name="password" autocomplete="current-password" required/></label>
                <label>"Two-factor code (if it is on)"
                    <input type="text" name="code" inputmode="numeric" autocomplete="one-time-code"/>
                </label>
                {move || error_of(delete.value().get()).map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                <button type="submit" class="btn danger" disabled=move || delete.pending().get()>"Delete everything"</button>
            </ActionForm>
        </details>
    }
}

#[component]
fn ChangePassword() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    view! {
        <ActionForm action=change>
            <label>"Current password"
                <input type="password" name="current" autocomplete="current-password" required/>
            </label>
            <label>"New password"
                <input type="password" name="new" autocomplete="new-password" minlength="8" maxlength="256" required/>
            </label>
            <p class="hint">"Changing it logs you out everywhere else."</p>
            <label class="switch-row">
                <input type="checkbox" name="sign_out_apps" value="true" checked data-testid="sign-out-apps"/>
                <span>
                    "Also sign out apps and API keys"
                    <span class="muted block">
                        "Deletes your app keys and app passwords, and ends API tokens: apps that \
                         used them need a new one from Settings."
                    </span>
                </span>
            </label>
            {move || match change.value().get() {
                Some(Ok(())) => Some(view! { <p class="form-ok" role="status">"Password changed."</p> }.into_any()),
                Some(Err(e)) => Some(view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any()),
                None => None,
            }}
            <button type="submit" class="btn" disabled=move || change.pending().get()>"Change password"</button>
        </ActionForm>
    }
}

#[component]
fn Enroll(
    enrollment: TotpEnrollment,
    confirm: ServerAction<ConfirmTotpEnrollment>,
) -> impl IntoView {
    view! {
        <ol class="enroll-steps">
            <li>
                "Scan this code with your authenticator app."
                <div class="qr" role="img" aria-label="QR code for your authenticator app" inner_html=enrollment.qr_svg/>
            </li>
            <li>
                "Or type this key into the app: "
                <code class="secret" data-testid="totp-secret">{enrollment.secret}</code>
            </li>
            <li>
                "Enter the 6-digit code the app shows."
                <ActionForm action=confirm>
                    <label>"Code"
                        <input type="text" name="code" data-testid="enroll-code" inputmode="numeric"
                            autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required/>
                    </label>
                    {move || error_of(confirm.value().get()).map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                    <button type="submit" class="btn primary" disabled=move || confirm.pending().get()>"Turn on"</button>
                </ActionForm>
            </li>
        </ol>
    }
}

#[component]
fn RecoveryCodes(codes: Vec<String>) -> impl IntoView {
    let text = codes.join("\n");
    let href = format!(
        "data:text/plain;charset=utf-8,{}",
        percent_encode(&format!("Refrain recovery codes\n\n{text}\n"))
    );
    view! {
        <div class="recovery-codes" role="status">
            <p><strong>"Save your recovery codes now."</strong>
               " Each one logs you in once if you lose your phone. They will not be shown again."</p>
            <ol data-testid="recovery-codes">
                {codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}
            </ol>
            <a class="btn" href=href download="refrain-recovery-codes.txt">"Download"</a>
        </div>
    }
}
