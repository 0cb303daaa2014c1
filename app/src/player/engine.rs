//! Browser-only playback engine. Streams fragmented MP4 renditions into one SourceBuffer
//! in Range-request chunks, keeps about 30 s buffered ahead and evicts what is far behind.
//!
//! Gapless: the tracks of the queue are laid end to end on one MediaSource timeline (a
//! [`Slot`] each). A track's data goes in with `timestampOffset` = its start minus the
//! encoder's priming, and `appendWindowStart` = its start, so the priming samples are cut
//! and the next track begins exactly where the last one's audio ended. When the playhead
//! crosses into the next slot the player follows it (title, counting, gain) without
//! reloading anything. The next track's opening is also fetched ahead, so "Next" starts at
//! once even before it is on the timeline.
//!
//! Every async loop carries a generation number; a newer load or seek makes it stop.

use super::api::{record_play, stream_track};
use super::state::{Cmd, PlayerCtx, apply_volume, bounded, counts_as_play};
use crate::model::StreamInfo;
use crate::model::TrackRef;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{EventTarget, HtmlAudioElement, MediaSource, MediaSourceReadyState, SourceBuffer};

const CHUNK: u64 = 512 * 1024;
const AHEAD_SECS: f64 = 30.0;
const KEEP_BEHIND_SECS: f64 = 30.0;

/// A track placed on the MediaSource timeline.
#[derive(Clone)]
struct Slot {
    track: TrackRef,
    /// The queue position it plays (followed when the playhead gets there).
    queue_index: usize,
    info: StreamInfo,
    /// Where its audio starts on the timeline (seconds).
    start: f64,
    /// Where its audio ends, known once its last byte is in.
    end: Option<f64>,
}

impl Slot {
    /// Length without the priming samples.
    fn len(&self) -> f64 {
        (self.info.duration_ms as f64 / 1000.0 - self.info.priming_secs).max(0.05)
    }
    fn end_or_estimate(&self) -> f64 {
        self.end.unwrap_or(self.start + self.len())
    }
}

/// The opening of a track fetched ahead: its stream info, init segment and first chunk.
struct Opening {
    track_id: String,
    info: StreamInfo,
    init: Vec<u8>,
    first: Vec<u8>,
}

#[derive(Default)]
struct Engine {
    ms: Option<MediaSource>,
    sb: Option<SourceBuffer>,
    object_url: Option<String>,
    slots: Vec<Slot>,
    /// The slot the playhead is in.
    current: usize,
    /// Where the feeder is: slot and next byte.
    feed_at: (usize, u64),
    /// The feeder stopped after the last slot (end of stream).
    fed_all: bool,
    opening: Option<Opening>,
}

thread_local! {
    static EPOCH: Cell<u64> = const { Cell::new(0) };
    static ENGINE: RefCell<Engine> = RefCell::new(Engine::default());
    static BOUNDARY_TIMER: Cell<Option<i32>> = const { Cell::new(None) };
}

fn bump() -> u64 {
    EPOCH.with(|g| {
        g.set(g.get() + 1);
        g.get()
    })
}
fn live(epoch: u64) -> bool {
    EPOCH.with(|g| g.get() == epoch)
}

fn audio(p: PlayerCtx) -> Option<HtmlAudioElement> {
    p.audio.get_untracked()
}

