//! Setting one field on many selected tracks at once (the selection bar offers it when the
//! user may edit every selected track).

use crate::error::AppError;
use leptos::prelude::*;
use server_fn::codec::Postcard;

/// Sets `field` to `value` on every track in `track_ids`; how many were changed.
#[server(input = Postcard, output = Postcard, endpoint = "bulk_edit16006196821259452274")]
pub async fn bulk_edit(
    track_ids: Vec<String>,
    field: String,
    value: String,
) -> Result<usize, AppError> {
    let (core, user) = (crate::ssr::core()?, crate::ssr::require_user().await?);
    let field = backend::catalog::Field::parse(&field)?;
    Ok(backend::catalog::set_field(&core, &user, &track_ids, field, &value).await?)
}

/// The fields a bulk edit can set: (form value, label).
pub const BULK_FIELDS: &[(&str, &str)] = &[
    ("album", "Album"),
    ("artist", "Artist"),
    ("album_artist", "Album artist"),
    ("year", "Year"),
    ("genre", "Genre"),
    ("disc_no", "Disc"),
];

/// In the selection bar when the user may edit every selected track: set one field on
/// all of them.
#[component]
pub fn BulkEdit(ids: RwSignal<Vec<String>>, on_done: Callback<()>) -> impl IntoView {
    let field = RwSignal::new("album".to_string());
    let value = RwSignal::new(String::new());
    let apply = Action::new(move |(ids, field, value): &(Vec<String>, String, String)| {
        let (track_ids, field, value) = (ids.clone(), field.clone(), value.clone());
        async move { bulk_edit(track_ids, field, value).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = apply.value().get() {
            value.set(String::new());
            on_done.run(());
        }
    });
    view! {
        <form class="bulk-edit" on:submit=move |ev| {
            ev.prevent_default();
            apply.dispatch((ids.get_untracked(), field.get_untracked(), value.get_untracked()));
        }>
            <label>"Set "
                <select aria-label="Field" data-testid="bulk-field" on:change=move |ev| field.set(event_target_value(&ev))>
                    {BULK_FIELDS.iter().map(|(v, l)| view! { <option value=*v>{*l}</option> }).collect_view()}
                </select>
            </label>
            <label>" to "
                <input data-testid="bulk-value" prop:value=move || value.get() placeholder="(empty clears it)"
                    on:input=move |ev| value.set(event_target_value(&ev))/>
            </label>
            <button type="submit" class="btn small primary" disabled=move || apply.pending().get()>"Apply"</button>
            {move || match apply.value().get() {
                Some(Err(e)) => Some(view! { <span class="form-error" role="alert">{e.to_string()}</span> }),
                _ => None,
            }}
        </form>
    }
}
