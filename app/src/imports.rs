//! The import desk on the admin page (every user's jobs), and the retry and cancel buttons
//! the library's Imports panel shares with it. The domain ([`backend::imports::desk`])
//! checks who may see and act on which job.

use crate::error::AppError;
use crate::ui::format::fmt_size;
use crate::ui::format::fmt_time;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::Postcard;

/// A job as the desk shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeskItem {
    pub id: String,
    pub owner: Option<String>,
    pub filename: String,
    /// upload, url, youtube or scan
    pub source: String,
    pub source_url: Option<String>,
    /// queued, processing, done, failed or cancelled
    pub state: String,
    pub error: Option<String>,
    pub size_bytes: i64,
    pub duration_ms: Option<i64>,
    pub attempts: i64,
    pub created_at: i64,
    pub retryable: bool,
    pub cancelling: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeskPage {
    pub jobs: Vec<DeskItem>,
    /// Jobs per state, for the filter.
    pub counts: Vec<(String, i64)>,
}

/// Rows per page of the desk.
pub const DESK_PAGE: i64 = 100;

#[cfg(feature = "ssr")]
fn desk_item(j: backend::imports::desk::DeskJob) -> DeskItem {
    DeskItem {
        id: j.id,
        owner: j.owner_email,
        filename: j.filename,
        source: j.source,
        source_url: j.source_url,
        state: j.state,
        error: j.error,
        size_bytes: j.size_bytes,
        duration_ms: j.duration_ms,
        attempts: j.attempts,
        created_at: j.created_at,
        retryable: j.retryable,
        cancelling: j.cancelling,
    }
}

/// Every user's jobs (admins): `state` and `source` narrow it when not empty.
#[server(output = Postcard)]
pub async fn import_desk(state: String, source: String, offset: i64) -> Result<DeskPage, AppError> {
    use backend::imports::desk;
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let filter = desk::Filter {
        state: (!state.is_empty()).then_some(state),
        source: (!source.is_empty()).then_some(source),
        offset,
        limit: DESK_PAGE,
    };
    let jobs = desk::list(&core, &user, desk::Scope::All, &filter).await?;
    let counts = desk::counts(&core, &user, desk::Scope::All).await?;
    Ok(DeskPage {
        jobs: jobs.into_iter().map(desk_item).collect(),
        counts,
    })
}

/// How many of their newest jobs the library's Imports panel shows a user.
pub const MY_IMPORTS_SHOWN: i64 = 30;

/// The signed-in user's newest jobs and how many they have in each state (the library's
/// Imports panel: its cost does not grow with the user's history).
#[server(output = Postcard)]
pub async fn my_imports() -> Result<DeskPage, AppError> {
    use backend::imports::desk;
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let filter = desk::Filter {
        limit: MY_IMPORTS_SHOWN,
        ..Default::default()
    };
    let jobs = desk::list(&core, &user, desk::Scope::Own, &filter).await?;
    let counts = desk::counts(&core, &user, desk::Scope::Own).await?;
    Ok(DeskPage {
        jobs: jobs.into_iter().map(desk_item).collect(),
        counts,
    })
}

/// A job count as shown: counts stop past 1,000 (so they cost the same at any size).
pub fn count_label(n: i64) -> String {
    if n > 1_000 {
        "1,000+".to_string()
    } else {
        n.to_string()
    }
}

/// How many of `counts` are in `state` ("" for all).
pub fn count_in(counts: &[(String, i64)], state: &str) -> i64 {
    counts
        .iter()
        .filter(|(s, _)| state.is_empty() || s == state)
        .map(|(_, n)| *n)
        .sum()
}

#[server(output = Postcard)]
pub async fn retry_import(job_id: String) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    Ok(backend::imports::desk::retry(&core, &user, &job_id).await?)
}

#[server(output = Postcard)]
pub async fn cancel_import(job_id: String) -> Result<(), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    backend::imports::desk::cancel(&core, &user, &job_id).await?;
    Ok(())
}

/// Purges jobs finished more than `days` days ago; (deleted, archived).
#[server(output = Postcard)]
pub async fn purge_imports(days: i64) -> Result<(u64, u64), AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let p = backend::imports::desk::purge(&core, &user, days).await?;
    Ok((p.deleted, p.archived))
}

/// The states the desk filters by: (value, label).
const STATES: &[(&str, &str)] = &[
    ("", "All"),
    ("queued", "Waiting"),
    ("processing", "Importing"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
    ("done", "Imported"),
];

pub fn state_label(state: &str, cancelling: bool) -> &'static str {
    match state {
        "queued" => "Waiting",
        "processing" if cancelling => "Cancelling…",
        "processing" => "Importing…",
        "done" => "Imported",
        "cancelled" => "Cancelled",
        _ => "Failed",
    }
}

