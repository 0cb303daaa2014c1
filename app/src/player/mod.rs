//! The player: a typed context the rest of the UI talks to ([`state`]), its server
//! functions ([`api`]), the persistent player bar, and (in the browser) the engine that
//! owns the MediaSource/SourceBuffer lifecycle.

pub mod api;
#[cfg(feature = "hydrate")]
mod engine;
#[cfg(feature = "hydrate")]
mod media_session;
mod shortcuts;
pub mod state;

#[cfg(feature = "hydrate")]
use crate::model::TrackItem;
use crate::model::TrackRef;
use crate::ui::cover::Cover;
use crate::ui::format::fmt_time;
use leptos::prelude::*;
pub use state::PlayerCtx;
use state::{Repeat, bounded};

/// A range input's number, parsed by the browser (Rust's float parser would be one more
/// thing in the main module). Event handlers only run in the browser.
fn input_value(ev: &leptos::ev::Event) -> Option<f64> {
    Some(js_sys::Number::parse_float(&event_target_value(ev))).filter(|v| v.is_finite())
}

#[component]
pub fn PlayerBar() -> impl IntoView {
    let p = expect_context::<PlayerCtx>();
    // The engine is reached through the state's commands, which do not name it.
    #[cfg(feature = "hydrate")]
    state::set_engine(|p, cmd| Box::pin(engine::run(p, cmd)));

    let help = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        state::settings::restore_volume(p);
        p.restore_modes();
    });
    #[cfg(feature = "hydrate")]
    shortcuts::install(p, help, leptos_router::hooks::use_navigate());
    #[cfg(feature = "hydrate")]
    restore(p);
    #[cfg(feature = "hydrate")]
    media_session::install(p);

    // The full-screen Now Playing view (a phone opens it from the mini player).
    let expanded = RwSignal::new(false);
    let now_playing = move || {
        p.current.get().map(|t| {
            view! {
                <button type="button" class="np-open" data-testid="np-open"
                    aria-label=move || if expanded.get() { "Close Now Playing" } else { "Open Now Playing" }
                    aria-expanded=move || expanded.get().to_string()
                    on:click=move |_| expanded.update(|e| *e = !*e)>
                    <Cover track_id=t.id.clone() has_cover=t.has_cover version=t.cover_v.clone() title=t.title.clone()/>
                    <span class="np-text">
                        <span class="np-title" data-testid="np-title">{t.title.clone()}</span>
                        <span class="np-artist muted">{t.artist.clone()}</span>
                    </span>
                </button>
            }
        })
    };
    let progress_pct = move || {
        let d = p.duration.get();
        if d > 0.0 {
            bounded(p.position.get() / d * 1000.0, 0.0, 1000.0) as u32
        } else {
            0
        }
    };
    let buffered_pct = move || {
        let d = p.duration.get();
        if d > 0.0 {
            bounded(p.buffered_to.get() / d * 1000.0, 0.0, 1000.0) as u32
        } else {
            0
        }
    };

    view! {
        <footer class="player-bar" class:idle=move || p.current.get().is_none() aria-label="Player"
            class:expanded=move || expanded.get() && p.current.get().is_some()
            on:keydown=move |ev| if ev.key() == "Escape" && expanded.get_untracked() {
                ev.stop_propagation();
                expanded.set(false);
            }>
            <div class="mini-progress" aria-hidden="true" style=move || {
                let t = progress_pct();
                format!("--progress: {}.{}%", t / 10, t % 10)
            }></div>
            {move || (expanded.get()).then(|| p.current.get()).flatten().map(|t| view! {
                <div class="np-head">
                    <button type="button" class="icon-round" data-testid="np-close" aria-label="Close Now Playing"
                        on:click=move |_| expanded.set(false)>{crate::icons::chevron_down()}</button>
                    <span class="eyebrow muted">"Now playing"</span>
                </div>
                <div class="np-big" data-testid="np-big">
                    <Cover track_id=t.id.clone() has_cover=t.has_cover version=t.cover_v.clone() title=t.title.clone() size=320/>
                </div>
            })}
            <audio
                node_ref=p.audio
                data-testid="audio"
                preload="auto"
                on:timeupdate=move |_| {
                    #[cfg(feature = "hydrate")]
                    state::send(p, state::Cmd::TimeUpdate);
                    // Where playback is goes to the server every 10 s of playing.
                    if (p.position.get_untracked() - p.saved_at.get_value()).abs() >= 10.0 {
                        p.persist_position();
                    }
                }
                on:progress=move |_| {
                    #[cfg(feature = "hydrate")]
                    state::send(p, state::Cmd::TimeUpdate);
                }
                on:play=move |_| p.playing.set(true)
                on:playing=move |_| p.loading.set(false)
                on:waiting=move |_| p.loading.set(true)
                on:pause=move |_| {
                    p.playing.set(false);
                    p.persist_position();
                }
                on:ended=move |_| if !p.advance() { p.playing.set(false) }
            ></audio>
            <div class="np">
                {now_playing}
                {move || p.current.get().map(|t| view! {
                    <button class="icon-btn like-btn np-like" class:on=t.liked data-testid="np-like"
                        aria-pressed=t.liked.to_string() aria-label=format!("Like {}", t.title)
                        title="Like (l)" on:click=move |_| p.toggle_like_current()>
                        {if t.liked { "♥" } else { "♡" }}
                    </button>
                })}
            </div>
            <shortcuts::ShortcutHelp open=help/>
            <div class="controls">
                <div class="transport">
                    <button class="icon-round mode" data-testid="shuffle" aria-label="Shuffle"
                        title=move || if p.shuffle.get() { "Shuffle: on" } else { "Shuffle: off" }
                        class:on=move || p.shuffle.get()
                        aria-pressed=move || p.shuffle.get().to_string()
                        on:click=move |_| p.toggle_shuffle()>{crate::icons::shuffle()}</button>
                    <button class="icon-round" data-testid="prev" aria-label="Previous" title="Previous"
                        disabled=move || p.current.get().is_none()
                        on:click=move |_| p.prev()>{crate::icons::previous()}</button>
                    <button
                        class="btn-round"
                        data-testid="play-pause"
                        aria-label=move || if p.playing.get() { "Pause" } else { "Play" }
                        disabled=move || p.current.get().is_none()
                        on:click=move |_| p.toggle()
                    >
                        {move || if p.playing.get() { "❚❚" } else { "▶" }}
                    </button>
                    <button class="icon-round" data-testid="next" aria-label="Next" title="Next"
                        disabled=move || !p.has_next()
                        on:click=move |_| { p.next(); }>{crate::icons::next()}</button>
                    <button class="icon-round mode" data-testid="repeat"
                        class:on=move || p.repeat.get() != Repeat::Off
                        data-mode=move || p.repeat.get().as_str()
                        aria-label=move || p.repeat.get().label()
                        title=move || p.repeat.get().label()
                        on:click=move |_| p.cycle_repeat()>
                        {move || if p.repeat.get() == Repeat::One { crate::icons::repeat_one().into_any() } else { crate::icons::repeat().into_any() }}
                    </button>
                </div>
                <div class="seek">
                    <span class="time" data-testid="elapsed">{move || fmt_time(p.position.get())}</span>
                    <div class="seek-track" style=move || {
                        // Tenths of a percent, printed as integers (printing an f64 would
                        // bring the float formatter into the main module).
                        let t = buffered_pct();
                        format!("--buffered: {}.{}%", t / 10, t % 10)
                    }>
                        <input
                            type="range"
                            aria-label="Seek"
                            data-testid="seek"
                            min="0"
                            step="0.1"
                            prop:max=move || p.duration.get().max(0.1)
                            prop:value=move || p.position.get()
                            disabled=move || p.current.get().is_none()
                            on:input=move |ev| if let Some(v) = input_value(&ev) { p.position.set(v) }
                            on:change=move |ev| if let Some(v) = input_value(&ev) { p.seek(v) }
                        />
                    </div>
                    <span class="time" data-testid="duration">{move || fmt_time(p.duration.get())}</span>
                </div>
                {move || p.error.get().map(|e| view! { <span class="player-error" role="alert">{e}</span> })}
            </div>
            {move || expanded.get().then(|| view! { <NextUp/> })}
            <div class="volume">
                <leptos_router::components::A href="/queue" attr:class="icon-round queue-link"
                    attr:aria-label="Queue" attr:title="Queue" attr:data-testid="queue-link">"☰"</leptos_router::components::A>
                <button class="icon-round" data-testid="shortcuts-help" aria-label="Keyboard shortcuts"
                    title="Keyboard shortcuts (?)" on:click=move |_| help.set(true)>"⌨"</button>
                <button class="icon-round" data-testid="mute" aria-label="Mute" title="Mute (m)"
                    aria-pressed=move || p.muted.get().to_string()
                    on:click=move |_| p.set_muted(!p.muted.get_untracked())>
                    <svg class="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
                        <path d="M4 9v6h4l5 4V5L8 9H4z" fill="currentColor"/>
                        {move || if p.muted.get() {
                            view! { <path d="M16 9l6 6M22 9l-6 6" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/> }.into_any()
                        } else {
                            view! { <path d="M16 8.5a5 5 0 0 1 0 7M18.5 6a8.5 8.5 0 0 1 0 12" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/> }.into_any()
                        }}
                    </svg>
                </button>
                <input
                    type="range"
                    aria-label="Volume"
                    min="0"
                    max="1"
                    step="0.01"
                    prop:value=move || p.volume.get()
                    on:input=move |ev| if let Some(v) = input_value(&ev) { p.set_volume(v) }
                />
            </div>
        </footer>
    }
}

