//! The queue: kept on the server (so a reload or another device continues where playback
//! was), shown and rearranged on its own page.

use crate::model::TrackRef;
use crate::player::state::PlayerCtx;
use crate::ui::cover::Cover;
use crate::ui::format::fmt_time;
use leptos::prelude::*;

/// The queue page: now playing, then what comes next, which can be reordered (drag and
/// drop, or the arrow buttons), removed one by one or cleared.
#[component]
pub fn QueuePage() -> impl IntoView {
    let p = expect_context::<PlayerCtx>();
    let dragging = RwSignal::new(None::<usize>);
    let upcoming = move || p.upcoming(usize::MAX);
    view! {
        <leptos_meta::Title text="Queue"/>
        <section class="page">
            <header class="page-head"><h1>"Queue"</h1></header>
            {move || match p.current.get() {
                None => view! {
                    <div class="empty" data-testid="queue-empty">
                        <p class="empty-title">"Nothing is playing"</p>
                        <p class="muted">"Play a song, an album or a list and it appears here, with what comes next."</p>
                    </div>
                }.into_any(),
                Some(t) => view! {
                    <h2>"Now playing"</h2>
                    <div class="queue-list" data-testid="now-playing"><QueueRow i=p.index.get_untracked() t current=true dragging/></div>
                }.into_any(),
            }}
            <Show when=move || p.current.get().is_some()>
                <div class="queue-head">
                    <h2>"Next up"</h2>
                    <button class="btn ghost" data-testid="clear-queue"
                        disabled=move || !p.has_next()
                        on:click=move |_| p.clear_upcoming()>"Clear"</button>
                </div>
                <ol class="queue-list" data-testid="up-next" aria-label="Next up">
                    <For each=upcoming key=|(i, t)| (*i, t.id.clone()) let((i, t))>
                        <QueueRow i t current=false dragging/>
                    </For>
                </ol>
                <Show when=move || !p.has_next()>
                    <p class="muted">"Nothing after this one. Use “Add to queue” in any track’s ⋯ menu."</p>
                </Show>
            </Show>
        </section>
    }
}

#[component]
fn QueueRow(
    i: usize,
    t: TrackRef,
    current: bool,
    dragging: RwSignal<Option<usize>>,
) -> impl IntoView {
    let p = expect_context::<PlayerCtx>();
    let title = t.title.clone();
    view! {
        <li class="queue-row" class:current=current data-testid="queue-row"
            draggable=(!current).then_some("true")
            on:dragstart=move |ev| {
                dragging.set(Some(i));
                if let Some(dt) = ev.data_transfer() {
                    let _ = dt.set_data("text/plain", &i.to_string());
                    dt.set_effect_allowed("move");
                }
            }
            on:dragover=move |ev| if !current { ev.prevent_default() }
            on:drop=move |ev| {
                ev.prevent_default();
                if let Some(from) = dragging.get_untracked() && !current {
                    p.move_item(from, i);
                }
                dragging.set(None);
            }
            on:dragend=move |_| dragging.set(None)
            class:dragging=move || dragging.get() == Some(i)>
            {(!current).then(|| view! { <span class="drag-handle" aria-hidden="true">{crate::icons::grip()}</span> })}
            <Cover track_id=t.id.clone() has_cover=t.has_cover version=t.cover_v.clone() title=t.title.clone()/>
            <span class="title-cell">
                <span class="track-title">{t.title.clone()}</span>
                <span class="track-artist muted">{t.artist.clone()}</span>
            </span>
            <span class="col-dur muted">{fmt_time(t.duration_ms as f64 / 1000.0)}</span>
            {(!current).then(|| view! {
                <span class="queue-actions">
                    <button class="icon-btn" aria-label=format!("Move {title} up")
                        disabled=move || { i <= p.index.get() + 1 }
                        on:click=move |_| p.move_item(i, i - 1)>"↑"</button>
                    <button class="icon-btn" aria-label=format!("Move {title} down")
                        disabled=move || { i + 1 >= p.queue.with(Vec::len) }
                        on:click=move |_| p.move_item(i, i + 1)>"↓"</button>
                    <button class="icon-btn" aria-label=format!("Remove {title} from the queue")
                        on:click=move |_| p.remove_at(i)>"✕"</button>
                </span>
            })}
        </li>
    }
}