fn source_label(source: &str) -> &'static str {
    match source {
        "url" => "Link",
        "youtube" => "YouTube",
        "scan" => "Folder",
        _ => "Upload",
    }
}

/// When a list of jobs last had a retry or cancel sent from it (milliseconds since the
/// epoch, in the browser). Lists keep refreshing for a while after one as if a job were
/// under way: the row that sent it may be re-rendered (a filter clicked at once) before
/// the answer comes, and the answer would then refresh nothing.
#[derive(Clone, Copy)]
pub struct ActionSent(pub RwSignal<f64>);

impl ActionSent {
    /// How long after an action a list keeps refreshing.
    pub const WINDOW_MS: f64 = 10_000.0;

    pub fn provide() -> ActionSent {
        let sent = ActionSent(RwSignal::new(0.0));
        provide_context(sent);
        sent
    }

    /// Whether an action was sent recently enough to keep refreshing.
    #[cfg(feature = "hydrate")]
    pub fn recent(self) -> bool {
        js_sys::Date::now() < self.0.get_untracked() + Self::WINDOW_MS
    }

    #[cfg(feature = "hydrate")]
    fn mark(self) {
        self.0.set(js_sys::Date::now());
    }

    #[cfg(not(feature = "hydrate"))]
    fn mark(self) {}
}

/// Retry and Cancel for one job, where they apply; `on_done` after either worked.
#[component]
pub fn JobActions(job: DeskItem, on_done: Callback<()>) -> impl IntoView {
    let retry = ServerAction::<RetryImport>::new();
    let cancel = ServerAction::<CancelImport>::new();
    let sent = use_context::<ActionSent>();
    Effect::new(move |_| {
        if matches!(retry.value().get(), Some(Ok(())))
            || matches!(cancel.value().get(), Some(Ok(())))
        {
            on_done.run(());
        }
    });
    let (id, id2, name) = (job.id.clone(), job.id.clone(), job.filename.clone());
    let can_cancel = (job.state == "queued" || job.state == "processing") && !job.cancelling;
    view! {
        <span class="job-actions">
            // Plain forms underneath: they work without JavaScript.
            {job.retryable.then(|| crate::wire::post_form(
                retry,
                move || RetryImport { job_id: id.clone() },
                view! {
                    <input type="hidden" name="job_id" value=job.id.clone()/>
                    <button type="submit" class="btn small" data-testid="retry-import" aria-label=format!("Try {name} again")
                        disabled=move || retry.pending().get()
                        on:click=move |_| { sent.inspect(|s| s.mark()); }>"Retry"</button>
                },
            ))}
            {can_cancel.then(|| crate::wire::post_form(
                cancel,
                move || CancelImport { job_id: id2.clone() },
                view! {
                    <input type="hidden" name="job_id" value=job.id.clone()/>
                    <button type="submit" class="btn small ghost" data-testid="cancel-import" disabled=move || cancel.pending().get()
                        on:click=move |_| { sent.inspect(|s| s.mark()); }>"Cancel"</button>
                },
            ))}
            {move || match (retry.value().get(), cancel.value().get()) {
                (Some(Err(e)), _) | (_, Some(Err(e))) => Some(view! { <span class="form-error" role="alert">{e.to_string()}</span> }),
                _ => None,
            }}
        </span>
    }
}

