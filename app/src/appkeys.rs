//! Settings → Subsonic apps: API keys and app passwords for Subsonic apps (Symfonium,
//! DSub, Feishin, …), made with the current password, shown once, listed by name with when
//! each was last used, and revoked in one click.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::Postcard;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppKeyItem {
    pub id: String,
    pub name: String,
    /// An app password (for `u`/`t`/`s` clients) rather than an API key.
    pub app_password: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A new key: the secret is shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAppKey {
    pub item: AppKeyItem,
    pub secret: String,
    /// The account name apps sign in with (`u`).
    pub username: String,
}

#[cfg(feature = "ssr")]
fn item(k: backend::subsonic::keys::AppKey) -> AppKeyItem {
    AppKeyItem {
        id: k.id,
        name: k.name,
        app_password: k.kind == backend::subsonic::keys::KeyKind::AppPassword,
        created_at: k.created_at,
        last_used_at: k.last_used_at,
    }
}

#[server(output = Postcard)]
pub async fn list_app_keys() -> Result<Vec<AppKeyItem>, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let keys = backend::subsonic::keys::list(&core, &user).await?;
    Ok(keys.into_iter().map(item).collect())
}

/// `kind` is `api_key` or `app_password`.
#[server(output = Postcard)]
pub async fn create_app_key(
    name: String,
    kind: String,
    password: String,
) -> Result<NewAppKey, AppError> {
    use backend::subsonic::keys::{self, KeyKind};
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let kind = match kind.as_str() {
        "app_password" => KeyKind::AppPassword,
        "api_key" => KeyKind::ApiKey,
        _ => {
            return Err(AppError::Invalid(
                "choose an API key or an app password".into(),
            ));
        }
    };
    let made = keys::create(&core, &user, &name, kind, &password).await?;
    Ok(NewAppKey {
        item: item(made.key),
        secret: made.secret,
        username: user.email,
    })
}

#[server(output = Postcard)]
pub async fn revoke_app_key(key_id: String) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::subsonic::keys::revoke(&core, &user, &key_id).await?)
}

#[component]
pub fn AppKeysSection() -> impl IntoView {
    let create = ServerAction::<CreateAppKey>::new();
    let revoke = ServerAction::<RevokeAppKey>::new();
    let list = crate::wire::resource(
        move || (create.version().get(), revoke.version().get()),
        |_| list_app_keys(),
    );
    let server = move || {
        #[cfg(feature = "hydrate")]
        return web_sys::window()
            .and_then(|w| w.location().origin().ok())
            .unwrap_or_default();
        #[cfg(not(feature = "hydrate"))]
        String::new()
    };
    view! {
        <section class="card settings-section" aria-labelledby="apps-h" data-testid="app-keys">
            <h2 id="apps-h">"Subsonic apps"</h2>
            <p class="hint">
                "Listen in Subsonic apps on your phone or desktop (Symfonium, DSub, Tempo, Amperfy, Feishin, Supersonic…). "
                "Give the app this server's address and a key made here; your account password never works in apps. "
                "Apps that ask for a password take an app password with your email as the user name."
            </p>
            {move || create.value().get().and_then(Result::ok).map(|k| view! {
                <div class="new-key" role="status" data-testid="new-app-key">
                    <p><strong>{if k.item.app_password { "App password" } else { "API key" }}</strong>
                        " for " {k.item.name.clone()} ": copy it now, it is not shown again."</p>
                    <dl class="key-facts">
                        <dt>"Server"</dt><dd><code>{server()}</code></dd>
                        {k.item.app_password.then(|| view! { <dt>"User name"</dt><dd><code>{k.username.clone()}</code></dd> })}
                        <dt>{if k.item.app_password { "Password" } else { "API key" }}</dt>
                        <dd><code class="secret" data-testid="app-key-secret">{k.secret.clone()}</code></dd>
                    </dl>
                </div>
            })}
            <details class="settings-action">
                <summary>"Connect an app"</summary>
                <ActionForm action=create>
                    <label>"Name (the app or device)"
                        <input type="text" name="name" maxlength="80" required placeholder="Symfonium on my phone"/>
                    </label>
                    <fieldset class="radio-row">
                        <legend>"Kind"</legend>
                        <label><input type="radio" name="kind" value="api_key" checked/>" API key (OpenSubsonic apps)"</label>
                        <label><input type="radio" name="kind" value="app_password"/>" App password (older apps)"</label>
                    </fieldset>
                    <label>"Your password" <input type="password" name="password" autocomplete="current-password" required/></label>
                    {move || create.value().get().and_then(Result::err).map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })}
                    <button type="submit" class="btn primary" disabled=move || create.pending().get()>"Make key"</button>
                </ActionForm>
            </details>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || list.get().map(|r| match r {
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    Ok(items) if items.is_empty() => view! {
                        <p class="muted" data-testid="app-keys-empty">"No apps connected yet."</p>
                    }.into_any(),
                    Ok(items) => view! {
                        <ul class="session-list" data-testid="app-key-list">
                            {items.into_iter().map(|k| {
                                let id = k.id.clone();
                                let used = k.last_used_at.map_or_else(
                                    || "never used".to_string(),
                                    |t| format!("last used {}", crate::ui::format::ago(t)),
                                );
                                view! {
                                    <li class="session">
                                        <div class="session-text">
                                            <strong>{k.name.clone()}</strong>
                                            <span class="badge">{if k.app_password { "App password" } else { "API key" }}</span>
                                            <span class="muted">"made " {crate::ui::format::ago(k.created_at)} " · " {used}</span>
                                        </div>
                                        <button class="btn ghost" aria-label=format!("Revoke {}", k.name)
                                            on:click=move |_| { revoke.dispatch(RevokeAppKey { key_id: id.clone() }); }>
                                            "Revoke"
                                        </button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}
