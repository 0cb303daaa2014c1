//! The player: a typed context the rest of the UI talks to, the persistent player bar, and
//! (in the browser) the engine that owns the MediaSource/SourceBuffer lifecycle.

#[cfg(feature = "hydrate")]
mod control;
#[cfg(feature = "hydrate")]
mod engine;
#[cfg(feature = "hydrate")]
mod media_session;
#[cfg(feature = "hydrate")]
pub(crate) mod settings;
mod shortcuts;

use crate::library::Cover;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackRef {
    pub id: String,
    pub title: String,
    pub artist: String,
    pub has_cover: bool,
    #[serde(default)]
    pub cover_v: String,
    pub duration_ms: i64,
    /// In the listener's Liked Songs (as far as this page knows).
    #[serde(default)]
    pub liked: bool,
}

/// What the player knows about the current playback, to report it once it counts as a
/// play: time actually listened (seeking skips ahead without counting).
#[derive(Debug, Clone, Default)]
pub struct Playback {
    /// One per playback: the server counts a playback once.
    pub id: String,
    pub track_id: String,
    pub duration_ms: i64,
    pub listened_ms: f64,
    pub last_pos: f64,
    pub reported: bool,
}

/// A playback counts as a play after 30 s, or half of a shorter track (the server checks
/// the same rule).
pub fn counts_as_play(listened_ms: f64, duration_ms: i64) -> bool {
    listened_ms >= 30_000f64.min(duration_ms as f64 / 2.0)
}

/// What happens at the end of a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Repeat {
    /// Stop after the last track of the queue.
    #[default]
    Off,
    /// Start the queue again after its last track.
    All,
    /// Play the current track again.
    One,
}

impl Repeat {
    fn next(self) -> Repeat {
        match self {
            Repeat::Off => Repeat::All,
            Repeat::All => Repeat::One,
            Repeat::One => Repeat::Off,
        }
    }
    fn label(self) -> &'static str {
        match self {
            Repeat::Off => "Repeat: off",
            Repeat::All => "Repeat: all",
            Repeat::One => "Repeat: one",
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            Repeat::Off => "off",
            Repeat::All => "all",
            Repeat::One => "one",
        }
    }
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn parse(s: &str) -> Repeat {
        match s {
            "all" => Repeat::All,
            "one" => Repeat::One,
            _ => Repeat::Off,
        }
    }
}

/// The track that plays after queue entry `index` of a queue of `len`, by `repeat`.
pub fn upcoming_index(index: usize, len: usize, repeat: Repeat) -> Option<usize> {
    if index >= len {
        return None;
    }
    match repeat {
        Repeat::One => Some(index),
        Repeat::All => Some((index + 1) % len),
        Repeat::Off => (index + 1 < len).then_some(index + 1),
    }
}

#[cfg(feature = "hydrate")]
const REPEAT_KEY: &str = "refrain.repeat";
#[cfg(feature = "hydrate")]
const SHUFFLE_KEY: &str = "refrain.shuffle";

/// The player's state and commands, provided once at the app root.
#[derive(Clone, Copy)]
pub struct PlayerCtx {
    pub playback: StoredValue<Option<Playback>>,
    pub current: RwSignal<Option<TrackRef>>,
    pub playing: RwSignal<bool>,
    pub position: RwSignal<f64>,
    pub duration: RwSignal<f64>,
    pub buffered_to: RwSignal<f64>,
    pub volume: RwSignal<f64>,
    pub muted: RwSignal<bool>,
    pub loading: RwSignal<bool>,
    pub error: RwSignal<Option<String>>,
    pub audio: NodeRef<leptos::html::Audio>,
    /// What plays in order (the list a track was started from), and where in it we are.
    pub queue: RwSignal<Vec<TrackRef>>,
    pub index: RwSignal<usize>,
    /// The track the engine has loaded (a queue restored from the server is only cued).
    pub loaded: StoredValue<Option<String>>,
    /// Where playback was when the position was last stored on the server (seconds).
    pub saved_at: StoredValue<f64>,
    pub repeat: RwSignal<Repeat>,
    pub shuffle: RwSignal<bool>,
    /// The queue's order before shuffle was turned on (restored when it is turned off).
    pub unshuffled: StoredValue<Option<Vec<TrackRef>>>,
    /// Loudness normalization on (remembered in the browser).
    pub normalize: RwSignal<bool>,
    /// The current track's normalization factor (1 when off or not measured).
    pub gain: RwSignal<f64>,
}

