//! Desktop habits on track lists, as in every desktop music player: double-click or Enter
//! plays a row, right-click opens its menu, Ctrl/⌘-click and Shift-click select rows (so
//! does each row's checkbox), and the selection bar plays, queues or adds them to a
//! playlist together (and edits them, where the user may).

use crate::model::TrackRef;
use crate::player::state::PlayerCtx;
use leptos::ev::{KeyboardEvent, MouseEvent};
use leptos::prelude::*;

/// The rows selected in one track list (by track id, in the order they were picked) and
/// the row a Shift-click extends from.
#[derive(Clone, Copy)]
pub struct Selection {
    pub ids: RwSignal<Vec<String>>,
    anchor: StoredValue<Option<usize>>,
}

impl Selection {
    /// A selection kept in `ids` (which may outlive the list, as in a list that grows
    /// page by page).
    pub fn over(ids: RwSignal<Vec<String>>) -> Self {
        Selection {
            ids,
            anchor: StoredValue::new(None),
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids.with(|s| s.iter().any(|x| x == id))
    }

    /// The row's checkbox.
    pub fn set(&self, id: &str, on: bool, i: usize) {
        self.ids.update(|s| {
            s.retain(|x| x != id);
            if on {
                s.push(id.to_string());
            }
        });
        self.anchor.set_value(Some(i));
    }

    pub fn clear(&self) {
        self.ids.set(Vec::new());
        self.anchor.set_value(None);
    }

    /// A click on row `i` of a list whose rows are `order`. Only Ctrl/⌘ and Shift
    /// clicks select (a plain click on a row does nothing, so a stray click never starts
    /// a selection); returns whether the click was taken.
    pub fn click(&self, order: &[String], i: usize, toggle: bool, extend: bool) -> bool {
        if !toggle && !extend {
            return false;
        }
        let anchor = self.anchor.get_value();
        let (ids, anchor) = self
            .ids
            .with_untracked(|s| picked(s, order, anchor, i, toggle, extend));
        self.ids.set(ids);
        self.anchor.set_value(anchor);
        true
    }
}

/// What a Ctrl/⌘ (`toggle`) or Shift (`extend`) click on row `i` makes of the selection
/// `current`, with `anchor` the last row picked: Ctrl/⌘ adds or removes the row; Shift
/// selects every row from the anchor to it (Ctrl/⌘+Shift adds that range to what was
/// selected). Returns the selection and the new anchor.
pub fn picked(
    current: &[String],
    order: &[String],
    anchor: Option<usize>,
    i: usize,
    toggle: bool,
    extend: bool,
) -> (Vec<String>, Option<usize>) {
    let Some(id) = order.get(i) else {
        return (current.to_vec(), anchor);
    };
    if extend {
        let from = anchor.filter(|a| *a < order.len()).unwrap_or(i);
        let (lo, hi) = (from.min(i), from.max(i));
        let mut out: Vec<String> = if toggle { current.to_vec() } else { Vec::new() };
        for id in &order[lo..=hi] {
            if !out.contains(id) {
                out.push(id.clone());
            }
        }
        return (out, Some(from));
    }
    let mut out = current.to_vec();
    if let Some(at) = out.iter().position(|x| x == id) {
        out.remove(at);
    } else {
        out.push(id.clone());
    }
    (out, Some(i))
}

/// Whether an event started on a control inside the row (a link, a button, a checkbox, a
/// menu), which handles it itself.
pub fn on_control(ev: &web_sys::Event) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        ev.target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| {
                e.closest("a, button, input, select, textarea, summary, label, .menu")
                    .ok()
            })
            .flatten()
            .is_some()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        false
    }
}

/// The handlers a track row gets: double-click and Enter play it (so does a tap on a
/// touch screen), Ctrl/⌘/Shift-click select, right-click opens its menu at the pointer.
#[derive(Clone, Copy)]
pub struct RowHabits {
    pub sel: Selection,
    /// The list's track ids in order (for Shift-click ranges).
    pub order: StoredValue<Vec<String>>,
}

impl RowHabits {
    pub fn click(&self, ev: &MouseEvent, i: usize, play: impl Fn()) {
        if on_control(ev) {
            return;
        }
        let toggle = ev.ctrl_key() || ev.meta_key();
        let taken = self
            .order
            .with_value(|o| self.sel.click(o, i, toggle, ev.shift_key()));
        if taken {
            // Shift-click would otherwise select the text between the rows.
            ev.prevent_default();
        } else if coarse_pointer() {
            play();
        }
    }

    pub fn double_click(&self, ev: &MouseEvent, play: impl Fn()) {
        if !on_control(ev) {
            play();
        }
    }

    /// Enter on the focused row plays it; Escape clears the selection.
    pub fn key(&self, ev: &KeyboardEvent, play: impl Fn()) {
        let on_row = ev.target() == ev.current_target();
        match ev.key().as_str() {
            "Enter" if on_row => {
                ev.prevent_default();
                play();
            }
            "Escape" => self.sel.clear(),
            _ => {}
        }
    }

    /// Right-click: the row's menu opens where the pointer is (`at`), instead of the
    /// browser's (a link keeps its own: open in a new tab, copy the address).
    pub fn context_menu(&self, ev: &MouseEvent, at: RwSignal<Option<(i32, i32)>>) {
        if is_link(ev) {
            return;
        }
        ev.prevent_default();
        at.set(Some((ev.client_x(), ev.client_y())));
    }
}

