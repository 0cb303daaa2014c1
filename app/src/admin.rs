//! The admin page: find users, change roles, disable and re-enable accounts, reset
//! two-factor, music folders ([`crate::folders`]), and the audit log of those actions. The domain checks the admin role.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::Postcard;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminUser {
    pub id: String,
    pub email: String,
    pub role: String,
    pub created_at: i64,
    pub disabled: bool,
    pub two_factor: bool,
    /// Personal uploads in MB.
    pub used_mb: i64,
    /// The quota an admin set, in MB (None: the server default applies to listeners).
    pub quota_mb: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditItem {
    pub id: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
    pub created_at: i64,
}

#[server(output = Postcard)]
pub async fn admin_list_users(query: String) -> Result<Vec<AdminUser>, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let users = backend::admin::list_users(&core, &user, &query, 200).await?;
    Ok(users
        .into_iter()
        .map(|u| AdminUser {
            id: u.id,
            email: u.email,
            role: u.role.as_str().to_string(),
            created_at: u.created_at,
            disabled: u.disabled,
            two_factor: u.two_factor,
            used_mb: u.used_bytes / 1024 / 1024,
            quota_mb: u.quota_bytes.map(|q| q / 1024 / 1024),
        })
        .collect())
}

#[server(output = Postcard)]
pub async fn admin_set_role(user_id: String, role: String) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let role = match role.as_str() {
        "admin" => backend::auth::Role::Admin,
        "artist" => backend::auth::Role::Artist,
        "listener" => backend::auth::Role::Listener,
        _ => return Err(AppError::Invalid("Unknown role.".into())),
    };
    Ok(backend::admin::set_role(&core, &user, &user_id, role).await?)
}

#[server(output = Postcard)]
pub async fn admin_set_disabled(user_id: String, disabled: bool) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::admin::set_disabled(&core, &user, &user_id, disabled).await?)
}

/// `quota_mb` empty: back to the server default.
#[server(output = Postcard)]
pub async fn admin_set_quota(user_id: String, quota_mb: String) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let quota = match quota_mb.trim() {
        "" => None,
        s => Some(
            s.parse::<u64>()
                .map_err(|_| AppError::Invalid("Enter the quota in whole megabytes.".into()))?
                .saturating_mul(1024 * 1024),
        ),
    };
    Ok(backend::admin::set_quota(&core, &user, &user_id, quota).await?)
}

#[server(output = Postcard)]
pub async fn admin_reset_two_factor(user_id: String) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::admin::reset_two_factor(&core, &user, &user_id).await?)
}

#[server(output = Postcard)]
pub async fn admin_audit_log() -> Result<Vec<AuditItem>, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let entries = backend::admin::audit_log(&core, &user, 100).await?;
    Ok(entries
        .into_iter()
        .map(|e| AuditItem {
            id: e.id,
            actor: e.actor_email.unwrap_or_else(|| "the command line".into()),
            action: e.action,
            detail: e.detail,
            created_at: e.created_at,
        })
        .collect())
}

