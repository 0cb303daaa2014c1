//! How data travels between server and browser: postcard, a compact binary serde format,
//! for every server function's answer (`#[server(output = Postcard)]`) and for the
//! resources the server renders and the page then hydrates from (`resource`, base64 in
//! the HTML).
//!
//! JSON cost the client a parser per type, twice over (server function answers were read
//! from bytes and hydration data from a string): about a tenth of the WASM. Postcard reads
//! a struct's fields in order, with no field names to match, and one reader serves both.

use codee::binary::PostcardCodec;
use leptos::prelude::*;
use serde::{Serialize, de::DeserializeOwned};
use std::future::Future;

/// A resource whose value crosses from server to client in postcard.
pub type Res<T> = Resource<T, PostcardCodec>;

/// `Resource::new`, with postcard in place of JSON.
#[track_caller]
pub fn resource<T, S, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Res<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    S: PartialEq + Clone + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

/// The string `field` of a JSON object, read by the browser's own parser: the REST
/// answers the client reads (uploads, pictures) are JSON, and one field each does not
/// need a parser in the WASM.
#[cfg(feature = "hydrate")]
pub fn json_str(text: &str, field: &str) -> Option<String> {
    let value = js_sys::JSON::parse(text).ok()?;
    js_sys::Reflect::get(&value, &field.into())
        .ok()?
        .as_string()
}

/// A form that posts to the server function `S` (so it works before the WASM loads) and,
/// once hydrated, sends `action` with what `input` makes instead. For forms whose fields
/// are known in code: `ActionForm` reads them back from the form data, which brings a
/// form-data parser (serde_qs, and with it float formatting) into the module every page
/// loads first.
pub fn post_form<S>(
    action: ServerAction<S>,
    input: impl Fn() -> S + 'static,
    children: impl IntoView + 'static,
) -> impl IntoView
where
    S: server_fn::ServerFn + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    view! {
        <form method="post" action=S::PATH on:submit=move |ev| {
            ev.prevent_default();
            action.dispatch(input());
        }>
            {children}
        </form>
    }
}
