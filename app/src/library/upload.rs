//! Drag-and-drop or pick audio files; each streams to `POST /api/uploads` with its own
//! progress bar (XMLHttpRequest, since fetch cannot report upload progress).

use leptos::prelude::*;
use server_fn::codec::Postcard;

#[derive(Clone)]
struct Upload {
    key: u32,
    name: String,
    /// 0.0..=1.0
    progress: RwSignal<f64>,
    /// None while running; Some(Ok) when accepted; Some(Err(message)) when refused.
    outcome: RwSignal<Option<Result<(), String>>>,
}

#[component]
pub fn UploadZone(on_uploaded: Callback<()>) -> impl IntoView {
    let uploads = RwSignal::new(Vec::<Upload>::new());
    let dragging = RwSignal::new(false);
    let next_key = StoredValue::new(0u32);

    #[cfg(feature = "hydrate")]
    let start = move |files: web_sys::FileList| {
        for i in 0..files.length() {
            let Some(file) = files.get(i) else { continue };
            let key = next_key.get_value();
            next_key.set_value(key + 1);
            let up = Upload {
                key,
                name: file.name(),
                progress: RwSignal::new(0.0),
                outcome: RwSignal::new(None),
            };
            uploads.update(|v| v.insert(0, up.clone()));
            send(file, up, on_uploaded);
        }
    };
    #[cfg(not(feature = "hydrate"))]
    let _ = (next_key, on_uploaded);

    let on_change = move |_ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            if let Some(input) = _ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            {
                if let Some(files) = input.files() {
                    start(files);
                }
                input.set_value("");
            }
        }
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        #[cfg(feature = "hydrate")]
        if let Some(files) = ev.data_transfer().and_then(|d| d.files()) {
            start(files);
        }
    };

    view! {
        <div
            class="dropzone"
            class:dragging=move || dragging.get()
            on:dragover=move |ev: leptos::ev::DragEvent| { ev.prevent_default(); dragging.set(true); }
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop
        >
            <label class="dropzone-label">
                <input type="file" accept="audio/*,.mp3,.flac,.ogg,.opus,.m4a,.wav,.aac" multiple
                    class="visually-hidden" data-testid="upload-input" on:change=on_change/>
                <span class="dropzone-icon" aria-hidden="true">"⬆"</span>
                <span>"Drop audio files here, or " <u>"choose files"</u></span>
            </label>
            <ul class="upload-list">
                <For each=move || uploads.get() key=|u| u.key let:u>
                    <li class="upload">
                        <span class="upload-name">{u.name.clone()}</span>
                        <progress max="1" value=move || u.progress.get()></progress>
                        <span class="upload-state">
                            {move || match u.outcome.get() {
                                None => format!("{:.0}%", u.progress.get() * 100.0),
                                Some(Ok(())) => "Uploaded".to_string(),
                                Some(Err(e)) => e,
                            }}
                        </span>
                    </li>
                </For>
            </ul>
        </div>
    }
}

/// Paste a link to an audio file: the worker fetches and imports it like an upload.
#[component]
pub fn LinkImport(on_queued: Callback<()>) -> impl IntoView {
    let action = ServerAction::<super::ImportFromUrl>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = action.value().get() {
            on_queued.run(());
        }
    });
    view! {
        <ActionForm action attr:class="link-import">
            <label>"Or import from a link"
                <input type="url" name="link" required maxlength="2048" autocomplete="off"
                    placeholder="https://example.com/song.mp3" data-testid="import-link"/>
            </label>
            <button type="submit" class="btn">"Import"</button>
        </ActionForm>
        {move || action.value().get().and_then(|r| r.err()).map(|e| view! {
            <p class="form-error" role="alert" data-testid="import-link-error">{e.to_string()}</p>
        })}
    }
}

/// A YouTube search result.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VideoHit {
    pub id: String,
    pub title: String,
    pub channel: Option<String>,
    pub duration_secs: Option<i64>,
}

/// Up to ten YouTube videos for `q` (through yt-dlp on the server).
#[server(output = Postcard)]
pub async fn youtube_search(q: String) -> Result<Vec<VideoHit>, crate::error::AppError> {
    let (core, _user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let hits = backend::imports::ytdlp::search(&core.config, &q).await?;
    Ok(hits
        .into_iter()
        .map(|h| VideoHit {
            id: h.id,
            title: h.title,
            channel: h.channel,
            duration_secs: h.duration_secs,
        })
        .collect())
}

/// Queues the audio of a YouTube video for import.
#[server(output = Postcard)]
pub async fn import_from_youtube(
    video_id: String,
    title: String,
) -> Result<(), crate::error::AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    backend::imports::create_from_youtube(&core, &user, &video_id, &title).await?;
    Ok(())
}

