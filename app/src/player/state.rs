//! The player's state and the commands the rest of the UI gives it ([`PlayerCtx`]), how
//! those reach the engine, and the settings this browser keeps for it.

use crate::model::TrackRef;
use leptos::prelude::*;

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
    pub fn next(self) -> Repeat {
        match self {
            Repeat::Off => Repeat::All,
            Repeat::All => Repeat::One,
            Repeat::One => Repeat::Off,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Repeat::Off => "Repeat: off",
            Repeat::All => "Repeat: all",
            Repeat::One => "Repeat: one",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Repeat::Off => "off",
            Repeat::All => "all",
            Repeat::One => "one",
        }
    }
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub fn parse(s: &str) -> Repeat {
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
        control::send(*self, Cmd::QueueChanged);
    }

    /// Repeat off → all → one → off (remembered in the browser).
    pub fn cycle_repeat(&self) {
        let r = self.repeat.get_untracked().next();
        self.repeat.set(r);
        #[cfg(feature = "hydrate")]
        crate::ui::storage::remember(REPEAT_KEY, r.as_str());
        self.order_changed();
    }

    /// Shuffle on: what comes after the current track is put in a random order. Off: the
    /// order from before comes back, from the current track on.
    pub fn toggle_shuffle(&self) {
        let on = !self.shuffle.get_untracked();
        self.shuffle.set(on);
        #[cfg(feature = "hydrate")]
        crate::ui::storage::remember(SHUFFLE_KEY, if on { "1" } else { "0" });
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
    pub(crate) fn restore_modes(&self) {
        if let Some(r) = crate::ui::storage::recall(REPEAT_KEY) {
            self.repeat.set(Repeat::parse(&r));
        }
        self.shuffle
            .set(crate::ui::storage::recall(SHUFFLE_KEY).is_some_and(|v| v == "1"));
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
        control::send(*self, Cmd::ForgetTimeline);
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
            crate::ui::storage::remember(SHUFFLE_KEY, "1");
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
                if let Err(e) = super::api::save_queue(ids, index, ms).await {
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
                if let Err(e) = super::api::save_queue_position(index, ms).await {
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
        control::send(*self, Cmd::Load(track, at));
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
            control::send(*self, Cmd::Toggle);
        }
    }

    pub fn seek(&self, secs: f64) {
        self.position.set(secs);
        #[cfg(feature = "hydrate")]
        control::send(*self, Cmd::Seek(secs));
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
                if let Err(e) = super::api::set_liked(t.id, liked).await {
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

impl Default for PlayerCtx {
    fn default() -> Self {
        Self::new()
    }
}

/// What the rest of the player asks of the engine (sent with [`send`]).
#[cfg(feature = "hydrate")]
pub enum Cmd {
    /// Load a track (the queue's current entry) and play it from this many seconds.
    Load(TrackRef, f64),
    /// Forget the tracks on the timeline (a new list starts).
    ForgetTimeline,
    /// The queue or the repeat mode changed.
    QueueChanged,
    Seek(f64),
    Toggle,
    /// The element's time moved (or more got buffered).
    TimeUpdate,
    /// Normalization was switched: the gain is worked out again.
    Gain,
}

/// How the player reaches its engine. The engine is a lazily loaded WASM chunk: nothing is
/// fetched until the first track loads. Commands sent while it loads wait, in order, and
/// run once it is there; after that each runs at once, in the caller's turn (the gapless
/// hand-over and the position updates depend on that). Before anything has loaded there
/// is nothing to seek, pause or follow, so only a load starts the engine and the other
/// commands are dropped. The player bar names the engine ([`set_engine`]), so this file
/// does not import it.
#[cfg(feature = "hydrate")]
mod control {
    use super::{Cmd, PlayerCtx};
    use futures::FutureExt;
    use std::cell::{Cell, RefCell};
    use std::future::Future;
    use std::pin::Pin;

    /// The engine's entry point, as the player bar hands it over.
    pub type Engine = fn(PlayerCtx, Cmd) -> Pin<Box<dyn Future<Output = ()>>>;

    thread_local! {
        static STATE: RefCell<State> = const { RefCell::new(State::Cold) };
        static ENGINE: Cell<Option<Engine>> = const { Cell::new(None) };
    }

    pub fn set_engine(engine: Engine) {
        ENGINE.with(|e| e.set(Some(engine)));
    }

    async fn run(p: PlayerCtx, cmd: Cmd) {
        if let Some(engine) = ENGINE.with(Cell::get) {
            engine(p, cmd).await;
        }
    }

    enum State {
        Cold,
        Loading(Vec<Cmd>),
        Ready,
    }

    pub fn send(p: PlayerCtx, cmd: Cmd) {
        // Decided with the state borrowed, run after: the engine sends commands itself (a
        // track ends, the queue moves on).
        let run_now = STATE.with(|s| {
            let mut s = s.borrow_mut();
            match &mut *s {
                State::Ready => Some(cmd),
                State::Loading(waiting) => {
                    waiting.push(cmd);
                    None
                }
                State::Cold if matches!(cmd, Cmd::Load(..)) => {
                    *s = State::Loading(vec![cmd]);
                    leptos::task::spawn_local(drain(p));
                    None
                }
                State::Cold => None,
            }
        });
        if let Some(cmd) = run_now {
            // The chunk is loaded, so this completes on its first poll (were it not to, it
            // finishes as a task).
            let mut call = Box::pin(run(p, cmd));
            if (&mut call).now_or_never().is_none() {
                leptos::task::spawn_local(call);
            }
        }
    }

    /// Loads the engine with the first command, then runs those that came meanwhile.
    async fn drain(p: PlayerCtx) {
        loop {
            let next = STATE.with(|s| {
                let mut s = s.borrow_mut();
                match &mut *s {
                    State::Loading(waiting) if !waiting.is_empty() => Some(waiting.remove(0)),
                    state => {
                        *state = State::Ready;
                        None
                    }
                }
            });
            match next {
                Some(cmd) => run(p, cmd).await,
                None => break,
            }
        }
    }
}

/// The player's settings kept in this browser (volume, mute, normalization) and the
/// element's volume.
#[cfg(feature = "hydrate")]
pub(crate) mod settings {
    use super::{Cmd, PlayerCtx, control};
    use crate::ui::storage::recall;
    use crate::ui::storage::remember;
    use leptos::prelude::*;

    const VOLUME_KEY: &str = "refrain.volume";
    const MUTED_KEY: &str = "refrain.muted";
    const NORMALIZE_KEY: &str = "refrain.normalize";

    /// Sets the element's volume: the listener's volume times the current track's gain.
    pub fn apply_volume(p: PlayerCtx) {
        if let Some(a) = p.audio.get_untracked() {
            a.set_volume(super::bounded(
                p.volume.get_untracked() * p.gain.get_untracked(),
                0.0,
                1.0,
            ));
        }
    }

    pub fn set_volume(p: PlayerCtx, v: f64) {
        apply_volume(p);
        // Printed by the browser: Rust's float printing is big, and only this needed it.
        remember(
            VOLUME_KEY,
            &String::from(
                js_sys::Number::from(v)
                    .to_string_with_radix(10)
                    .unwrap_or_else(|_| "1".into()),
            ),
        );
    }

    pub fn set_normalize(p: PlayerCtx, on: bool) {
        remember(NORMALIZE_KEY, if on { "1" } else { "0" });
        control::send(p, Cmd::Gain);
    }

    pub fn set_muted(p: PlayerCtx, muted: bool) {
        if let Some(a) = p.audio.get_untracked() {
            a.set_muted(muted);
        }
        remember(MUTED_KEY, if muted { "1" } else { "0" });
    }

    /// Restores the volume, mute and normalization remembered in this browser.
    pub fn restore_volume(p: PlayerCtx) {
        let muted = recall(MUTED_KEY).is_some_and(|v| v == "1");
        p.muted.set(muted);
        if let Some(a) = p.audio.get_untracked() {
            a.set_muted(muted);
        }
        p.normalize
            .set(recall(NORMALIZE_KEY).is_none_or(|v| v != "0"));
        let v = recall(VOLUME_KEY)
            .map(|v| js_sys::Number::parse_float(&v))
            .filter(|v| (0.0..=1.0).contains(v));
        if let Some(v) = v {
            p.volume.set(v);
        }
        apply_volume(p);
    }

    /// A random id for a new playback (128 bits, hex).
    pub fn new_playback_id() -> String {
        (0..4)
            .map(|_| {
                format!(
                    "{:08x}",
                    (js_sys::Math::random() * f64::from(u32::MAX)) as u32
                )
            })
            .collect()
    }
}

#[cfg(feature = "hydrate")]
pub use control::{send, set_engine};
#[cfg(feature = "hydrate")]
pub use settings::apply_volume;

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