/// Whether the main pointer is a finger (a phone or tablet): there a tap on a row plays
/// it, as in every phone music app (a double tap would zoom).
fn coarse_pointer() -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.match_media("(pointer: coarse)").ok().flatten())
            .is_some_and(|m| m.matches())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}

fn is_link(ev: &web_sys::Event) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        ev.target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("a").ok().flatten())
            .is_some()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        false
    }
}

/// Shown while rows are selected: play them, queue them, add them to a playlist, and (when
/// the user may edit every one) set a field on all of them.
#[component]
pub fn SelectionBar(
    sel: Selection,
    /// The list's tracks, in order.
    tracks: StoredValue<Vec<TrackRef>>,
    /// Ids of the tracks the user may edit.
    editable: StoredValue<Vec<String>>,
    /// Called after an edit was stored (the list reloads).
    on_edited: Callback<()>,
) -> impl IntoView {
    let player = expect_context::<PlayerCtx>();
    // The selected tracks in list order (the order a user expects them queued in).
    let chosen = move || {
        let ids = sel.ids.get_untracked();
        tracks.with_value(|t| {
            t.iter()
                .filter(|r| ids.contains(&r.id))
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let all_editable = move || {
        sel.ids
            .with(|ids| editable.with_value(|e| ids.iter().all(|i| e.contains(i))))
    };
    let playlists_open = RwSignal::new(false);
    let menu = NodeRef::<leptos::html::Details>::new();
    view! {
        <Show when=move || !sel.ids.with(Vec::is_empty)>
            <div class="bulk-bar" data-testid="bulk-bar" role="toolbar" aria-label="Selected tracks">
                <span class="bulk-count">{move || format!("{} selected", sel.ids.with(Vec::len))}</span>
                <button type="button" class="btn small primary" data-testid="selection-play"
                    on:click=move |_| player.play_list(chosen(), 0)>"▶ Play"</button>
                <button type="button" class="btn small" data-testid="selection-next"
                    on:click=move |_| {
                        // Each goes right after the current track, so the last goes first.
                        for t in chosen().into_iter().rev() {
                            player.play_next(t);
                        }
                        sel.clear();
                    }>"Play next"</button>
                <button type="button" class="btn small" data-testid="selection-queue"
                    on:click=move |_| {
                        for t in chosen() {
                            player.add_to_queue(t);
                        }
                        sel.clear();
                    }>"Add to queue"</button>
                <details class="row-menu" node_ref=menu
                    on:toggle=move |_| playlists_open.set(menu.get_untracked().is_some_and(|d| d.open()))>
                    <summary class="btn small" data-testid="selection-playlist">"Add to playlist"</summary>
                    {move || playlists_open.get().then(|| {
                        let ids = chosen().into_iter().map(|t| t.id).collect::<Vec<_>>();
                        view! {
                            <div class="menu" role="menu">
                                <crate::playlists::widgets::AddToPlaylist track_ids=ids on_done=Callback::new(move |_| {
                                    if let Some(d) = menu.get_untracked() {
                                        d.set_open(false);
                                    }
                                    sel.clear();
                                })/>
                            </div>
                        }
                    })}
                </details>
                <Show when=all_editable>
                    <crate::catalog::bulk::BulkEdit ids=sel.ids on_done=Callback::new(move |_| {
                        sel.clear();
                        on_edited.run(());
                    })/>
                </Show>
                <button type="button" class="btn ghost small" data-testid="selection-clear"
                    on:click=move |_| sel.clear()>"Clear"</button>
            </div>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::picked;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ctrl_click_adds_and_removes_one_row() {
        let order = ids(&["a", "b", "c", "d"]);
        let (s, anchor) = picked(&[], &order, None, 1, true, false);
        assert_eq!(s, ids(&["b"]));
        assert_eq!(anchor, Some(1));
        let (s, _) = picked(&s, &order, anchor, 3, true, false);
        assert_eq!(s, ids(&["b", "d"]));
        let (s, anchor) = picked(&s, &order, Some(3), 1, true, false);
        assert_eq!(s, ids(&["d"]));
        assert_eq!(anchor, Some(1));
    }

    #[test]
    fn shift_click_selects_the_range_from_the_anchor_either_way() {
        let order = ids(&["a", "b", "c", "d", "e"]);
        let (s, anchor) = picked(&ids(&["e"]), &order, Some(1), 3, false, true);
        assert_eq!(s, ids(&["b", "c", "d"]));
        assert_eq!(anchor, Some(1), "the anchor stays where the range started");
        let (s, _) = picked(&s, &order, anchor, 0, false, true);
        assert_eq!(s, ids(&["a", "b"]));
        // With Ctrl/⌘ too, the range is added to what was selected.
        let (s, _) = picked(&ids(&["e"]), &order, Some(1), 2, true, true);
        assert_eq!(s, ids(&["e", "b", "c"]));
        // No anchor yet: the row alone.
        let (s, anchor) = picked(&[], &order, None, 2, false, true);
        assert_eq!(s, ids(&["c"]));
        assert_eq!(anchor, Some(2));
    }

    #[test]
    fn a_row_past_the_end_or_a_stale_anchor_changes_nothing_it_should_not() {
        let order = ids(&["a", "b"]);
        let (s, anchor) = picked(&ids(&["a"]), &order, Some(0), 5, true, false);
        assert_eq!(s, ids(&["a"]));
        assert_eq!(anchor, Some(0));
        // The list got shorter since the anchor was set (a reload): range from the row.
        let (s, _) = picked(&[], &order, Some(9), 1, false, true);
        assert_eq!(s, ids(&["b"]));
    }
}