impl PlayerCtx {
    pub fn new() -> Self {
        PlayerCtx {
            playback: StoredValue::new(None),
            current: RwSignal::new(None),
            playing: RwSignal::new(false),
            position: RwSignal::new(0.0),
            duration: RwSignal::new(0.0),
            buffered_to: RwSignal::new(0.0),
            volume: RwSignal::new(1.0),
            muted: RwSignal::new(false),
            loading: RwSignal::new(false),
            error: RwSignal::new(None),
            audio: NodeRef::new(),
            queue: RwSignal::new(Vec::new()),
            index: RwSignal::new(0),
            loaded: StoredValue::new(None),
            saved_at: StoredValue::new(0.0),
            repeat: RwSignal::new(Repeat::Off),
            shuffle: RwSignal::new(false),
            unshuffled: StoredValue::new(None),
            normalize: RwSignal::new(true),
            gain: RwSignal::new(1.0),
        }
    }

    /// The queue entry that plays after entry `index` (by the repeat mode), and its track.
    pub fn upcoming_after(&self, index: usize) -> Option<(usize, TrackRef)> {
        let repeat = self.repeat.get_untracked();
        self.queue.with_untracked(|q| {
            let i = upcoming_index(index, q.len(), repeat)?;
            Some((i, q[i].clone()))
        })
    }

    /// The engine moved on to queue entry `index` by itself (gapless, at a boundary).
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub(crate) fn follow(&self, index: usize, track: TrackRef) {
        self.index.set(index);
        self.begin(&track, 0.0);
        self.current.set(Some(track));
        self.persist_position();
    }

    /// A new playback of `track` from `at` seconds: its length, the position, and a fresh
    /// play-count record.
    fn begin(&self, track: &TrackRef, at: f64) {
        self.duration.set(track.duration_ms as f64 / 1000.0);
        self.position.set(at);
        self.loaded.set_value(Some(track.id.clone()));
        #[cfg(feature = "hydrate")]
        self.playback.set_value(Some(Playback {
            id: settings::new_playback_id(),
            track_id: track.id.clone(),
            duration_ms: track.duration_ms,
            last_pos: at,
            ..Playback::default()
        }));
    }

    /// Tells the engine the order changed (what follows the current track may differ).
    fn order_changed(&self) {
        #[cfg(feature = "hydrate")]
        control::send(*self, engine::Cmd::QueueChanged);
    }

    /// Repeat off → all → one → off (remembered in the browser).
    pub fn cycle_repeat(&self) {
        let r = self.repeat.get_untracked().next();
        self.repeat.set(r);
        #[cfg(feature = "hydrate")]
        settings::remember(REPEAT_KEY, r.as_str());
        self.order_changed();
    }

    /// Shuffle on: what comes after the current track is put in a random order. Off: the
    /// order from before comes back, from the current track on.
    pub fn toggle_shuffle(&self) {
        let on = !self.shuffle.get_untracked();
        self.shuffle.set(on);
        #[cfg(feature = "hydrate")]
        settings::remember(SHUFFLE_KEY, if on { "1" } else { "0" });
        let cur = self.index.get_untracked();
        if on {
            self.unshuffled.set_value(Some(self.queue.get_untracked()));
            self.queue.update(|q| {
                if cur + 1 < q.len() {
                    shuffle(&mut q[cur + 1..]);
                }
            });
        } else if let Some(orig) = self.unshuffled.try_update_value(Option::take).flatten() {
            let current_id = self
                .current
                .with_untracked(|c| c.as_ref().map(|t| t.id.clone()));
            if let Some(i) = orig.iter().position(|t| Some(&t.id) == current_id.as_ref()) {
                self.queue.set(orig);
                self.index.set(i);
            }
        }
        self.order_changed();
        self.persist_queue();
    }

    /// Turns loudness normalization on or off (remembered in the browser).
    pub fn set_normalize(&self, on: bool) {
        self.normalize.set(on);
        #[cfg(feature = "hydrate")]
        settings::set_normalize(*self, on);
    }

    /// Restores repeat and shuffle as this browser left them.
    #[cfg(feature = "hydrate")]
    fn restore_modes(&self) {
        if let Some(r) = settings::recall(REPEAT_KEY) {
            self.repeat.set(Repeat::parse(&r));
        }
        self.shuffle
            .set(settings::recall(SHUFFLE_KEY).is_some_and(|v| v == "1"));
    }

