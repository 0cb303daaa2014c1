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

pub fn home() -> impl IntoView {
    svg("M3 11l9-8 9 8M5 10v10h5v-6h4v6h5V10", false)
}

pub fn search() -> impl IntoView {
    svg("M11 4a7 7 0 1 0 0 14 7 7 0 0 0 0-14zM20 20l-4-4", false)
}

pub fn library() -> impl IntoView {
    svg("M4 4v16M9 4v16M14 4l5 16", false)
}

pub fn playlists() -> impl IntoView {
    svg(
        "M4 6h11M4 11h11M4 16h7M17 18a2 2 0 1 0 0-.01M19 18V7l3-1",
        false,
    )
}

pub fn settings() -> impl IntoView {
    svg(
        "M12 9a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z",
        false,
    )
}

pub fn chevron_down() -> impl IntoView {
    svg("M6 9l6 6 6-6", false)
}

pub fn download() -> impl IntoView {
    svg("M12 4v11M7 10l5 5 5-5M5 20h14", false)
}