/// Search YouTube and import a result's audio (yt-dlp on the server; needs the internet).
#[component]
pub fn YoutubeImport(on_queued: Callback<()>) -> impl IntoView {
    let search = ServerAction::<YoutubeSearch>::new();
    let import = ServerAction::<ImportFromYoutube>::new();
    let queued = RwSignal::new(Vec::<String>::new());
    Effect::new(move |_| {
        if let Some(Ok(())) = import.value().get() {
            if let Some(i) = import.input().get_untracked() {
                queued.update(|q| q.push(i.video_id));
            }
            on_queued.run(());
        }
    });
    view! {
        <details class="youtube-import">
            <summary>"Or find it on YouTube"</summary>
            <ActionForm action=search attr:class="link-import">
                <label>"Search YouTube"
                    <input type="search" name="q" required maxlength="200" autocomplete="off"
                        placeholder="Artist and song" data-testid="youtube-query"/>
                </label>
                <button type="submit" class="btn" disabled=move || search.pending().get()>
                    {move || if search.pending().get() { "Searching…" } else { "Search" }}
                </button>
            </ActionForm>
            <p class="hint">"Only download what you have the right to. Searching and importing need this server to reach YouTube."</p>
            {move || match search.value().get() {
                None => None,
                Some(Err(e)) => Some(view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any()),
                Some(Ok(hits)) if hits.is_empty() => Some(view! { <p class="muted">"No videos found."</p> }.into_any()),
                Some(Ok(hits)) => Some(view! {
                    <ul class="merge-results" data-testid="youtube-results">
                        {hits.into_iter().map(|h| {
                            let (id, title) = (h.id.clone(), h.title.clone());
                            let done_id = h.id.clone();
                            view! {
                                <li>
                                    <span>
                                        {h.title.clone()}
                                        <span class="muted">
                                            {h.channel.clone().map(|c| format!(" · {c}"))}
                                            {h.duration_secs.map(|d| format!(" · {}", crate::ui::format::fmt_time(d as f64)))}
                                        </span>
                                    </span>
                                    {move || if queued.with(|q| q.contains(&done_id)) {
                                        view! { <span class="badge">"Queued"</span> }.into_any()
                                    } else {
                                        let (id, title) = (id.clone(), title.clone());
                                        view! {
                                            <button class="btn small" disabled=move || import.pending().get()
                                                on:click=move |_| { import.dispatch(ImportFromYoutube { video_id: id.clone(), title: title.clone() }); }>
                                                "Import"
                                            </button>
                                        }.into_any()
                                    }}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()),
            }}
            {move || import.value().get().and_then(|r| r.err()).map(|e| view! {
                <p class="form-error" role="alert">{e.to_string()}</p>
            })}
        </details>
    }
}

/// A W3C `traceparent` with a random trace and span id, sampled (see
/// backend::telemetry).
#[cfg(feature = "hydrate")]
fn new_traceparent() -> String {
    let hex = |n: usize| -> String {
        (0..n)
            .map(|_| {
                char::from_digit((js_sys::Math::random() * 16.0) as u32 % 16, 16).unwrap_or('0')
            })
            .collect()
    };
    format!("00-{}-{}-01", hex(32), hex(16))
}

#[cfg(feature = "hydrate")]
fn send(file: web_sys::File, up: Upload, on_uploaded: Callback<()>) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    let Ok(xhr) = web_sys::XmlHttpRequest::new() else {
        up.outcome
            .set(Some(Err("Your browser cannot upload files.".into())));
        return;
    };
    let name = js_sys::encode_uri_component(&file.name())
        .as_string()
        .unwrap_or_default();
    if xhr
        .open("POST", &format!("/api/uploads?filename={name}"))
        .is_err()
    {
        up.outcome.set(Some(Err("Upload failed to start.".into())));
        return;
    }
    // Each upload starts a trace the server, the import event and the worker continue.
    let _ = xhr.set_request_header("traceparent", &new_traceparent());
    let progress = up.progress;
    let on_progress =
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
            if e.length_computable() && e.total() > 0.0 {
                progress.set(e.loaded() / e.total());
            }
        });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    on_progress.forget();
    let x = xhr.clone();
    let outcome = up.outcome;
    let again = (file.clone(), up.clone());
    let on_done = Closure::<dyn FnMut()>::new(move || {
        let status = x.status().unwrap_or(0);
        if status == 401 {
            // Signed out elsewhere: this browser's downloads go too.
            crate::error::session_ended();
        }
        // Over the upload rate, or the server is busy: it says when to come back, and the
        // file goes again then (nothing was kept of this try).
        if status == 429 || status == 503 {
            let wait = x
                .get_response_header("retry-after")
                .ok()
                .flatten()
                .and_then(|v| v.trim().parse::<u32>().ok())
                .unwrap_or(5)
                .clamp(1, 120);
            progress.set(0.0);
            let (file, up) = again.clone();
            gloo_timers::callback::Timeout::new(wait * 1000, move || send(file, up, on_uploaded))
                .forget();
            return;
        }
        if (200..300).contains(&status) {
            progress.set(1.0);
            outcome.set(Some(Ok(())));
            on_uploaded.run(());
        } else {
            let body = x.response_text().ok().flatten().unwrap_or_default();
            let msg = crate::wire::json_str(&body, "error")
                .unwrap_or_else(|| format!("Upload failed (HTTP {status})."));
            outcome.set(Some(Err(msg)));
        }
    });
    xhr.set_onloadend(Some(on_done.as_ref().unchecked_ref()));
    on_done.forget();
    if xhr.send_with_opt_blob(Some(&file)).is_err() {
        up.outcome.set(Some(Err("Upload failed to start.".into())));
    }
}