    /// Plays `tracks` from `start` (they become the queue): in order, or with shuffle on,
    /// the chosen track first and the rest in a random order.
    pub fn play_list(&self, tracks: Vec<TrackRef>, start: usize) {
        let Some(first) = tracks.get(start).cloned() else {
            return;
        };
        let (tracks, start) = if self.shuffle.get_untracked() {
            self.unshuffled.set_value(Some(tracks.clone()));
            let mut rest: Vec<TrackRef> = tracks
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != start)
                .map(|(_, t)| t.clone())
                .collect();
            shuffle(&mut rest);
            rest.insert(0, first.clone());
            (rest, 0)
        } else {
            self.unshuffled.set_value(None);
            (tracks, start)
        };
        self.queue.set(tracks);
        self.index.set(start);
        #[cfg(feature = "hydrate")]
        control::send(*self, engine::Cmd::ForgetTimeline);
        self.start(first, 0.0);
        self.persist_queue();
    }

    /// Plays `tracks` in a random order (and turns shuffle on).
    pub fn play_shuffled(&self, tracks: Vec<TrackRef>) {
        if tracks.is_empty() {
            return;
        }
        if !self.shuffle.get_untracked() {
            self.shuffle.set(true);
            #[cfg(feature = "hydrate")]
            settings::remember(SHUFFLE_KEY, "1");
        }
        let start = random_index(tracks.len());
        self.play_list(tracks, start);
    }

    /// Shows a queue restored from the server without playing it: Play continues the
    /// current track from `position` seconds.
    pub fn cue(&self, tracks: Vec<TrackRef>, index: usize, position: f64) {
        let Some(t) = tracks.get(index).cloned() else {
            return;
        };
        self.queue.set(tracks);
        self.index.set(index);
        self.duration.set(t.duration_ms as f64 / 1000.0);
        self.position.set(position);
        self.saved_at.set_value(position);
        self.current.set(Some(t));
    }

    /// Puts `track` right after the current one (or plays it if nothing is queued).
    pub fn play_next(&self, track: TrackRef) {
        if self.queue.with_untracked(Vec::is_empty) {
            return self.play_list(vec![track], 0);
        }
        let at = self.index.get_untracked() + 1;
        self.queue.update(|q| q.insert(at.min(q.len()), track));
        self.order_changed();
        self.persist_queue();
    }

    /// Adds `track` at the end of the queue (or plays it if nothing is queued).
    pub fn add_to_queue(&self, track: TrackRef) {
        if self.queue.with_untracked(Vec::is_empty) {
            return self.play_list(vec![track], 0);
        }
        self.queue.update(|q| q.push(track));
        self.order_changed();
        self.persist_queue();
    }

    /// Removes the queue entry at `i` (not the current track).
    pub fn remove_at(&self, i: usize) {
        let cur = self.index.get_untracked();
        if i == cur || i >= self.queue.with_untracked(Vec::len) {
            return;
        }
        self.queue.update(|q| {
            q.remove(i);
        });
        if i < cur {
            self.index.set(cur - 1);
        }
        self.order_changed();
        self.persist_queue();
    }

    /// Moves the queue entry at `from` to `to` (the current track keeps playing).
    pub fn move_item(&self, from: usize, to: usize) {
        let len = self.queue.with_untracked(Vec::len);
        if from >= len || to >= len || from == to {
            return;
        }
        let cur = self.index.get_untracked();
        self.queue.update(|q| {
            let t = q.remove(from);
            q.insert(to, t);
        });
        let new_cur = if from == cur {
            to
        } else if from < cur && to >= cur {
            cur - 1
        } else if from > cur && to <= cur {
            cur + 1
        } else {
            cur
        };
        self.index.set(new_cur);
        self.order_changed();
        self.persist_queue();
    }

    /// Drops everything after the current track.
    pub fn clear_upcoming(&self) {
        let cur = self.index.get_untracked();
        self.queue.update(|q| q.truncate(cur + 1));
        self.order_changed();
        self.persist_queue();
    }

    pub fn has_next(&self) -> bool {
        let len = self.queue.with(Vec::len);
        len > 0 && (self.index.get() + 1 < len || self.repeat.get() != Repeat::Off)
    }

    /// Goes to the next track of the queue (to its start again with repeat on); false at
    /// its end.
    pub fn next(&self) -> bool {
        let (i, len) = (
            self.index.get_untracked(),
            self.queue.with_untracked(Vec::len),
        );
        let repeat = match self.repeat.get_untracked() {
            Repeat::One => Repeat::All,
            r => r,
        };
        match upcoming_index(i, len, repeat) {
            Some(i) => self.go_to(i),
            None => false,
        }
    }

    /// At the end of a track (when it was not already followed without a gap): what the
    /// repeat mode says plays next; false when nothing does.
    pub fn advance(&self) -> bool {
        match self.upcoming_after(self.index.get_untracked()) {
            Some((i, _)) => self.go_to(i),
            None => false,
        }
    }

    /// What comes after the current track, with queue positions: at most `limit` of them.
    pub fn upcoming(&self, limit: usize) -> Vec<(usize, TrackRef)> {
        let cur = self.index.get();
        self.queue.with(|q| {
            q.iter()
                .enumerate()
                .skip(cur + 1)
                .take(limit)
                .map(|(i, t)| (i, t.clone()))
                .collect()
        })
    }

    /// Plays the queue's track `i`.
    pub fn go_to(&self, i: usize) -> bool {
        match self.queue.with_untracked(|q| q.get(i).cloned()) {
            Some(t) => {
                self.index.set(i);
                self.start(t, 0.0);
                self.persist_position();
                true
            }
            None => false,
        }
    }

    /// Restarts the track, or (within its first three seconds) goes to the previous one.
    pub fn prev(&self) {
        let i = self.index.get_untracked();
        if self.position.get_untracked() > 3.0 || i == 0 {
            self.seek(0.0);
            return;
        }
        self.go_to(i - 1);
    }

    /// Stores the whole queue on the server (after it changed).
    fn persist_queue(&self) {
        #[cfg(feature = "hydrate")]
        {
            let ids: Vec<String> = self
                .queue
                .with_untracked(|q| q.iter().map(|t| t.id.clone()).collect());
            let index = self.index.get_untracked();
            let pos = self.position.get_untracked();
            self.saved_at.set_value(pos);
            leptos::task::spawn_local(async move {
                let ms = (pos * 1000.0) as i64;
                if let Err(e) = crate::queue::save_queue(ids, index, ms).await {
                    leptos::logging::warn!("queue not saved: {e}");
                }
            });
        }
    }

    /// Stores where in the queue playback is (on track changes, pauses and every few
    /// seconds of playing).
    pub fn persist_position(&self) {
        #[cfg(feature = "hydrate")]
        {
            let index = self.index.get_untracked();
            let pos = self.position.get_untracked();
            self.saved_at.set_value(pos);
            leptos::task::spawn_local(async move {
                let ms = (pos * 1000.0) as i64;
                if let Err(e) = crate::queue::save_queue_position(index, ms).await {
                    leptos::logging::warn!("queue position not saved: {e}");
                }
            });
        }
    }

    /// Starts playing `track` from `at` seconds.
    fn start(&self, track: TrackRef, at: f64) {
        self.begin(&track, at);
        self.error.set(None);
        self.current.set(Some(track.clone()));
        #[cfg(feature = "hydrate")]
        control::send(*self, engine::Cmd::Load(track, at));
    }

    /// Play or pause; a cued track (a restored queue) starts where it was left.
    pub fn toggle(&self) {
        let Some(current) = self.current.get_untracked() else {
            return;
        };
        if self
            .loaded
            .with_value(|l| l.as_deref() != Some(current.id.as_str()))
        {
            self.start(current, self.position.get_untracked());
        } else {
            #[cfg(feature = "hydrate")]
            control::send(*self, engine::Cmd::Toggle);
        }
    }

    pub fn seek(&self, secs: f64) {
        self.position.set(secs);
        #[cfg(feature = "hydrate")]
        control::send(*self, engine::Cmd::Seek(secs));
    }

    /// Seeks `delta` seconds from where playback is (within the track).
    pub fn seek_by(&self, delta: f64) {
        if self.current.get_untracked().is_none() {
            return;
        }
        let to = bounded(
            self.position.get_untracked() + delta,
            0.0,
            self.duration.get_untracked().max(0.0),
        );
        self.seek(to);
    }

    pub fn set_muted(&self, muted: bool) {
        self.muted.set(muted);
        #[cfg(feature = "hydrate")]
        settings::set_muted(*self, muted);
    }

    /// Likes or unlikes the current track (stored on the server).
    pub fn toggle_like_current(&self) {
        let Some(t) = self.current.get_untracked() else {
            return;
        };
        let liked = !t.liked;
        self.current.update(|c| {
            if let Some(c) = c {
                c.liked = liked;
            }
        });
        self.queue.update(|q| {
            for x in q.iter_mut().filter(|x| x.id == t.id) {
                x.liked = liked;
            }
        });
        #[cfg(feature = "hydrate")]
        {
            let error = self.error;
            leptos::task::spawn_local(async move {
                if let Err(e) = crate::library::set_liked(t.id, liked).await {
                    error.set(Some(e.to_string()));
                }
            });
        }
    }

    pub fn set_volume(&self, v: f64) {
        let v = bounded(v, 0.0, 1.0);
        self.volume.set(v);
        #[cfg(feature = "hydrate")]
        settings::set_volume(*self, v);
    }
}

