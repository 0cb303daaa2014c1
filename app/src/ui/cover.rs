//! Covers and their placeholders.

use crate::model::AlbumItem;
use leptos::prelude::*;

/// A cover image (a thumbnail about `size` CSS pixels wide, sharp on 2x screens), or a
/// generated placeholder from the title's initial.
#[component]
pub fn Cover(
    track_id: String,
    has_cover: bool,
    title: String,
    /// The cover's version (changes with the cover, so its URL can be cached for good).
    #[prop(optional, into)]
    version: String,
    /// Displayed width in CSS pixels (48 when not given: list rows).
    #[prop(optional)]
    size: Option<u32>,
) -> impl IntoView {
    if has_cover {
        let size = size.unwrap_or(48);
        let src = format!("/covers/{track_id}?s={size}&v={version}");
        let srcset = format!("{src} 1x, /covers/{track_id}?s={}&v={version} 2x", size * 2);
        view! { <img class="cover" src=src srcset=srcset alt="" loading="lazy"/> }.into_any()
    } else {
        let initial = title
            .chars()
            .next()
            .map(|c| c.to_uppercase().to_string())
            .unwrap_or_default();
        let hue = title
            .bytes()
            .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)))
            % 360;
        view! {
            <span class="cover placeholder" style=format!("--hue: {hue}") aria-hidden="true">{initial}</span>
        }
        .into_any()
    }
}

/// An album's cover (from one of its tracks), or a placeholder from its title.
#[component]
pub fn AlbumCover(album: AlbumItem, #[prop(optional)] big: bool) -> impl IntoView {
    view! {
        <span class="album-cover" class:big=big>
            <Cover track_id=album.cover_track_id.clone().unwrap_or_default()
                has_cover=album.cover_track_id.is_some() version=album.cover_v.clone() title=album.title.clone()
                size=if big { 320 } else { 200 }/>
        </span>
    }
}

/// A round picture with a name's first letter (artists have no pictures yet).
#[component]
pub fn Initial(name: String, class: &'static str) -> impl IntoView {
    let initial = name
        .chars()
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default();
    view! { <span class=class aria-hidden="true">{initial}</span> }
}
