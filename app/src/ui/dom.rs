//! Small helpers over the browser's page: a confirm box, a route parameter, a picked
//! file and its upload, the window's size.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// Asks the user to confirm (always yes before the WASM has loaded, where it cannot run).
pub fn confirm(_question: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.confirm_with_message(_question).ok())
            .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        true
    }
}

pub fn param(name: &'static str) -> Memo<String> {
    let params = use_params_map();
    Memo::new(move |_| params.with(|p| p.get(name).unwrap_or_default()))
}

/// The file just picked in the `<input type="file">` an event came from (the input is
/// cleared, so picking the same file again fires again).
#[cfg(feature = "hydrate")]
pub fn picked_file(ev: &leptos::ev::Event) -> Option<web_sys::File> {
    use wasm_bindgen::JsCast;
    let input = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())?;
    let file = input.files().and_then(|f| f.get(0))?;
    input.set_value("");
    Some(file)
}

/// POSTs a file as the request body; the answer's body, or the server's reason (`refused`
/// when it gave none).
#[cfg(feature = "hydrate")]
pub async fn post_file(url: &str, file: web_sys::File, refused: &str) -> Result<String, String> {
    let resp = gloo_net::http::Request::post(url)
        .header("content-type", &file.type_())
        .body(file)
        .map_err(|e| e.to_string())?
        .send()
        .await
        .map_err(|_| "Could not reach Refrain. Check your connection.".to_string())?;
    if resp.status() == 401 {
        // Signed out elsewhere: this browser's downloads go too.
        crate::error::session_ended();
    }
    let text = resp.text().await.unwrap_or_default();
    if resp.ok() {
        Ok(text)
    } else {
        Err(crate::wire::json_str(&text, "error").unwrap_or_else(|| refused.to_string()))
    }
}

/// Percent-encodes for a data: URL.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The window's inner width and height in CSS pixels.
#[cfg(feature = "hydrate")]
pub fn window_size() -> (f64, f64) {
    let w = web_sys::window();
    let get = |v: Option<Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue>>| {
        v.and_then(Result::ok)
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0)
    };
    (
        get(w.as_ref().map(|w| w.inner_width())),
        get(w.as_ref().map(|w| w.inner_height())),
    )
}