fn js_err(e: wasm_bindgen::JsValue) -> String {
    e.as_string()
        .or_else(|| {
            js_sys::Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| "browser error".into())
}

/// Resolves with the next `name` event on `target`. The listener is registered at call
/// time, so call this before starting the operation that fires the event.
fn next_event(target: &EventTarget, name: &str) -> impl std::future::Future<Output = ()> + use<> {
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let tx = Rc::new(RefCell::new(Some(tx)));
    let cb = Closure::<dyn FnMut()>::new(move || {
        if let Some(tx) = tx.borrow_mut().take() {
            let _ = tx.send(());
        }
    });
    let opts = web_sys::AddEventListenerOptions::new();
    opts.set_once(true);
    let _ = target.add_event_listener_with_callback_and_add_event_listener_options(
        name,
        cb.as_ref().unchecked_ref(),
        &opts,
    );
    async move {
        let _ = rx.await;
        drop(cb);
    }
}

async fn idle(sb: &SourceBuffer) {
    while sb.updating() {
        next_event(sb, "updateend").await;
    }
}

async fn append(sb: &SourceBuffer, data: &mut [u8]) -> Result<(), String> {
    idle(sb).await;
    let done = next_event(sb, "updateend");
    sb.append_buffer_with_u8_array(data).map_err(js_err)?;
    done.await;
    Ok(())
}

/// Sets a property whose setter may throw (web-sys' typed setters would abort on that).
fn set_prop(target: &wasm_bindgen::JsValue, name: &str, value: f64) -> Result<(), String> {
    js_sys::Reflect::set(target, &name.into(), &value.into())
        .map(|_| ())
        .map_err(js_err)
}

/// Points the SourceBuffer at `slot`: its media lands at `start`, priming cut off. The
/// parser is reset first (a new track starts with its own init segment).
fn place(ms: &MediaSource, sb: &SourceBuffer, slot: &Slot) -> Result<(), String> {
    if ms.ready_state() == MediaSourceReadyState::Open {
        sb.abort().map_err(js_err)?;
    }
    set_prop(sb, "appendWindowEnd", f64::INFINITY)?;
    set_prop(sb, "appendWindowStart", slot.start)?;
    set_prop(sb, "timestampOffset", slot.start - slot.info.priming_secs)
}

/// The track's stream details: the downloaded copy's when it is stored (it plays without
/// a network, and saves it), else a fresh grant from the server.
async fn stream_info_for(track_id: &str) -> Result<StreamInfo, String> {
    if let Some(s) = crate::offline::local_stream_info(track_id).await {
        return Ok(s);
    }
    let online = web_sys::window().is_none_or(|w| w.navigator().on_line());
    if !online {
        return Err("it is not downloaded, so it is not available offline".into());
    }
    match stream_track(track_id.to_string()).await {
        Ok(s) => Ok(s),
        Err(crate::error::AppError::Request(_)) => Err(
            "it is not downloaded and Refrain cannot be reached, so it is not available offline"
                .into(),
        ),
        Err(e) => Err(e.to_string()),
    }
}

async fn fetch_range(url: &str, start: u64, end: u64) -> Result<(u16, Vec<u8>), String> {
    // A downloaded track: read from this browser's storage.
    if let Some(id) = url.strip_prefix("offline:") {
        return crate::offline::local_range(id, start, end)
            .await
            .map(|b| (206, b));
    }
    let resp = gloo_net::http::Request::get(url)
        .header("Range", &format!("bytes={start}-{end}"))
        .send()
        .await
        .map_err(|e| format!("network error: {e}"))?;
    let status = resp.status();
    if status != 206 && status != 200 {
        return Ok((status, Vec::new()));
    }
    let body = resp
        .binary()
        .await
        .map_err(|e| format!("network error: {e}"))?;
    Ok((status, body))
}

/// Fetches a range of a track, renewing its signed URL once if it expired. Returns the
/// bytes and, when it was renewed, the fresh stream info.
async fn fetch_track_range(
    track_id: &str,
    url: &str,
    start: u64,
    end: u64,
) -> Result<(Vec<u8>, Option<StreamInfo>), String> {
    let (status, body) = fetch_range(url, start, end).await?;
    if status == 206 || status == 200 {
        return Ok((body, None));
    }
    if status != 401 {
        return Err(format!("stream refused (HTTP {status})"));
    }
    let fresh = stream_info_for(track_id).await?;
    let (status, body) = fetch_range(&fresh.url, start, end).await?;
    if status == 206 || status == 200 {
        Ok((body, Some(fresh)))
    } else {
        Err(format!("stream refused (HTTP {status})"))
    }
}

/// Fetches bytes of the track in slot `i`.
async fn fetch_chunk(i: usize, start: u64, end: u64) -> Result<Vec<u8>, String> {
    let Some((track_id, url)) = ENGINE.with(|e| {
        e.borrow()
            .slots
            .get(i)
            .map(|s| (s.track.id.clone(), s.info.url.clone()))
    }) else {
        return Err("track left the player".into());
    };
    let (body, fresh) = fetch_track_range(&track_id, &url, start, end).await?;
    if let Some(fresh) = fresh {
        ENGINE.with(|e| {
            if let Some(s) = e.borrow_mut().slots.get_mut(i) {
                s.info = fresh;
            }
        });
    }
    Ok(body)
}

/// A track's stream info, init segment and first chunk.
async fn fetch_opening(track: &TrackRef) -> Result<Opening, String> {
    let info = stream_info_for(&track.id).await?;
    let init_end = info.init_end;
    let last = (init_end + CHUNK).min(info.bytes as u64) - 1;
    let (mut data, fresh) = fetch_track_range(&track.id, &info.url, 0, last).await?;
    let info = fresh.unwrap_or(info);
    let first = data.split_off((init_end as usize).min(data.len()));
    Ok(Opening {
        track_id: track.id.clone(),
        info,
        init: data,
        first,
    })
}

/// The opening of `track`: the one fetched ahead if it is that track, else fetched now.
async fn opening_of(track: &TrackRef) -> Result<Opening, String> {
    let ahead = ENGINE.with(|e| {
        let mut e = e.borrow_mut();
        match &e.opening {
            Some(o) if o.track_id == track.id => e.opening.take(),
            _ => None,
        }
    });
    match ahead {
        Some(o) => Ok(o),
        None => fetch_opening(track).await,
    }
}

/// Fetches the opening of what plays after the current track, unless it is already here.
fn prefetch_next(p: PlayerCtx) {
    let Some((_, next)) = p.upcoming_after(p.index.get_untracked()) else {
        return;
    };
    let have = ENGINE.with(|e| {
        let e = e.borrow();
        e.opening.as_ref().is_some_and(|o| o.track_id == next.id)
            || e.slots
                .iter()
                .any(|s| s.track.id == next.id && s.start > 0.0)
    });
    if have {
        return;
    }
    spawn_local(async move {
        match fetch_opening(&next).await {
            Ok(o) => ENGINE.with(|e| e.borrow_mut().opening = Some(o)),
            Err(e) => leptos::logging::warn!("next track not fetched ahead: {e}"),
        }
    });
}

/// Shows where each track starts on the timeline as `data-track-starts` on the audio
/// element (seconds, comma-separated): for debugging, and for the gapless browser test.
fn publish_slots(p: PlayerCtx) {
    let Some(a) = audio(p) else { return };
    let starts = ENGINE.with(|e| {
        e.borrow()
            .slots
            .iter()
            .map(|s| format!("{:.4}", s.start))
            .collect::<Vec<_>>()
            .join(",")
    });
    let _ = a.set_attribute("data-track-starts", &starts);
}

fn buffered_end_at(a: &HtmlAudioElement, t: f64) -> Option<f64> {
    let r = a.buffered();
    (0..r.length()).find_map(|i| {
        let (s, e) = (r.start(i).ok()?, r.end(i).ok()?);
        (s - 0.05 <= t && t < e).then_some(e)
    })
}

/// Loads `track` (the queue's current entry) and plays it from `start_secs`. When it is
/// already on the timeline (the next track, buffered), playback just moves there.
fn load(p: PlayerCtx, track: TrackRef, start_secs: f64) {
    if jump_within(p, &track, start_secs) {
        return;
    }
    let epoch = bump();
    p.loading.set(true);
    spawn_local(async move {
        if let Err(e) = load_inner(p, epoch, track, start_secs).await
            && live(epoch)
        {
            p.loading.set(false);
            p.error.set(Some(format!("Could not play this track: {e}")));
        }
    });
}

/// Forgets the tracks laid on the timeline (a new list is starting: they belong to the old
/// one), so the next load starts afresh.
fn forget_timeline() {
    ENGINE.with(|e| e.borrow_mut().slots.clear());
}

/// Moves the playhead to `track` if it is on the timeline for the current queue entry and
/// buffered there.
fn jump_within(p: PlayerCtx, track: &TrackRef, start_secs: f64) -> bool {
    let Some(a) = audio(p) else { return false };
    let index = p.index.get_untracked();
    let found = ENGINE.with(|e| {
        let e = e.borrow();
        e.slots
            .iter()
            .position(|s| s.track.id == track.id && s.queue_index == index)
            .map(|i| (i, e.slots[i].start + start_secs))
    });
    let Some((i, at)) = found else { return false };
    if buffered_end_at(&a, at).is_none() {
        return false;
    }
    ENGINE.with(|e| e.borrow_mut().current = i);
    a.set_current_time(at);
    apply_gain(p);
    if a.paused() {
        let _ = a.play();
    }
    prefetch_next(p);
    true
}

async fn load_inner(
    p: PlayerCtx,
    epoch: u64,
    track: TrackRef,
    start_secs: f64,
) -> Result<(), String> {
    let a = audio(p).ok_or("player not ready")?;
    let Opening {
        info,
        mut init,
        first,
        ..
    } = opening_of(&track).await?;
    if !live(epoch) {
        return Ok(());
    }
    if !MediaSource::is_type_supported(&info.mime) {
        return Err("this browser cannot play AAC through Media Source Extensions".into());
    }
    let ms = MediaSource::new().map_err(js_err)?;
    let url = web_sys::Url::create_object_url_with_source(&ms).map_err(js_err)?;
    let opened = next_event(&ms, "sourceopen");
    a.set_src(&url);
    let slot = Slot {
        track,
        queue_index: p.index.get_untracked(),
        info: info.clone(),
        start: 0.0,
        end: None,
    };
    let old_url = ENGINE.with(|e| {
        let mut e = e.borrow_mut();
        e.ms = Some(ms.clone());
        e.sb = None;
        e.slots = vec![slot.clone()];
        e.current = 0;
        e.fed_all = false;
        e.object_url.replace(url)
    });
    if let Some(old) = old_url {
        let _ = web_sys::Url::revoke_object_url(&old);
    }
    publish_slots(p);
    apply_gain(p);
    opened.await;
    if !live(epoch) {
        return Ok(());
    }
    let sb = ms.add_source_buffer(&info.mime).map_err(js_err)?;
    set_prop(&ms, "duration", slot.len())?;
    ENGINE.with(|e| e.borrow_mut().sb = Some(sb.clone()));
    place(&ms, &sb, &slot)?;
    append(&sb, &mut init).await?;
    if !live(epoch) {
        return Ok(());
    }
    // Start as soon as the first chunk is in; the feeder keeps going in the background.
    let next = if start_secs > 0.0 {
        let from = fragment_at(&info, start_secs);
        feed_once(p, epoch, 0, from).await?
    } else {
        let mut first = first;
        let next = info.init_end + first.len() as u64;
        evict_and_append(p, epoch, &sb, &mut first, (0, next)).await?;
        Some(next)
    };
    if !live(epoch) {
        return Ok(());
    }
    if start_secs > 0.0 {
        a.set_current_time(start_secs);
    }
    if let Ok(promise) = a.play() {
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
    prefetch_next(p);
    if let Some(next) = next {
        feed(p, epoch, 0, next).await?;
    }
    Ok(())
}

/// Appends one chunk of slot `i` starting at `pos`; returns the next position, or None
/// when the slot is complete.
async fn feed_once(p: PlayerCtx, epoch: u64, i: usize, pos: u64) -> Result<Option<u64>, String> {
    let Some((sb, total)) = ENGINE.with(|e| {
        let e = e.borrow();
        Some((e.sb.clone()?, e.slots.get(i)?.info.bytes as u64))
    }) else {
        return Ok(None);
    };
    if pos >= total {
        return Ok(None);
    }
    let end = (pos + CHUNK).min(total) - 1;
    let mut data = fetch_chunk(i, pos, end).await?;
    if !live(epoch) {
        return Ok(None);
    }
    evict_and_append(p, epoch, &sb, &mut data, (i, end + 1)).await?;
    Ok(Some(end + 1))
}

/// Appends bytes of slot `i` that end before byte `next` (after evicting what is far
/// behind), and notes the slot complete when they are its last. The feeder's position is
/// recorded as the append is issued: from then on the parser has those bytes, so whoever
/// resumes feeding (after a queue change) continues right after them. Nothing is issued
/// once `epoch` is over.
async fn evict_and_append(
    p: PlayerCtx,
    epoch: u64,
    sb: &SourceBuffer,
    data: &mut [u8],
    (i, next): (usize, u64),
) -> Result<(), String> {
    evict_behind(p, sb).await;
    idle(sb).await;
    if !live(epoch) {
        return Ok(());
    }
    let complete = ENGINE.with(|e| {
        let mut e = e.borrow_mut();
        e.feed_at = (i, next);
        e.slots.get(i).is_some_and(|s| next >= s.info.bytes as u64)
    });
    let done = next_event(sb, "updateend");
    sb.append_buffer_with_u8_array(data).map_err(js_err)?;
    done.await;
    if complete {
        finish_slot(p, i);
    }
    Ok(())
}

/// Feeds slot `i` from byte `pos` on, then the tracks after it, keeping about
/// [`AHEAD_SECS`] buffered in front of the playhead.
async fn feed(p: PlayerCtx, epoch: u64, mut i: usize, mut pos: u64) -> Result<(), String> {
    loop {
        loop {
            if !live(epoch) {
                return Ok(());
            }
            let Some(a) = audio(p) else { return Ok(()) };
            let t = a.current_time();
            let ahead = buffered_end_at(&a, t).map_or(0.0, |e| e - t);
            if ahead < AHEAD_SECS {
                break;
            }
            gloo_timers::future::TimeoutFuture::new(500).await;
        }
        match feed_once(p, epoch, i, pos).await? {
            Some(next) => pos = next,
            None if !live(epoch) => return Ok(()),
            None => {
                finish_slot(p, i);
                match chain_next(p, epoch, i).await? {
                    Some(next) => {
                        i += 1;
                        pos = next;
                    }
                    None => {
                        end_stream(epoch);
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// Notes where slot `i`'s audio ends (the end of the buffered range it finished).
fn finish_slot(p: PlayerCtx, i: usize) {
    let Some(a) = audio(p) else { return };
    ENGINE.with(|e| {
        let mut e = e.borrow_mut();
        let Some(s) = e.slots.get_mut(i) else { return };
        if s.end.is_some() {
            return;
        }
        let probe = (s.start + s.len() - 0.5).max(s.start);
        s.end = Some(buffered_end_at(&a, probe).unwrap_or(s.start + s.len()));
    });
}

fn end_stream(epoch: u64) {
    if !live(epoch) {
        return;
    }
    ENGINE.with(|e| {
        let mut e = e.borrow_mut();
        e.fed_all = true;
        if let (Some(ms), Some(sb)) = (&e.ms, &e.sb)
            && ms.ready_state() == MediaSourceReadyState::Open
            && !sb.updating()
        {
            let _ = ms.end_of_stream();
        }
    });
}

/// Puts the track that plays after slot `i` right behind it on the timeline and appends
/// its init segment and first chunk. Returns the byte to go on from, or None when nothing
/// follows (or it cannot share the SourceBuffer: then it loads when this one ends).
async fn chain_next(p: PlayerCtx, epoch: u64, i: usize) -> Result<Option<u64>, String> {
    let Some((queue_index, end, mime, sb, ms)) = ENGINE.with(|e| {
        let e = e.borrow();
        let s = e.slots.get(i)?;
        Some((
            s.queue_index,
            s.end_or_estimate(),
            s.info.mime.clone(),
            e.sb.clone()?,
            e.ms.clone()?,
        ))
    }) else {
        return Ok(None);
    };
    // What follows is decided again if the queue or the repeat mode changed while the
    // opening was being fetched (a change then finds nothing laid out yet to correct).
    let (next_index, track, opening) = loop {
        let Some((next_index, track)) = p.upcoming_after(queue_index) else {
            return Ok(None);
        };
        let opening = opening_of(&track).await?;
        if !live(epoch) {
            return Ok(None);
        }
        let still = p.upcoming_after(queue_index).map(|(i, t)| (i, t.id));
        if still == Some((next_index, track.id.clone())) {
            break (next_index, track, opening);
        }
    };
    let Opening {
        info,
        mut init,
        mut first,
        ..
    } = opening;
    if info.mime != mime {
        return Ok(None);
    }
    let slot = Slot {
        track,
        queue_index: next_index,
        info,
        start: end,
        end: None,
    };
    let init_end = slot.info.init_end;
    let new_end = slot.start + slot.len();
    ENGINE.with(|e| {
        let mut e = e.borrow_mut();
        e.slots.truncate(i + 1);
        e.slots.push(slot.clone());
        e.feed_at = (i + 1, init_end);
    });
    publish_slots(p);
    idle(&sb).await;
    if !live(epoch) {
        return Ok(None);
    }
    if ms.duration().is_nan() || ms.duration() < new_end {
        set_prop(&ms, "duration", new_end)?;
    }
    place(&ms, &sb, &slot)?;
    append(&sb, &mut init).await?;
    if !live(epoch) {
        return Ok(None);
    }
    let next = init_end + first.len() as u64;
    evict_and_append(p, epoch, &sb, &mut first, (i + 1, next)).await?;
    Ok(Some(next))
}

/// The queue or the repeat mode changed: tracks laid on the timeline after the current one
/// that are no longer what plays next are taken off, and the right one goes there.
fn queue_changed(p: PlayerCtx) {
    let Some((keep, fed_all, sb)) = ENGINE.with(|e| {
        let e = e.borrow();
        // The last slot from the current one on that still follows the queue.
        let mut k = e.current;
        while let Some(next) = e.slots.get(k + 1) {
            let want = p.upcoming_after(e.slots.get(k)?.queue_index);
            if want.map(|(i, t)| (i, t.id)) != Some((next.queue_index, next.track.id.clone())) {
                break;
            }
            k += 1;
        }
        let last = k + 1 == e.slots.len();
        let more = p.upcoming_after(e.slots.get(k)?.queue_index).is_some();
        // All consistent: the feeder asks what comes next when it gets there; after the
        // end of the stream, only a newly queued track needs doing.
        if last && (!e.fed_all || !more) {
            return None;
        }
        Some((k, e.fed_all, e.sb.clone()?))
    }) else {
        prefetch_next(p);
        return;
    };
    let epoch = bump();
    spawn_local(async move {
        idle(&sb).await;
        if !live(epoch) {
            return;
        }
        // Where the (now stopped) feeder got to: read after the last append it issued.
        let cut = ENGINE.with(|e| {
            let mut e = e.borrow_mut();
            e.slots.truncate(keep + 1);
            e.fed_all = false;
            Some((e.slots.get(keep).map(Slot::end_or_estimate)?, e.feed_at))
        });
        publish_slots(p);
        let Some((cut, feed_at)) = cut else { return };
        let done = next_event(&sb, "updateend");
        if sb.remove(cut, f64::INFINITY).is_ok() {
            done.await;
        }
        if !live(epoch) {
            return;
        }
        let result = if feed_at.0 > keep || fed_all {
            match chain_next(p, epoch, keep).await {
                Ok(Some(next)) => feed(p, epoch, keep + 1, next).await,
                Ok(None) => {
                    end_stream(epoch);
                    Ok(())
                }
                Err(e) => Err(e),
            }
        } else {
            feed(p, epoch, feed_at.0, feed_at.1).await
        };
        if let Err(e) = result
            && live(epoch)
        {
            p.error.set(Some(format!("Playback stopped: {e}")));
        }
    });
    prefetch_next(p);
}

async fn evict_behind(p: PlayerCtx, sb: &SourceBuffer) {
    let Some(a) = audio(p) else { return };
    let t = a.current_time();
    let Ok(r) = sb.buffered() else { return };
    if r.length() == 0 || sb.updating() {
        return;
    }
    let start = r.start(0).unwrap_or(0.0);
    if start < t - 2.0 * KEEP_BEHIND_SECS {
        let done = next_event(sb, "updateend");
        if sb.remove(start, t - KEEP_BEHIND_SECS).is_ok() {
            done.await;
        }
    }
}

/// Byte offset of the fragment that holds `secs` of the track's audio (from the index
/// built at import; fragment times count the priming samples too).
fn fragment_at(info: &StreamInfo, secs: f64) -> u64 {
    let target_ms = ((secs + info.priming_secs) * 1000.0) as u64;
    info.segments
        .iter()
        .rev()
        .find(|(start, _)| *start <= target_ms.saturating_sub(100))
        .map_or(info.init_end, |(_, off)| *off)
}

/// Seeks to `secs` into the current track.
fn seek(p: PlayerCtx, secs: f64) {
    let Some(a) = audio(p) else { return };
    let Some((i, slot)) = ENGINE.with(|e| {
        let e = e.borrow();
        e.slots.get(e.current).map(|s| (e.current, s.clone()))
    }) else {
        return;
    };
    let at = slot.start + bounded(secs, 0.0, slot.len());
    a.set_current_time(at);
    if buffered_end_at(&a, at).is_some() {
        return;
    }
    // Not buffered: restart fetching at the fragment that contains `secs`.
    let epoch = bump();
    let Some((ms, sb)) = ENGINE.with(|e| {
        let mut e = e.borrow_mut();
        e.fed_all = false;
        Some((e.ms.clone()?, e.sb.clone()?))
    }) else {
        return;
    };
    let offset = fragment_at(&slot.info, secs);
    p.loading.set(true);
    spawn_local(async move {
        idle(&sb).await;
        // Resets the parser to a box boundary: the fragment starts a new segment.
        let result = match place(&ms, &sb, &slot) {
            Ok(()) => feed(p, epoch, i, offset).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result
            && live(epoch)
        {
            p.error.set(Some(format!("Playback stopped: {e}")));
        }
    });
}

fn toggle(p: PlayerCtx) {
    let Some(a) = audio(p) else { return };
    if a.paused() {
        let _ = a.play();
    } else {
        let _ = a.pause();
    }
}

/// Follows the playhead: the slot it is in becomes the current track (at a boundary the
/// queue moves on), and position, buffered range and listening time are updated.
fn on_timeupdate(p: PlayerCtx) {
    let Some(a) = audio(p) else { return };
    let t = a.current_time();
    let Some((changed, slot, next_start)) = ENGINE.with(|e| {
        let mut e = e.borrow_mut();
        let i = e
            .slots
            .iter()
            .rposition(|s| s.start <= t + 0.0005)
            .unwrap_or(0);
        let slot = e.slots.get(i)?.clone();
        let changed = i != e.current;
        e.current = i;
        Some((changed, slot, e.slots.get(i + 1).map(|s| s.start)))
    }) else {
        return;
    };
    if changed {
        p.follow(slot.queue_index, slot.track.clone());
        apply_gain(p);
        prefetch_next(p);
    }
    let pos = (t - slot.start).max(0.0);
    p.position.set(pos);
    let buffered = buffered_end_at(&a, t).unwrap_or(t);
    p.buffered_to
        .set((buffered.min(slot.end_or_estimate()) - slot.start).max(pos));
    count_listening(p, pos);
    // timeupdate comes every 250 ms or so: close to a boundary, wake up right at it so the
    // title and the gain change with the music.
    if let Some(ns) = next_start
        && !a.paused()
        && ns > t
        && ns - t < 0.4
    {
        schedule_boundary(p, ((ns - t) * 1000.0) as i32 + 5);
    }
}

fn schedule_boundary(p: PlayerCtx, ms: i32) {
    let Some(w) = web_sys::window() else { return };
    if let Some(old) = BOUNDARY_TIMER.with(Cell::take) {
        w.clear_timeout_with_handle(old);
    }
    let cb = Closure::once_into_js(move || {
        BOUNDARY_TIMER.with(|c| c.set(None));
        on_timeupdate(p);
    });
    if let Ok(h) = w.set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), ms) {
        BOUNDARY_TIMER.with(|c| c.set(Some(h)));
    }
}

/// Adds the time played since the last update (small forward steps only: a seek is not
/// listening) and reports the playback once it counts as a play.
fn count_listening(p: PlayerCtx, t: f64) {
    let mut report = None;
    p.playback.update_value(|pb| {
        let Some(pb) = pb else { return };
        let step = t - pb.last_pos;
        if step > 0.0 && step <= 1.5 {
            pb.listened_ms += step * 1000.0;
        }
        pb.last_pos = t;
        if !pb.reported && counts_as_play(pb.listened_ms, pb.duration_ms) {
            pb.reported = true;
            report = Some(pb.clone());
        }
    });
    if let Some(pb) = report {
        spawn_local(async move {
            let listened = pb.listened_ms.round() as i64;
            match record_play(pb.track_id.clone(), pb.id.clone(), listened).await {
                Ok(()) => {}
                // The server cannot be reached (offline): sent when the network returns.
                Err(crate::error::AppError::Request(_)) => {
                    crate::offline::queue_play(crate::offline::PendingPlay {
                        track_id: pb.track_id,
                        playback_id: pb.id,
                        listened_ms: listened,
                    });
                }
                Err(e) => leptos::logging::warn!("play not recorded: {e}"),
            }
        });
    }
}

/// The current track's loudness gain as a factor (1 when normalization is off or the
/// track was not measured).
fn gain_factor(p: PlayerCtx) -> f64 {
    if !p.normalize.get_untracked() {
        return 1.0;
    }
    ENGINE
        .with(|e| {
            let e = e.borrow();
            e.slots.get(e.current).and_then(|s| s.info.gain_db)
        })
        .map_or(1.0, |db| bounded(10f64.powf(db / 20.0), 0.0, 1.0))
}

/// Sets the current track's gain, and the element's volume with it.
fn apply_gain(p: PlayerCtx) {
    p.gain.set(gain_factor(p));
    apply_volume(p);
}

/// The engine's one entry point, in its own WASM chunk: it is fetched the first time a
/// track loads, so no page waits for it to become interactive.
#[leptos::lazy]
pub fn run(p: PlayerCtx, cmd: Cmd) {
    match cmd {
        Cmd::Load(track, at) => load(p, track, at),
        Cmd::ForgetTimeline => forget_timeline(),
        Cmd::QueueChanged => queue_changed(p),
        Cmd::Seek(secs) => seek(p, secs),
        Cmd::Toggle => toggle(p),
        Cmd::TimeUpdate => on_timeupdate(p),
        Cmd::Gain => apply_gain(p),
    }
}
