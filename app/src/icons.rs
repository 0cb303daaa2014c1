//! Small inline SVG icons (no icon font: glyphs like ⏮ are missing from many systems).

use leptos::prelude::*;

fn svg(d: &'static str, filled: bool) -> impl IntoView {
    let (fill, stroke) = if filled {
        ("currentColor", "none")
    } else {
        ("none", "currentColor")
    };
    view! {
        <svg class="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true"
            fill=fill stroke=stroke stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
            <path d=d/>
        </svg>
    }
}

pub fn previous() -> impl IntoView {
    svg("M6 5h2v14H6zM20 5v14L9 12z", true)
}

pub fn next() -> impl IntoView {
    svg("M16 5h2v14h-2zM4 5v14l11-7z", true)
}

pub fn plus() -> impl IntoView {
    svg("M12 5v14M5 12h14", false)
}

pub fn shuffle() -> impl IntoView {
    svg("M16 3h5v5M4 20 21 3M21 16v5h-5M15 15l6 6M4 4l5 5", false)
}

pub fn grip() -> impl IntoView {
    svg(
        "M9 6h.01M15 6h.01M9 12h.01M15 12h.01M9 18h.01M15 18h.01",
        false,
    )
}

pub fn repeat() -> impl IntoView {
    svg(
        "M17 2l4 4-4 4M3 11V9a3 3 0 0 1 3-3h15M7 22l-4-4 4-4M21 13v2a3 3 0 0 1-3 3H3",
        false,
    )
}

pub fn repeat_one() -> impl IntoView {
    svg(
        "M17 2l4 4-4 4M3 11V9a3 3 0 0 1 3-3h15M7 22l-4-4 4-4M21 13v2a3 3 0 0 1-3 3H3M11 10h1v4",
        false,
    )
}
