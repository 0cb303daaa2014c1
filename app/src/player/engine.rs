//! Browser-only playback engine. Streams a fragmented MP4 rendition into a SourceBuffer
//! in Range-request chunks, keeps about 30 s buffered ahead, evicts what is far behind,
//! and on a seek to an unbuffered position restarts fetching at the right fragment.
//! Every async loop carries a generation number; a newer load or seek makes it stop.

use super::{PlayerCtx, TrackRef};
use crate::library::{StreamInfo, stream_track};
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
const VOLUME_KEY: &str = "refrain.volume";
const MUTED_KEY: &str = "refrain.muted";

#[derive(Default)]
struct Engine {
    info: Option<StreamInfo>,
    track_id: String,
    ms: Option<MediaSource>,
    sb: Option<SourceBuffer>,
    object_url: Option<String>,
}

thread_local! {
    static EPOCH: Cell<u64> = const { Cell::new(0) };
    static ENGINE: RefCell<Engine> = RefCell::new(Engine::default());
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

async fn append(sb: &SourceBuffer, data: &mut [u8]) -> Result<(), String> {
    let done = next_event(sb, "updateend");
    sb.append_buffer_with_u8_array(data).map_err(js_err)?;
    done.await;
    Ok(())
}

async fn fetch_range(url: &str, start: u64, end: u64) -> Result<(u16, Vec<u8>), String> {
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

/// Fetches a range, renewing the signed URL once if it expired.
async fn fetch_chunk(start: u64, end: u64) -> Result<Vec<u8>, String> {
    let (url, track_id) = ENGINE.with(|e| {
        let e = e.borrow();
        (
            e.info.as_ref().map(|i| i.url.clone()).unwrap_or_default(),
            e.track_id.clone(),
        )
    });
    let (status, body) = fetch_range(&url, start, end).await?;
    if status == 401 {
        let fresh = stream_track(track_id).await.map_err(|e| e.to_string())?;
        let url = fresh.url.clone();
        ENGINE.with(|e| e.borrow_mut().info = Some(fresh));
        let (status, body) = fetch_range(&url, start, end).await?;
        return if status == 206 || status == 200 {
            Ok(body)
        } else {
            Err(format!("stream refused (HTTP {status})"))
        };
    }
    if status == 206 || status == 200 {
        Ok(body)
    } else {
        Err(format!("stream refused (HTTP {status})"))
    }
}

fn buffered_end_at(a: &HtmlAudioElement, t: f64) -> Option<f64> {
    let r = a.buffered();
    (0..r.length()).find_map(|i| {
        let (s, e) = (r.start(i).ok()?, r.end(i).ok()?);
        (s - 0.05 <= t && t < e).then_some(e)
    })
}

/// Loads `track` and plays it from `start_secs`.
pub fn load(p: PlayerCtx, track: TrackRef, start_secs: f64) {
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

async fn load_inner(
    p: PlayerCtx,
    epoch: u64,
    track: TrackRef,
    start_secs: f64,
) -> Result<(), String> {
    let a = audio(p).ok_or("player not ready")?;
    let info = stream_track(track.id.clone())
        .await
        .map_err(|e| e.to_string())?;
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
    let old_url = ENGINE.with(|e| {
        let mut e = e.borrow_mut();
        e.info = Some(info.clone());
        e.track_id = track.id.clone();
        e.ms = Some(ms.clone());
        e.sb = None;
        e.object_url.replace(url)
    });
    if let Some(old) = old_url {
        let _ = web_sys::Url::revoke_object_url(&old);
    }
    opened.await;
    if !live(epoch) {
        return Ok(());
    }
    let sb = ms.add_source_buffer(&info.mime).map_err(js_err)?;
    ms.set_duration(info.duration_ms as f64 / 1000.0);
    ENGINE.with(|e| e.borrow_mut().sb = Some(sb.clone()));
    let mut init = fetch_chunk(0, info.init_end.saturating_sub(1)).await?;
    if !live(epoch) {
        return Ok(());
    }
    append(&sb, &mut init).await?;
    // Start as soon as the first chunk is in; the feeder keeps going in the background.
    let from = if start_secs > 0.0 {
        fragment_at(&info, start_secs)
    } else {
        info.init_end
    };
    let first = feed_once(p, epoch, from).await?;
    if !live(epoch) {
        return Ok(());
    }
    if start_secs > 0.0 {
        a.set_current_time(start_secs);
    }
    if let Ok(promise) = a.play() {
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
    if let Some(next) = first {
        feed(p, epoch, next).await?;
    }
    Ok(())
}

/// Appends one chunk starting at `pos`; returns the next position, or None at the end.
async fn feed_once(p: PlayerCtx, epoch: u64, pos: u64) -> Result<Option<u64>, String> {
    let Some((ms, sb, total)) = ENGINE.with(|e| {
        let e = e.borrow();
        Some((e.ms.clone()?, e.sb.clone()?, e.info.as_ref()?.bytes as u64))
    }) else {
        return Ok(None);
    };
    if pos >= total {
        if ms.ready_state() == MediaSourceReadyState::Open && !sb.updating() {
            let _ = ms.end_of_stream();
        }
        return Ok(None);
    }
    let end = (pos + CHUNK).min(total) - 1;
    let mut data = fetch_chunk(pos, end).await?;
    if !live(epoch) {
        return Ok(None);
    }
    evict_behind(p, &sb).await;
    if !live(epoch) {
        return Ok(None);
    }
    append(&sb, &mut data).await?;
    Ok(Some(end + 1))
}

async fn feed(p: PlayerCtx, epoch: u64, mut pos: u64) -> Result<(), String> {
    loop {
        // Keep about AHEAD_SECS buffered in front of the playhead.
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
        match feed_once(p, epoch, pos).await? {
            Some(next) => pos = next,
            None => return Ok(()),
        }
    }
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

/// Byte offset of the fragment that holds `secs` (from the index built at import).
fn fragment_at(info: &StreamInfo, secs: f64) -> u64 {
    let target_ms = (secs * 1000.0) as u64;
    info.segments
        .iter()
        .rev()
        .find(|(start, _)| *start <= target_ms.saturating_sub(100))
        .map_or(info.init_end, |(_, off)| *off)
}

pub fn seek(p: PlayerCtx, secs: f64) {
    let Some(a) = audio(p) else { return };
    a.set_current_time(secs);
    if buffered_end_at(&a, secs).is_some() {
        return;
    }
    // Not buffered: restart fetching at the fragment that contains `secs`.
    let epoch = bump();
    let Some((ms, sb, offset)) = ENGINE.with(|e| {
        let e = e.borrow();
        let offset = fragment_at(e.info.as_ref()?, secs);
        Some((e.ms.clone()?, e.sb.clone()?, offset))
    }) else {
        return;
    };
    if ms.ready_state() == MediaSourceReadyState::Open {
        // Drops a half-appended chunk and resets the parser to a box boundary.
        let _ = sb.abort();
    }
    p.loading.set(true);
    spawn_local(async move {
        if let Err(e) = feed(p, epoch, offset).await
            && live(epoch)
        {
            p.error.set(Some(format!("Playback stopped: {e}")));
        }
    });
}

pub fn toggle(p: PlayerCtx) {
    let Some(a) = audio(p) else { return };
    if a.paused() {
        let _ = a.play();
    } else {
        let _ = a.pause();
    }
}

pub fn on_timeupdate(p: PlayerCtx) {
    let Some(a) = audio(p) else { return };
    let t = a.current_time();
    p.position.set(t);
    p.buffered_to.set(buffered_end_at(&a, t).unwrap_or(t));
    count_listening(p, t);
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
        if !pb.reported && super::counts_as_play(pb.listened_ms, pb.duration_ms) {
            pb.reported = true;
            report = Some(pb.clone());
        }
    });
    if let Some(pb) = report {
        spawn_local(async move {
            let listened = pb.listened_ms.round() as i64;
            if let Err(e) = crate::library::record_play(pb.track_id, pb.id, listened).await {
                leptos::logging::warn!("play not recorded: {e}");
            }
        });
    }
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

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

pub fn set_volume(p: PlayerCtx, v: f64) {
    if let Some(a) = audio(p) {
        a.set_volume(v);
    }
    if let Some(s) = storage() {
        let _ = s.set_item(VOLUME_KEY, &v.to_string());
    }
}

pub fn set_muted(p: PlayerCtx, muted: bool) {
    if let Some(a) = audio(p) {
        a.set_muted(muted);
    }
    if let Some(s) = storage() {
        let _ = s.set_item(MUTED_KEY, if muted { "1" } else { "0" });
    }
}

/// Restores the volume and mute remembered in this browser.
pub fn restore_volume(p: PlayerCtx) {
    let muted = storage()
        .and_then(|s| s.get_item(MUTED_KEY).ok().flatten())
        .is_some_and(|v| v == "1");
    p.muted.set(muted);
    if let Some(a) = audio(p) {
        a.set_muted(muted);
    }
    let v = storage()
        .and_then(|s| s.get_item(VOLUME_KEY).ok().flatten())
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| (0.0..=1.0).contains(v));
    if let Some(v) = v {
        p.volume.set(v);
        if let Some(a) = audio(p) {
            a.set_volume(v);
        }
    }
}
