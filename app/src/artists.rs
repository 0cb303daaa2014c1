//! Becoming an artist: the request in settings (and at sign-up), and the admin's list of
//! requests to approve or decline. The domain checks who may do what.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::Postcard;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtistRequestItem {
    pub id: String,
    pub email: String,
    pub artist_name: String,
    pub note: String,
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtistInfo {
    pub role: String,
    pub profile: Option<String>,
    pub request: Option<ArtistRequestItem>,
}

#[cfg(feature = "ssr")]
fn item(r: backend::artists::ArtistRequest) -> ArtistRequestItem {
    ArtistRequestItem {
        id: r.id,
        email: r.email,
        artist_name: r.artist_name,
        note: r.note,
        state: r.state,
    }
}

#[server(output = Postcard)]
pub async fn artist_status() -> Result<ArtistInfo, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let s = backend::artists::status(&core, &user).await?;
    Ok(ArtistInfo {
        role: s.role.as_str().to_string(),
        profile: s.profile,
        request: s.request.map(item),
    })
}

#[server(output = Postcard)]
pub async fn request_artist(artist_name: String, note: String) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::artists::request(&core, &user, &artist_name, &note).await?)
}

#[server(output = Postcard)]
pub async fn admin_artist_requests() -> Result<Vec<ArtistRequestItem>, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let list = backend::artists::pending_requests(&core, &user).await?;
    Ok(list.into_iter().map(item).collect())
}

#[server(output = Postcard)]
pub async fn admin_decide_artist(request_id: String, approve: bool) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::artists::decide(&core, &user, &request_id, approve).await?)
}

/// The settings section: your artist profile, your request, or the form to ask.
#[component]
pub fn ArtistSection() -> impl IntoView {
    let ask = ServerAction::<RequestArtist>::new();
    let info = crate::wire::resource(move || ask.version().get(), |_| artist_status());
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || info.get().map(|r| match r {
                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                Ok(i) if i.role == "artist" => view! {
                    <p data-testid="artist-profile">"You publish to the shared catalog as "
                        <strong>{i.profile.unwrap_or_else(|| "an artist".into())}</strong>
                        ". Your uploads are credited to that name and everyone can play them."</p>
                }.into_any(),
                Ok(i) if i.role == "admin" => view! {
                    <p class="muted">"As an admin, your uploads go to the shared catalog already."</p>
                }.into_any(),
                Ok(i) => match i.request {
                    Some(req) if req.state == "pending" => view! {
                        <p data-testid="artist-pending">"Your request to publish as "
                            <strong>{req.artist_name}</strong>" is waiting for an admin."</p>
                    }.into_any(),
                    other => view! {
                        {other.filter(|r| r.state == "declined").map(|r| view! {
                            <p class="muted">"An admin declined your request to publish as "
                                <strong>{r.artist_name}</strong>". You can ask again."</p>
                        })}
                        <p class="muted">"Artists publish to the shared catalog under their artist name; an admin approves each request."</p>
                        <details class="settings-action">
                            <summary>"Ask to become an artist"</summary>
                            <ActionForm action=ask>
                                <label>"Artist name"
                                    <input type="text" name="artist_name" required maxlength="100" autocomplete="off"/>
                                </label>
                                <label>"Anything the admin should know (optional)"
                                    <textarea name="note" maxlength="500" rows="3"></textarea>
                                </label>
                                {move || ask.value().get().and_then(|r| r.err()).map(|e| view! {
                                    <p class="form-error" role="alert">{e.to_string()}</p>
                                })}
                                <button type="submit" class="btn" disabled=move || ask.pending().get()>"Send request"</button>
                            </ActionForm>
                        </details>
                    }.into_any(),
                },
            })}
        </Transition>
    }
}

/// The admin page's list of artist requests waiting for a decision.
#[component]
pub fn ArtistRequests(#[prop(into)] on_decided: Callback<()>) -> impl IntoView {
    let decide = ServerAction::<AdminDecideArtist>::new();
    let list = crate::wire::resource(move || decide.version().get(), |_| admin_artist_requests());
    Effect::new(move |_| {
        if let Some(Ok(())) = decide.value().get() {
            on_decided.run(());
        }
    });
    view! {
        {move || decide.value().get().and_then(|r| r.err()).map(|e| view! {
            <p class="form-error" role="alert">{e.to_string()}</p>
        })}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || list.get().map(|r| match r {
                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                Ok(list) if list.is_empty() => view! {
                    <p class="muted">"No requests waiting. Listeners ask from their settings or when they sign up."</p>
                }.into_any(),
                Ok(list) => view! {
                    <ul class="user-list" data-testid="artist-requests">
                        {list.into_iter().map(|req| {
                            let (a, d) = (req.id.clone(), req.id.clone());
                            view! {
                                <li class="user-row" data-email=req.email.clone()>
                                    <div class="user-text">
                                        <strong>{req.artist_name.clone()}</strong>
                                        <span class="muted">{req.email.clone()}
                                            {(!req.note.is_empty()).then(|| format!(" · “{}”", req.note))}</span>
                                    </div>
                                    // Plain forms underneath: they work without JavaScript.
                                    {crate::wire::post_form(
                                        decide,
                                        move || AdminDecideArtist { request_id: a.clone(), approve: true },
                                        view! {
                                            <input type="hidden" name="request_id" value=req.id.clone()/>
                                            <input type="hidden" name="approve" value="true"/>
                                            <button type="submit" class="btn primary">"Approve"</button>
                                        },
                                    )}
                                    {crate::wire::post_form(
                                        decide,
                                        move || AdminDecideArtist { request_id: d.clone(), approve: false },
                                        view! {
                                            <input type="hidden" name="request_id" value=req.id.clone()/>
                                            <input type="hidden" name="approve" value="false"/>
                                            <button type="submit" class="btn ghost">"Decline"</button>
                                        },
                                    )}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            })}
        </Transition>
    }
}
