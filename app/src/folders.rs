//! Music folders on the admin page: the folders scanned into the shared catalog, adding
//! and removing one, *Scan now*, and the scan's live progress. The domain checks the
//! admin role on every call.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::Postcard;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Folder {
    pub id: String,
    pub path: String,
    pub files: i64,
    pub tracks: i64,
    pub failed: i64,
    pub configured: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scan {
    pub state: String,
    /// `None` for a scan of every folder; what the folder watch saw otherwise.
    pub scope: Option<String>,
    pub seen: i64,
    pub added: i64,
    pub changed: i64,
    pub moved: i64,
    pub removed: i64,
    pub failed: i64,
    pub report: Vec<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldersState {
    pub folders: Vec<Folder>,
    pub scan: Option<Scan>,
}

#[server(output = Postcard)]
pub async fn admin_library_folders() -> Result<FoldersState, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let folders = backend::folders::list_folders(&core, &user).await?;
    let scan = backend::folders::latest_scan(&core, &user).await?;
    Ok(FoldersState {
        folders: folders
            .into_iter()
            .map(|f| Folder {
                id: f.id,
                path: f.path,
                files: f.files,
                tracks: f.tracks,
                failed: f.failed,
                configured: f.configured,
            })
            .collect(),
        scan: scan.map(|s| Scan {
            state: s.state,
            scope: s.scope,
            seen: s.counts.seen,
            added: s.counts.added,
            changed: s.counts.changed,
            moved: s.counts.moved,
            removed: s.counts.removed,
            failed: s.counts.failed,
            report: s.report,
            error: s.error,
        }),
    })
}

#[server(output = Postcard)]
pub async fn admin_add_folder(path: String) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::folders::add_folder(&core, &user, &path).await?)
}

#[server(output = Postcard)]
pub async fn admin_remove_folder(id: String) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::folders::remove_folder(&core, &user, &id).await?)
}

#[server(output = Postcard)]
pub async fn admin_scan_library() -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    backend::folders::request_scan(&core, &user).await?;
    Ok(())
}

fn busy(s: &Option<Scan>) -> bool {
    s.as_ref()
        .is_some_and(|s| s.state == "queued" || s.state == "running")
}

#[component]
pub fn MusicFolders() -> impl IntoView {
    let add = ServerAction::<AdminAddFolder>::new();
    let remove = ServerAction::<AdminRemoveFolder>::new();
    let scan = ServerAction::<AdminScanLibrary>::new();
    let tick = RwSignal::new(0u32);
    let state = crate::wire::resource(
        move || {
            (
                add.version().get(),
                remove.version().get(),
                scan.version().get(),
                tick.get(),
            )
        },
        |_| admin_library_folders(),
    );
    // Poll while a scan waits or runs, so its progress shows live.
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                let running = state
                    .get_untracked()
                    .and_then(|r| r.ok())
                    .is_some_and(|s| busy(&s.scan));
                if running {
                    tick.update(|n| *n += 1);
                }
            },
            std::time::Duration::from_millis(1000),
        );
        if let Ok(h) = handle {
            on_cleanup(move || h.clear());
        }
    }
    let error = move || {
        [
            add.value().get().and_then(|r| r.err()),
            remove.value().get().and_then(|r| r.err()),
            scan.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| e.to_string())
    };
    view! {
        <section class="card music-folders" aria-labelledby="folders-h" data-testid="music-folders">
            <h2 id="folders-h">"Music folders"</h2>
            <p class="muted">
                "Folders on the server scanned into the shared catalog in place: nothing is copied, "
                "a rescan only looks at what changed, and files added, changed or removed "
                "are taken in within seconds while the folders are watched."
            </p>
            {move || error().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || state.get().map(|r| match r {
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    Ok(s) => {
                        let running = busy(&s.scan);
                        view! {
                            {if s.folders.is_empty() {
                                view! { <p class="muted">"No music folder yet. Add the full path of one below."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="folder-list">
                                        {s.folders.into_iter().map(|f| {
                                            let id = f.id.clone();
                                            view! {
                                                <li class="folder-row" data-path=f.path.clone()>
                                                    <div class="user-text">
                                                        <strong class="mono">{f.path.clone()}</strong>
                                                        <span class="muted">
                                                            {format!("{} tracks from {} files", f.tracks, f.files)}
                                                            {(f.failed > 0).then(|| format!(" · {} unreadable", f.failed))}
                                                            {f.configured.then_some(" · set by REFRAIN_LIBRARY_DIRS")}
                                                        </span>
                                                    </div>
                                                    {(!f.configured).then(|| crate::wire::post_form(
                                                        remove,
                                                        move || AdminRemoveFolder { id: id.clone() },
                                                        view! {
                                                            <input type="hidden" name="id" value=f.id.clone()/>
                                                            <button type="submit" class="btn ghost danger" disabled=running
                                                                aria-label=format!("Remove {}", f.path)>"Remove"</button>
                                                        },
                                                    ))}
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                            <ScanProgress scan=s.scan/>
                            {crate::wire::post_form(
                                scan,
                                || AdminScanLibrary {},
                                view! {
                                    <button type="submit" class="btn primary" data-testid="scan-now" disabled=running>
                                        {if running { "Scanning…" } else { "Scan now" }}
                                    </button>
                                },
                            )}
                        }.into_any()
                    }
                })}
            </Transition>
            <ActionForm action=add attr:class="folder-add">
                <label>"Add a folder"
                    <input type="text" name="path" required placeholder="/srv/music"
                        autocomplete="off" spellcheck="false" data-testid="folder-path"/>
                </label>
                <button type="submit" class="btn">"Add"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn ScanProgress(scan: Option<Scan>) -> impl IntoView {
    scan.map(|s| {
        let headline = match s.state.as_str() {
            "queued" => "Scan waiting to start…".to_string(),
            "running" => "Scanning…".to_string(),
            "failed" => format!(
                "The last scan failed: {}",
                s.error.clone().unwrap_or_default()
            ),
            _ => match &s.scope {
                Some(scope) => format!("Last scan finished ({scope})."),
                None => "Last scan of every folder finished.".to_string(),
            },
        };
        let report = s.report.clone();
        view! {
            <div class="scan-progress" role="status" aria-live="polite" data-testid="scan-progress"
                data-state=s.state.clone()>
                <p>{headline}</p>
                <dl class="scan-counts">
                    <div><dt>"Files seen"</dt><dd data-testid="scan-seen">{s.seen}</dd></div>
                    <div><dt>"New"</dt><dd data-testid="scan-added">{s.added}</dd></div>
                    <div><dt>"Changed"</dt><dd>{s.changed}</dd></div>
                    <div><dt>"Moved"</dt><dd>{s.moved}</dd></div>
                    <div><dt>"Removed"</dt><dd>{s.removed}</dd></div>
                    <div><dt>"Failed"</dt><dd>{s.failed}</dd></div>
                </dl>
                {(!report.is_empty()).then(|| view! {
                    <details class="scan-report">
                        <summary>{format!("{} files skipped or unreadable", report.len())}</summary>
                        <ul>{report.into_iter().map(|l| view! { <li class="mono">{l}</li> }).collect_view()}</ul>
                    </details>
                })}
            </div>
        }
    })
}
