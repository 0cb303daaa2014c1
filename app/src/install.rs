//! The installable app, client side: registers the service worker (`/sw.js`, written by
//! the server for its build; see server/src/pwa.rs) and, when a new build's worker is
//! installed and waiting, offers to reload into it. The new worker takes over only then,
//! so a page never runs files of two builds.

use leptos::prelude::*;

/// "A new version is ready" with a Reload button, shown once a new build waits.
#[component]
pub fn UpdatePrompt() -> impl IntoView {
    let ready = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| register(ready));
    view! {
        <Show when=move || ready.get()>
            <div class="update-prompt" role="status" data-testid="update-prompt">
                <span>"A new version of Refrain is ready."</span>
                <button type="button" class="btn primary" on:click=move |_| take_over()>"Reload"</button>
            </div>
        </Show>
    }
}

/// Registers the worker and watches for a new one waiting behind the one in control.
#[cfg(feature = "hydrate")]
fn register(ready: RwSignal<bool>) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    let Some(window) = web_sys::window() else {
        return;
    };
    let container = window.navigator().service_worker();
    wasm_bindgen_futures::spawn_local(async move {
        let Ok(reg) = wasm_bindgen_futures::JsFuture::from(container.register("/sw.js")).await
        else {
            return;
        };
        let reg: web_sys::ServiceWorkerRegistration = reg.unchecked_into();
        // An update: a worker is in control already (on a first visit none is).
        let controlled = || {
            web_sys::window().is_some_and(|w| w.navigator().service_worker().controller().is_some())
        };
        if reg.waiting().is_some() && controlled() {
            ready.set(true);
        }
        let found = reg.clone();
        let on_found = Closure::<dyn Fn()>::new(move || {
            let Some(worker) = found.installing() else {
                return;
            };
            let watched = worker.clone();
            let on_state = Closure::<dyn Fn()>::new(move || {
                if watched.state() == web_sys::ServiceWorkerState::Installed && controlled() {
                    ready.set(true);
                }
            });
            worker.set_onstatechange(Some(on_state.as_ref().unchecked_ref()));
            on_state.forget();
        });
        reg.set_onupdatefound(Some(on_found.as_ref().unchecked_ref()));
        on_found.forget();
    });
}

/// Asks the waiting worker to take over and reloads once it has.
fn take_over() {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::{JsCast, JsValue};
        let Some(window) = web_sys::window() else {
            return;
        };
        let container = window.navigator().service_worker();
        let reload = wasm_bindgen::closure::Closure::once_into_js(move || {
            let _ = window.location().reload();
        });
        container.set_oncontrollerchange(Some(reload.unchecked_ref()));
        wasm_bindgen_futures::spawn_local(async move {
            let Ok(reg) = wasm_bindgen_futures::JsFuture::from(container.get_registration()).await
            else {
                return;
            };
            if let Some(waiting) = reg
                .dyn_into::<web_sys::ServiceWorkerRegistration>()
                .ok()
                .and_then(|r| r.waiting())
            {
                let _ = waiting.post_message(&JsValue::from_str("refrain:take-over"));
            }
        });
    }
}