/// The Now Playing view's list of what comes next; a tap plays one.
#[component]
fn NextUp() -> impl IntoView {
    let p = expect_context::<PlayerCtx>();
    view! {
        <section class="np-queue" aria-label="Next up">
            <h2>"Next up"</h2>
            <Show when=move || p.has_next() fallback=|| view! {
                <p class="muted">"Nothing after this one."</p>
            }>
                // Rebuilt when the queue moves (a keyed list would bring its diffing
                // code into the main module for 50 rows).
                <ol class="queue-list" data-testid="np-next-up">
                    // The next 50 (a long queue is on the Queue page).
                    {move || p.upcoming(50).into_iter().map(|(i, t)| view! {
                        <li><TrackButton track=t on_play=Callback::new(move |_| { p.go_to(i); })/></li>
                    }).collect_view()}
                </ol>
            </Show>
        </section>
    }
}

/// A track as one button (cover, title, artist) that plays it: Now Playing's "Next up" and
/// the offline page's lists.
#[component]
pub fn TrackButton(track: TrackRef, on_play: Callback<()>) -> impl IntoView {
    view! {
        <button type="button" class="np-next" on:click=move |_| on_play.run(())>
            <Cover track_id=track.id.clone() has_cover=track.has_cover version=track.cover_v.clone() title=track.title.clone()/>
            <span class="title-cell">
                <span class="track-title">{track.title.clone()}</span>
                <span class="track-artist muted">{track.artist.clone()}</span>
            </span>
        </button>
    }
}

/// Loads the stored queue into the player once, when the page opens with nothing playing.
#[cfg(feature = "hydrate")]
pub fn restore(p: PlayerCtx) {
    leptos::task::spawn_local(async move {
        match api::get_queue().await {
            Ok(q) if p.current.get_untracked().is_none() && !q.tracks.is_empty() => {
                let refs: Vec<TrackRef> = q.tracks.iter().map(TrackItem::to_ref).collect();
                p.cue(refs, q.index, q.position_ms as f64 / 1000.0);
            }
            Ok(_) => {}
            Err(e) => leptos::logging::warn!("queue not restored: {e}"),
        }
    });
}