impl Default for PlayerCtx {
    fn default() -> Self {
        Self::new()
    }
}

/// A random index below `n` (0 outside the browser).
fn random_index(n: usize) -> usize {
    #[cfg(feature = "hydrate")]
    return ((js_sys::Math::random() * n as f64) as usize).min(n.saturating_sub(1));
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = n;
        0
    }
}

/// Fisher–Yates with the browser's random numbers (only ever called in the browser).
fn shuffle(tracks: &mut [TrackRef]) {
    #[cfg(feature = "hydrate")]
    for i in (1..tracks.len()).rev() {
        let j = (js_sys::Math::random() * (i + 1) as f64) as usize;
        tracks.swap(i, j.min(i));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = tracks;
}

/// `m:ss` (or `h:mm:ss`).
/// `x` kept within `lo..=hi` (NaN becomes `lo`). Not `f64::clamp`: it asserts its bounds
/// with a message that formats floats, which brought float formatting (about 19 KB of
/// code) into the module every page loads first.
#[allow(clippy::manual_clamp)]
pub fn bounded(x: f64, lo: f64, hi: f64) -> f64 {
    x.max(lo).min(hi)
}

pub fn fmt_time(secs: f64) -> String {
    let s = if secs.is_finite() && secs > 0.0 {
        secs as u64
    } else {
        0
    };
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// A range input's number, parsed by the browser (Rust's float parser would be one more
/// thing in the main module). Event handlers only run in the browser.
fn input_value(ev: &leptos::ev::Event) -> Option<f64> {
    Some(js_sys::Number::parse_float(&event_target_value(ev))).filter(|v| v.is_finite())
}

#[component]
pub fn PlayerBar() -> impl IntoView {
    let p = expect_context::<PlayerCtx>();

    let help = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        settings::restore_volume(p);
        p.restore_modes();
    });
    #[cfg(feature = "hydrate")]
    shortcuts::install(p, help, leptos_router::hooks::use_navigate());
    #[cfg(feature = "hydrate")]
    crate::queue::restore(p);
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
                    control::send(p, engine::Cmd::TimeUpdate);
                    // Where playback is goes to the server every 10 s of playing.
                    if (p.position.get_untracked() - p.saved_at.get_value()).abs() >= 10.0 {
                        p.persist_position();
                    }
                }
                on:progress=move |_| {
                    #[cfg(feature = "hydrate")]
                    control::send(p, engine::Cmd::TimeUpdate);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_plays_next_follows_the_repeat_mode() {
        assert_eq!(upcoming_index(0, 3, Repeat::Off), Some(1));
        assert_eq!(upcoming_index(2, 3, Repeat::Off), None);
        assert_eq!(upcoming_index(2, 3, Repeat::All), Some(0));
        assert_eq!(upcoming_index(1, 3, Repeat::One), Some(1));
        assert_eq!(upcoming_index(0, 0, Repeat::All), None);
        assert_eq!(upcoming_index(5, 3, Repeat::One), None);
    }

    #[test]
    fn repeat_cycles_off_all_one() {
        let mut r = Repeat::Off;
        let mut seen = vec![];
        for _ in 0..3 {
            r = r.next();
            seen.push(r.as_str());
        }
        assert_eq!(seen, ["all", "one", "off"]);
        assert_eq!(Repeat::parse("one"), Repeat::One);
        assert_eq!(Repeat::parse("bogus"), Repeat::Off);
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
