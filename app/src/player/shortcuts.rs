//! Keyboard shortcuts for the player, and the help overlay that lists them.
//!
//! Keys act anywhere except while typing in a text field. On a focused button or link,
//! Space keeps its usual meaning (press it); on a slider, the arrows move the slider.

use leptos::prelude::*;

/// Each shortcut and what it does, as the help overlay shows them.
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("Space", "Play or pause"),
    ("→ / ←", "Forward or back 5 seconds"),
    ("↑ / ↓", "Volume up or down"),
    ("n / p", "Next or previous track"),
    ("m", "Mute or unmute"),
    ("l", "Like or unlike the current track"),
    ("/", "Search"),
    ("?", "Show these shortcuts"),
];

/// Listens for shortcut keys on the window for as long as the player bar is mounted.
#[cfg(feature = "hydrate")]
pub fn install(
    p: super::state::PlayerCtx,
    help: RwSignal<bool>,
    navigate: impl Fn(&str, leptos_router::NavigateOptions) + Clone + 'static,
) {
    use wasm_bindgen::JsCast;
    let handle = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.ctrl_key() || ev.meta_key() || ev.alt_key() || ev.default_prevented() {
            return;
        }
        let target = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok());
        let tag = target.as_ref().map(|e| e.tag_name()).unwrap_or_default();
        let input_type = target
            .as_ref()
            .and_then(|e| e.get_attribute("type"))
            .unwrap_or_default();
        let key = ev.key();
        let typing = match tag.as_str() {
            "TEXTAREA" | "SELECT" => true,
            "INPUT" => !matches!(
                input_type.as_str(),
                "range" | "checkbox" | "radio" | "button" | "submit" | "file"
            ),
            _ => target.as_ref().is_some_and(|e| e.is_content_editable()),
        };
        if typing {
            if key == "Escape"
                && let Some(t) = &target
            {
                let _ = t.blur();
            }
            return;
        }
        let on_control = matches!(tag.as_str(), "BUTTON" | "A" | "SUMMARY");
        let on_slider = tag == "INPUT" && input_type == "range";
        let handled = match key.as_str() {
            " " if !on_control => {
                p.toggle();
                true
            }
            "ArrowRight" if !on_slider => {
                p.seek_by(5.0);
                true
            }
            "ArrowLeft" if !on_slider => {
                p.seek_by(-5.0);
                true
            }
            "ArrowUp" if !on_slider => {
                p.set_volume(p.volume.get_untracked() + 0.1);
                true
            }
            "ArrowDown" if !on_slider => {
                p.set_volume(p.volume.get_untracked() - 0.1);
                true
            }
            "n" | "N" => {
                p.next();
                true
            }
            "p" | "P" => {
                p.prev();
                true
            }
            "m" | "M" => {
                p.set_muted(!p.muted.get_untracked());
                true
            }
            "l" | "L" => {
                p.toggle_like_current();
                true
            }
            "/" => {
                navigate("/search", Default::default());
                // Already there: the page will not mount again, so focus the box here.
                if let Some(el) = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.get_element_by_id("search-box"))
                    .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                {
                    let _ = el.focus();
                }
                true
            }
            "?" => {
                help.update(|h| *h = !*h);
                true
            }
            "Escape" if help.get_untracked() => {
                help.set(false);
                true
            }
            _ => false,
        };
        if handled {
            ev.prevent_default();
        }
    });
    on_cleanup(move || handle.remove());
}

/// The list of shortcuts, as a modal dialog.
#[component]
pub fn ShortcutHelp(open: RwSignal<bool>) -> impl IntoView {
    view! {
        <Show when=move || open.get()>
            <div class="overlay" on:click=move |_| open.set(false)>
                <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="shortcuts-h"
                    data-testid="shortcuts-dialog" on:click=|ev| ev.stop_propagation()>
                    <h2 id="shortcuts-h">"Keyboard shortcuts"</h2>
                    <dl class="shortcut-list">
                        {SHORTCUTS.iter().map(|(k, what)| view! {
                            <div><dt><kbd>{*k}</kbd></dt><dd>{*what}</dd></div>
                        }).collect_view()}
                    </dl>
                    <button class="btn" on:click=move |_| open.set(false)>"Close"</button>
                </div>
            </div>
        </Show>
    }
}