#[component]
pub fn AdminPage() -> impl IntoView {
    // `?q=`: the search a plain form (no JavaScript) sent.
    let (query, set_query) = signal(
        leptos_router::hooks::use_query_map().with_untracked(|q| q.get("q").unwrap_or_default()),
    );
    let set_role = ServerAction::<AdminSetRole>::new();
    let set_disabled = ServerAction::<AdminSetDisabled>::new();
    let reset_2fa = ServerAction::<AdminResetTwoFactor>::new();
    let set_quota = ServerAction::<AdminSetQuota>::new();
    let (artist_decisions, set_artist_decisions) = signal(0u32);
    let changed = move || {
        (
            artist_decisions.get(),
            set_quota.version().get(),
            set_role.version().get(),
            set_disabled.version().get(),
            reset_2fa.version().get(),
        )
    };
    let users = crate::wire::resource(
        move || (query.get(), changed()),
        |(q, _)| admin_list_users(q),
    );
    let log = crate::wire::resource(changed, |_| admin_audit_log());
    let error = move || {
        [
            set_role.value().get().and_then(|r| r.err()),
            set_disabled.value().get().and_then(|r| r.err()),
            reset_2fa.value().get().and_then(|r| r.err()),
            set_quota.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| e.to_string())
    };
    view! {
        <leptos_meta::Title text="Admin"/>
        <header class="page-head"><h1>"Admin"</h1></header>
        <section class="card" aria-labelledby="artists-h">
            <h2 id="artists-h">"Artist requests"</h2>
            <crate::artists::ArtistRequests on_decided=move |()| set_artist_decisions.update(|n| *n += 1)/>
        </section>
        <crate::folders::MusicFolders/>
        <crate::imports::ImportDesk/>
        <section class="card admin-users" aria-labelledby="users-h">
            <h2 id="users-h">"Users"</h2>
            <form method="get" role="search" on:submit=move |ev| ev.prevent_default()>
                <input type="search" name="q" class="search" placeholder="Search by email" aria-label="Search users"
                    data-testid="user-search" prop:value=query
                    on:input=move |ev| set_query.set(event_target_value(&ev))/>
            </form>
            {move || error().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || users.get().map(|r| match r {
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p class="muted">"No user matches that search."</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="user-list">
                            {list.into_iter().map(|u| {
                                let (id1, id2, id3) = (u.id.clone(), u.id.clone(), u.id.clone());
                                let disabled = u.disabled;
                                view! {
                                    <li class="user-row" data-email=u.email.clone() class:disabled=u.disabled>
                                        <div class="user-text">
                                            <strong>{u.email.clone()}</strong>
                                            <span class="muted">
                                                {if u.disabled { "Disabled" } else { "Active" }}
                                                {if u.two_factor { " · two-factor on" } else { "" }}
                                                {format!(" · {} MB uploaded", u.used_mb)}
                                            </span>
                                        </div>
                                        {(u.role == "listener").then(|| view! {
                                            <ActionForm action=set_quota attr:class="quota-form">
                                                <input type="hidden" name="user_id" value=u.id.clone()/>
                                                <label>"Quota (MB)"
                                                    <input type="number" name="quota_mb" min="0" step="1" inputmode="numeric"
                                                        placeholder="default" value=u.quota_mb.map(|q| q.to_string()).unwrap_or_default()/>
                                                </label>
                                                <button type="submit" class="btn ghost">"Save"</button>
                                            </ActionForm>
                                        })}
                                        // Plain forms underneath: they work before the client
                                        // loads and without JavaScript. A role changes only
                                        // when "Change role" is pressed, never by a slip of
                                        // the select.
                                        <ActionForm action=set_role attr:class="role-form">
                                            <input type="hidden" name="user_id" value=id1/>
                                            <select name="role" aria-label="Role">
                                                {["listener", "artist", "admin"].into_iter().map(|r| view! {
                                                    <option value=r selected=u.role == r>{r}</option>
                                                }).collect_view()}
                                            </select>
                                            <button type="submit" class="btn ghost">"Change role"</button>
                                        </ActionForm>
                                        <ActionForm action=set_disabled>
                                            <input type="hidden" name="user_id" value=id2/>
                                            <input type="hidden" name="disabled" value=(!disabled).to_string()/>
                                            <button type="submit" class="btn" class:danger=!disabled>
                                                {if disabled { "Enable" } else { "Disable" }}
                                            </button>
                                        </ActionForm>
                                        {u.two_factor.then(|| view! {
                                            <ActionForm action=reset_2fa>
                                                <input type="hidden" name="user_id" value=id3/>
                                                <button type="submit" class="btn ghost">"Reset two-factor"</button>
                                            </ActionForm>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Transition>
        </section>
        <section class="card" aria-labelledby="audit-h">
            <h2 id="audit-h">"Audit log"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || log.get().map(|r| match r {
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p class="muted">"Nothing yet. Role changes, disabled accounts and two-factor resets appear here."</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ol class="audit-log" data-testid="audit-log">
                            {list.into_iter().map(|e| view! {
                                <li>
                                    <span class="badge">{e.action}</span>" "
                                    {e.detail}
                                    <span class="muted">" by " {e.actor}</span>
                                </li>
                            }).collect_view()}
                        </ol>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}
