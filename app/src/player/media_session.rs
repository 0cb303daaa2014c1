//! The Media Session API: the lock screen, notification and hardware media keys show the
//! current track (with its cover) and drive the player. Reached through `js_sys::Reflect`,
//! so browsers without it simply skip this.

use super::state::PlayerCtx;
use js_sys::{Array, Object, Reflect};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

fn session() -> Option<JsValue> {
    let window: JsValue = web_sys::window()?.into();
    let nav = Reflect::get(&window, &"navigator".into()).ok()?;
    Reflect::get(&nav, &"mediaSession".into())
        .ok()
        .filter(|s| !s.is_undefined() && !s.is_null())
}

fn set(obj: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &key.into(), value);
}

/// Keeps the session's metadata and state in step with the player, and routes its
/// actions (play, pause, previous, next, seek) to it.
pub fn install(p: PlayerCtx) {
    let Some(ms) = session() else { return };
    let ms_meta = ms.clone();
    Effect::new(move |_| {
        let Some(t) = p.current.get() else {
            set(&ms_meta, "metadata", &JsValue::NULL);
            return;
        };
        let Some(ctor) = web_sys::window()
            .and_then(|w| Reflect::get(&w, &"MediaMetadata".into()).ok())
            .and_then(|c| c.dyn_into::<js_sys::Function>().ok())
        else {
            return;
        };
        let init = Object::new();
        set(&init, "title", &t.title.clone().into());
        set(&init, "artist", &t.artist.clone().into());
        if t.has_cover {
            // Each thumbnail size, so the lock screen picks what fits.
            let art = Array::new();
            for size in [96, 320, 640] {
                let img = Object::new();
                set(
                    &img,
                    "src",
                    &format!("/covers/{}?s={size}&v={}", t.id, t.cover_v).into(),
                );
                set(&img, "sizes", &format!("{size}x{size}").into());
                art.push(&img);
            }
            set(&init, "artwork", &art);
        }
        if let Ok(meta) = Reflect::construct(&ctor, &Array::of1(&init)) {
            set(&ms_meta, "metadata", &meta);
        }
    });
    let ms_state = ms.clone();
    Effect::new(move |_| {
        let state = match (p.current.get().is_some(), p.playing.get()) {
            (false, _) => "none",
            (true, true) => "playing",
            (true, false) => "paused",
        };
        set(&ms_state, "playbackState", &state.into());
    });
    let handler = |f: Box<dyn Fn(JsValue)>| Closure::<dyn Fn(JsValue)>::wrap(f).into_js_value();
    let actions: [(&str, JsValue); 6] = [
        (
            "play",
            handler(Box::new(move |_| {
                if !p.playing.get_untracked() {
                    p.toggle()
                }
            })),
        ),
        (
            "pause",
            handler(Box::new(move |_| {
                if p.playing.get_untracked() {
                    p.toggle()
                }
            })),
        ),
        ("previoustrack", handler(Box::new(move |_| p.prev()))),
        (
            "nexttrack",
            handler(Box::new(move |_| {
                p.next();
            })),
        ),
        (
            "seekto",
            handler(Box::new(move |d: JsValue| {
                if let Some(t) = Reflect::get(&d, &"seekTime".into())
                    .ok()
                    .and_then(|v| v.as_f64())
                {
                    p.seek(t);
                }
            })),
        ),
        ("seekforward", handler(Box::new(move |_| p.seek_by(10.0)))),
    ];
    let Ok(set_handler) = Reflect::get(&ms, &"setActionHandler".into())
        .and_then(|f| f.dyn_into::<js_sys::Function>())
    else {
        return;
    };
    for (name, f) in actions {
        // Browsers throw for actions they do not support; those are skipped.
        let _ = set_handler.call2(&ms, &name.into(), &f);
    }
}
