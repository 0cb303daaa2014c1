//! Downloads for offline listening: the Download
//! buttons (albums, playlists, Liked Songs), the Settings section that lists downloads
//! with their sizes, and the offline page that plays them without a network. The browser
//! side of the storage, and what the server says a download holds, is [`crate::offline`].

use crate::offline::DownloadsCtx;
use crate::player::state::PlayerCtx;
use crate::ui::format::fmt_size;
use leptos::prelude::*;

/// "Download" on an album, a playlist or Liked Songs; then its progress; then
/// "Downloaded" with the size (pressing it again removes the download).
#[component]
pub fn DownloadButton(
    /// The download's key (`album:<id>`, `playlist:<id>`, `liked`).
    #[prop(into)]
    key: String,
) -> impl IntoView {
    let ctx = expect_context::<DownloadsCtx>();
    let key = StoredValue::new(key);
    let state = move || {
        let k = key.get_value();
        (ctx.progress(&k), ctx.summary(&k), ctx.error(&k))
    };
    view! {
        <span class="download" data-testid="download">
            {move || match state() {
                (Some(p), _, _) => {
                    let label = format!("Downloading {} of {}", p.done_tracks, p.total_tracks);
                    view! {
                        <button type="button" class="btn" disabled aria-busy="true" data-state="downloading">
                            {crate::icons::download()}{label}
                        </button>
                        <progress class="download-progress" max=p.total_bytes.max(1).to_string()
                            value=p.done_bytes.to_string() aria-label="Download progress"></progress>
                    }.into_any()
                }
                (None, Some(d), _) => {
                    let label = format!("Downloaded · {}", fmt_size(d.bytes));
                    let name = d.stored.name.clone();
                    view! {
                        <button type="button" class="btn downloaded" data-state="downloaded" aria-pressed="true"
                            title="Available offline. Press to remove the download."
                            on:click=move |_| {
                                if crate::ui::dom::confirm(&format!("Remove the download of “{name}”?")) {
                                    ctx.remove(key.get_value());
                                }
                            }>
                            "✓ "{label}
                        </button>
                    }.into_any()
                }
                (None, None, error) => view! {
                    <button type="button" class="btn" data-state="none" aria-pressed="false"
                        disabled=move || !ctx.online.get()
                        title="Keep it in this browser to listen without a connection"
                        on:click=move |_| ctx.download(key.get_value())>
                        {crate::icons::download()}"Download"
                    </button>
                    {error.map(|e| view! { <span class="form-error" role="alert">{e}</span> })}
                }.into_any(),
            }}
        </span>
    }
}

/// The small arrow beside a track that is downloaded (it plays offline).
#[component]
pub fn OfflineMark(stored: Signal<bool>) -> impl IntoView {
    move || {
        stored.get().then(|| {
            view! {
                <span class="offline-mark" title="Downloaded: plays offline" role="img"
                    aria-label="Downloaded">{crate::icons::download()}</span>
            }
        })
    }
}

