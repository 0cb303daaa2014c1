//! The WASM entry point: hydrates the server-rendered page.
#![recursion_limit = "512"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Pages are split into chunks (`app::pages`): hydration first loads the chunk of the
    // page the server rendered, then walks the DOM.
    let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        let owner = leptos::mount::hydrate_from_async(body.clone(), app::App).await;
        owner.forget();
        // What differs from the server-rendered page (network state, stored downloads)
        // is read only now.
        app::offline::after_hydration();
        // A marker for tests and tooling: the page is interactive from here on.
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
