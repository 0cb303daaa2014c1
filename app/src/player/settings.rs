//! The player's settings kept in this browser (volume, mute, normalization, repeat,
//! shuffle) and the element's volume. Small, so it stays in the main WASM module with the
//! player bar; the engine itself is fetched when something first plays.

use super::PlayerCtx;
use leptos::prelude::*;

const VOLUME_KEY: &str = "refrain.volume";
const MUTED_KEY: &str = "refrain.muted";
const NORMALIZE_KEY: &str = "refrain.normalize";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Remembers a player setting in this browser.
pub fn remember(key: &str, value: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(key, value);
    }
}

pub fn recall(key: &str) -> Option<String> {
    storage().and_then(|s| s.get_item(key).ok().flatten())
}

pub fn forget(key: &str) {
    if let Some(s) = storage() {
        let _ = s.remove_item(key);
    }
}

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
    super::control::send(p, super::engine::Cmd::Gain);
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