/// The admin page's import desk: every user's jobs, filtered by state and source, with
/// retry, cancel and purge. Refreshes itself while jobs are under way.
#[component]
pub fn ImportDesk() -> impl IntoView {
    let state = RwSignal::new(String::new());
    let source = RwSignal::new(String::new());
    let version = RwSignal::new(0u32);
    let extra = RwSignal::new(Vec::<DeskItem>::new());
    let page = crate::wire::resource(
        move || (state.get(), source.get(), version.get()),
        |(st, so, _)| import_desk(st, so, 0),
    );
    let refresh = Callback::new(move |_| {
        extra.set(Vec::new());
        version.update(|v| *v += 1);
    });
    let more = Action::new(move |offset: &i64| {
        let offset = *offset;
        async move { import_desk(state.get_untracked(), source.get_untracked(), offset).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(p)) = more.value().get() {
            extra.update(|e| e.extend(p.jobs));
        }
    });
    let purge = ServerAction::<PurgeImports>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = purge.value().get() {
            refresh.run(());
        }
    });
    #[cfg(feature = "hydrate")]
    {
        let sent = ActionSent::provide();
        let handle = set_interval_with_handle(
            move || {
                let busy = page.get_untracked().and_then(|r| r.ok()).is_some_and(|p| {
                    p.jobs
                        .iter()
                        .any(|j| j.state == "queued" || j.state == "processing")
                });
                if busy || sent.recent() {
                    version.update(|v| *v += 1);
                }
            },
            std::time::Duration::from_millis(1500),
        );
        if let Ok(h) = handle {
            on_cleanup(move || h.clear());
        }
    }
    view! {
        <section class="card import-desk" aria-labelledby="desk-h" data-testid="import-desk">
            <h2 id="desk-h">"Imports"</h2>
            <p class="muted">"Every upload, link and folder file, by everyone. Failed imports can be tried again; waiting and running ones cancelled."</p>
            <div class="desk-filters">
                <div class="chips" role="group" aria-label="Filter by state">
                    <Transition fallback=|| ()>
                        {move || {
                            let counts = page.get().and_then(|r| r.ok()).map(|p| p.counts).unwrap_or_default();
                            STATES.iter().map(|(value, label)| {
                                let n = count_in(&counts, value);
                                let v = value.to_string();
                                view! {
                                    <button class="chip" data-state=*value aria-pressed=move || (state.get() == *value).to_string()
                                        on:click=move |_| { extra.set(Vec::new()); state.set(v.clone()); }>
                                        {format!("{label} {}", count_label(n))}
                                    </button>
                                }
                            }).collect_view()
                        }}
                    </Transition>
                </div>
                <label class="muted">"Source "
                    <select on:change=move |ev| { extra.set(Vec::new()); source.set(event_target_value(&ev)); }>
                        <option value="">"All"</option>
                        <option value="upload">"Uploads"</option>
                        <option value="url">"Links"</option>
                        <option value="youtube">"YouTube"</option>
                        <option value="scan">"Folders"</option>
                    </select>
                </label>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading imports…"</p> }>
                {move || page.get().map(|r| match r {
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    Ok(p) if p.jobs.is_empty() => view! {
                        <p class="muted empty-line">"No imports here."</p>
                    }.into_any(),
                    Ok(p) => {
                        let shown = p.jobs.len() as i64;
                        view! {
                            <ul class="desk-list" data-testid="desk-jobs">
                                {p.jobs.into_iter().map(|j| view! { <DeskRow job=j on_done=refresh/> }).collect_view()}
                                {move || extra.get().into_iter().map(|j| view! { <DeskRow job=j on_done=refresh/> }).collect_view()}
                            </ul>
                            {(shown == DESK_PAGE).then(|| view! {
                                <div class="more">
                                    <button class="btn" disabled=move || more.pending().get()
                                        on:click=move |_| { more.dispatch(shown + extra.with_untracked(Vec::len) as i64); }>"Show more"</button>
                                </div>
                            })}
                        }.into_any()
                    }
                })}
            </Transition>
            <details class="settings-action">
                <summary>"Purge finished imports"</summary>
                <ActionForm action=purge>
                    <p class="hint">"Deletes failed and cancelled imports (and any file kept for a retry), and hides imported ones from this list; their tracks stay."</p>
                    <label>"Finished more than " <input type="number" name="days" value="30" min="0" max="3650" required/> " days ago"</label>
                    {move || match purge.value().get() {
                        Some(Ok((d, a))) => Some(view! { <p class="form-ok" role="status">{format!("{d} deleted, {a} hidden.")}</p> }.into_any()),
                        Some(Err(e)) => Some(view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any()),
                        None => None,
                    }}
                    <button type="submit" class="btn danger" disabled=move || purge.pending().get()>"Purge"</button>
                </ActionForm>
            </details>
        </section>
    }
}

#[component]
fn DeskRow(job: DeskItem, on_done: Callback<()>) -> impl IntoView {
    let when = crate::ui::format::ago(job.created_at);
    view! {
        <li class=format!("desk-row import state-{}", job.state) data-state=job.state.clone() data-job=job.id.clone()>
            <span class="desk-main">
                <span class="import-name" title=job.source_url.clone().unwrap_or_default()>{job.filename.clone()}</span>
                <span class="muted desk-meta">
                    {format!(
                        "{} · {} · {}{}{}",
                        source_label(&job.source),
                        job.owner.clone().unwrap_or_else(|| "deleted account".into()),
                        fmt_size(job.size_bytes),
                        job.duration_ms.map(|d| format!(" · {}", fmt_time(d as f64 / 1000.0))).unwrap_or_default(),
                        if job.attempts > 1 { format!(" · {} attempts", job.attempts) } else { String::new() },
                    )}
                    " · " {when}
                </span>
                {job.error.clone().filter(|_| job.state != "cancelled").map(|e| view! { <span class="import-error">{e}</span> })}
            </span>
            <span class="badge">{state_label(&job.state, job.cancelling)}</span>
            <JobActions job=job.clone() on_done/>
        </li>
    }
}