/// Settings: the downloads with their sizes, the browser's storage estimate, remove.
#[component]
pub fn DownloadsSection() -> impl IntoView {
    let ctx = expect_context::<DownloadsCtx>();
    let estimate = RwSignal::new(None::<(f64, f64)>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| ctx.ensure_read());
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        // Read again whenever the downloads change.
        ctx.list.track();
        leptos::task::spawn_local(async move {
            estimate.set(crate::offline::storage_estimate().await);
        });
    });
    view! {
        <section class="card settings-section" aria-labelledby="downloads-h" data-testid="downloads-settings">
            <h2 id="downloads-h">"Downloads"</h2>
            <p class="muted">"Albums, playlists and Liked Songs you download play without a connection, in this browser only, and for you only. Logging out, or your session ending (signed out elsewhere, expired), removes them."</p>
            {move || estimate.get().map(|(used, quota)| view! {
                <p class="muted" data-testid="storage-estimate">
                    {format!("This browser keeps {} for Refrain, of {} it allows.", fmt_size(used as i64), fmt_size(quota as i64))}
                </p>
            })}
            {move || {
                let list = ctx.list.get();
                if list.is_empty() {
                    view! {
                        <p class="empty-line" data-testid="downloads-empty">
                            "Nothing downloaded yet. Press Download on an album, a playlist or Liked Songs."
                        </p>
                    }.into_any()
                } else {
                    view! {
                        <ul class="download-list">
                            {list.into_iter().map(|d| {
                                let key = d.stored.key.clone();
                                let n = d.stored.track_ids.len();
                                view! {
                                    <li class="download-row" data-key=d.stored.key.clone()>
                                        <span class="download-name">{d.stored.name.clone()}</span>
                                        <span class="muted">{format!("{n} {} · {}", if n == 1 { "track" } else { "tracks" }, fmt_size(d.bytes))}</span>
                                        <button type="button" class="btn small danger"
                                            aria-label=format!("Remove the download of {}", d.stored.name)
                                            on:click=move |_| ctx.remove(key.clone())>"Remove"</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            }}
        </section>
    }
}

/// The offline page: the downloads, each playable, when the network is gone (the service
/// worker sends every page there then). It holds no user data when rendered: everything
/// it lists comes from this browser's storage after it loads, and only when they belong
/// to the user this browser was last signed in as, whose session is not known to be over
/// ([`crate::offline`]).
#[component]
pub fn OfflinePage() -> impl IntoView {
    let ctx = expect_context::<DownloadsCtx>();
    view! {
        <leptos_meta::Title text="Downloads"/>
        <div class="app offline-app">
            <nav class="sidebar" aria-label="Main">
                <a href="/" class="brand">"Refrain"</a>
            </nav>
            <main class="main" data-testid="offline">
                <header class="page-head">
                    <h1>{move || if ctx.online.get() { "Downloads" } else { "You're offline" }}</h1>
                </header>
                <p class="muted">
                    {move || if ctx.online.get() {
                        "What this browser keeps for listening without a connection."
                    } else {
                        "Refrain can't reach its server. What you downloaded still plays."
                    }}
                    " "<a class="btn small" href="/">"Try again"</a>
                </p>
                {move || {
                    if !ctx.loaded.get() {
                        return view! { <p class="muted">"Reading your downloads…"</p> }.into_any();
                    }
                    let list = ctx.list.get();
                    if list.is_empty() {
                        return view! {
                            <div class="empty" data-testid="offline-empty">
                                <p class="empty-title">"Nothing downloaded"</p>
                                <p class="muted">"Once you are back online, press Download on an album, a playlist or Liked Songs."</p>
                            </div>
                        }.into_any();
                    }
                    view! {
                        <div class="offline-downloads" data-testid="offline-downloads">
                            {list.into_iter().map(|d| view! { <OfflineDownload key=d.stored.key.clone() name=d.stored.name.clone()/> }).collect_view()}
                        </div>
                    }.into_any()
                }}
            </main>
            <crate::player::PlayerBar/>
        </div>
    }
}

/// One download on the offline page: its name, Play, and its tracks.
#[component]
fn OfflineDownload(key: String, name: String) -> impl IntoView {
    let player = expect_context::<PlayerCtx>();
    let tracks = RwSignal::new(Vec::<crate::offline::OfflineTrack>::new());
    #[cfg(feature = "hydrate")]
    {
        let key = key.clone();
        leptos::task::spawn_local(async move {
            tracks.set(crate::offline::offline_tracks(&key).await);
        });
    }
    let refs = move || tracks.with(|t| t.iter().map(|o| o.track.clone()).collect::<Vec<_>>());
    view! {
        <section class="offline-download" data-key=key>
            <div class="list-head">
                <h2>{name.clone()}</h2>
                <button type="button" class="btn primary small" aria-label=format!("Play {name}")
                    on:click=move |_| player.play_list(refs(), 0)>"▶ Play"</button>
            </div>
            <ol class="queue-list">
                {move || tracks.get().into_iter().enumerate().map(|(i, o)| view! {
                    <li><crate::player::TrackButton track=o.track
                        on_play=Callback::new(move |_| player.play_list(refs(), i))/></li>
                }).collect_view()}
            </ol>
        </section>
    }
}
