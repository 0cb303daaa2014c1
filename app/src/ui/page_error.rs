//! The message a page shows in place of what it could not load.

use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::A;

/// A "not found" or failure message in the main view.
#[component]
pub fn PageError(error: AppError) -> impl IntoView {
    let title = match &error {
        AppError::NotFound(_) => "Not found",
        _ => "Something went wrong",
    };
    view! {
        <div class="empty" role="alert">
            <p class="empty-title">{title}</p>
            <p class="muted">{error.to_string()}</p>
            <p><A href="/library">"Back to your library"</A></p>
        </div>
    }
}
