//! Refrain's UI: routes, layout, and the server functions beside the components that use
//! them. Compiled twice: with `ssr` for the server and with `hydrate` for the browser.
#![recursion_limit = "512"]

pub mod admin;
pub mod appkeys;
pub mod artists;
pub mod auth;
pub mod browse;
pub mod catalog;
pub mod downloads;
pub mod error;
pub mod folders;
pub mod home;
pub mod icons;
pub mod imports;
pub mod install;
pub mod library;
pub mod model;
pub mod offline;
mod pages;
pub mod player;
pub mod playlists;
pub mod queue;
pub mod search;
pub mod selection;
pub mod settings;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod tracks;
pub mod ui;
pub mod wire;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::components::{A, Outlet, ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{Lazy, SsrMode, path};
use player::{PlayerBar, PlayerCtx};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    ssr::content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                // The same on every page, so here in the shell (rendered on the server
                // only) rather than through leptos_meta in the hydrated app.
                <meta name="description" content="Refrain: your own music streaming server."/>
                <meta name="theme-color" content="#0f1115"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // Installable (server/src/pwa.rs writes the service worker).
                <link rel="manifest" href="/manifest.webmanifest"/>
                <link rel="apple-touch-icon" href="/icons/icon-192.png"/>
                <AutoReload options=options.clone()/>
                // The stylesheet by its hashed name when the build wrote one (cached for a
                // year), rendered here: only the shell knows the build's options.
                <HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The document title for a page's own title (often a tag: an album's or a track's).
/// leptos_meta writes the server-rendered `<title>` without escaping its text, so a tag
/// holding `</title><script>` would end the element there: on the server the text is
/// escaped (the browser decodes the references inside `<title>`); in the browser it is
/// set as `document.title`, plain text, as it is.
fn page_title(t: String) -> String {
    let t = if t.is_empty() {
        "Refrain".to_string()
    } else {
        format!("{t} · Refrain")
    };
    if cfg!(feature = "ssr") {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    } else {
        t
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let player = PlayerCtx::new();
    provide_context(player);
    offline::DownloadsCtx::provide();
    // True while the router loads the next page (its code chunk and data).
    let (is_routing, set_is_routing) = signal(false);

    view! {
        <Title formatter=page_title/>
        <install::UpdatePrompt/>
        <Router set_is_routing>
            <RouteProgress is_routing/>
            <Routes fallback=|| view! { <NotFound/> }>
                // Every page is its own lazily loaded WASM chunk (split by `xtask site`):
                // the browser fetches the code of the page it is on, and another page's
                // when it goes there. The layout and the player are in the main module.
                <Route path=path!("/login") view={Lazy::<pages::Login>::new()}/>
                <Route path=path!("/signup") view={Lazy::<pages::Signup>::new()}/>
                <Route path=path!("/forgot-password") view={Lazy::<pages::ForgotPassword>::new()}/>
                <Route path=path!("/reset-password") view={Lazy::<pages::ResetPassword>::new()}/>
                <Route path=path!("/verify-email") view={Lazy::<pages::VerifyEmail>::new()}/>
                <Route path=path!("/confirm-email") view={Lazy::<pages::ConfirmEmail>::new()}/>
                <Route path=path!("/end-session") view={Lazy::<pages::EndSession>::new()}/>
                <Route path=path!("/link-account") view={Lazy::<pages::LinkAccount>::new()}/>
                // Downloads, playable without a network (the service worker's fallback).
                <Route path=path!("/offline") view={Lazy::<pages::Offline>::new()}/>
                // The signed-in layout stays mounted while these change, so navigating
                // never interrupts playback.
                <ParentRoute path=path!("") ssr=SsrMode::Async view=Shell>
                    <Route path=path!("/") ssr=SsrMode::Async view={Lazy::<pages::Home>::new()}/>
                    <Route path=path!("/library") ssr=SsrMode::Async view={Lazy::<pages::Library>::new()}/>
                    <Route path=path!("/search") ssr=SsrMode::Async view={Lazy::<pages::Search>::new()}/>
                    <Route path=path!("/liked") ssr=SsrMode::Async view={Lazy::<pages::Liked>::new()}/>
                    <Route path=path!("/queue") ssr=SsrMode::Async view={Lazy::<pages::Queue>::new()}/>
                    <Route path=path!("/playlists") ssr=SsrMode::Async view={Lazy::<pages::Playlists>::new()}/>
                    <Route path=path!("/playlists/:id") ssr=SsrMode::Async view={Lazy::<pages::Playlist>::new()}/>
                    <Route path=path!("/albums") ssr=SsrMode::Async view={Lazy::<pages::Albums>::new()}/>
                    <Route path=path!("/artists") ssr=SsrMode::Async view={Lazy::<pages::Artists>::new()}/>
                    <Route path=path!("/albums/:id") ssr=SsrMode::Async view={Lazy::<pages::Album>::new()}/>
                    <Route path=path!("/artists/:id") ssr=SsrMode::Async view={Lazy::<pages::Artist>::new()}/>
                    <Route path=path!("/albums/:id/edit") ssr=SsrMode::Async view={Lazy::<pages::AlbumEdit>::new()}/>
                    <Route path=path!("/artists/:id/edit") ssr=SsrMode::Async view={Lazy::<pages::ArtistEdit>::new()}/>
                    <Route path=path!("/tracks/:id/edit") ssr=SsrMode::Async view={Lazy::<pages::TrackEdit>::new()}/>
                    <Route path=path!("/admin") ssr=SsrMode::Async view={Lazy::<pages::Admin>::new()}/>
                    <Route path=path!("/settings") ssr=SsrMode::Async view={Lazy::<pages::Settings>::new()}/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// A thin bar along the top while the next page loads (its code is fetched on first
/// visit), so a click never looks ignored. `data-routing` on the body says the same to
/// tests and tools.
#[component]
fn RouteProgress(is_routing: ReadSignal<bool>) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let routing = is_routing.get();
        if let Some(body) = document().body() {
            let _ = if routing {
                body.set_attribute("data-routing", "")
            } else {
                body.remove_attribute("data-routing")
            };
        }
    });
    view! {
        <div class="route-progress" class:active=move || is_routing.get() aria-hidden="true"></div>
    }
}

/// The signed-in layout: sidebar, main view, and the player bar that stays on screen.
#[component]
fn Shell() -> impl IntoView {
    let logout = ServerAction::<auth::Logout>::new();
    let logout_path = <auth::Logout as server_fn::ServerFn>::PATH;
    playlists::widgets::PlaylistsCtx::provide();
    let user = crate::wire::resource(|| (), |_| auth::current_user());
    let avatar = settings::AvatarCtx {
        url: RwSignal::new(None),
    };
    provide_context(avatar);
    // Downloads belong to the signed-in user (anyone else's are wiped first) and follow
    // their playlists (at most every ten minutes, while signed in).
    let downloads = expect_context::<offline::DownloadsCtx>();
    Effect::new(move |_| {
        if let Some(Ok(Some(u))) = user.get() {
            downloads.signed_in(&u.id);
            downloads.sync(false);
        }
    });
    // Only the sidebar waits for the user. The page and the player bar stay outside that
    // Transition: on the server a Suspense re-runs its children until every resource it
    // reads has settled, and a page created in there would be created (and fetch its
    // data) more than once, with the HTML and the data hydration reads coming from
    // different runs.
    view! {
        <div class="app">
            <nav class="sidebar" aria-label="Main">
                <A href="/" attr:class="brand">"Refrain"</A>
                <Transition fallback=|| ()>
                    {move || user.get().map(|u| match u {
                        Ok(Some(user)) => {
                            avatar.url.set(user.avatar.clone());
                            view! {
                                <ul>
                                    <li><A href="/" exact=true>"Home"</A></li>
                                    <li><A href="/library" exact=true>"Library"</A></li>
                                    <li><A href="/search">"Search"</A></li>
                                    <li><A href="/albums" exact=true>"Albums"</A></li>
                                    <li><A href="/artists" exact=true>"Artists"</A></li>
                                    <li><A href="/liked">"Liked Songs"</A></li>
                                    <li><A href="/settings">"Settings"</A></li>
                                    {(user.role == "admin").then(|| view! { <li class="admin-link"><A href="/admin">"Admin"</A></li> })}
                                </ul>
                                <playlists::SidebarPlaylists/>
                                <div class="account">
                                    <settings::Avatar url=avatar.url name=user.name.clone()/>
                                    <span class="muted email" title=user.email.clone() data-testid="account-name">{user.name.clone()}</span>
                                    {(user.role == "admin").then(|| view! { <span class="badge">"admin"</span> })}
                                    // Downloads and plays waiting to be sent are wiped first.
                                    <form method="post" action=logout_path
                                        on:submit=move |ev| {
                                            ev.prevent_default();
                                            #[cfg(feature = "hydrate")]
                                            leptos::task::spawn_local(async move {
                                                offline::run(downloads, offline::Cmd::Wipe).await;
                                                logout.dispatch(auth::Logout {});
                                            });
                                            #[cfg(not(feature = "hydrate"))]
                                            let _ = logout;
                                        }>
                                        <button type="submit" class="btn ghost" data-testid="logout">"Log out"</button>
                                    </form>
                                </div>
                            }.into_any()
                        }
                        Ok(None) => {
                            // Server side: a real 302 (the page waits for this resource, SsrMode::Async).
                            #[cfg(feature = "ssr")]
                            leptos_axum::redirect("/login");
                            view! { <Redirect path="/login"/> }.into_any()
                        }
                        Err(e) => view! {
                            <p class="form-error" role="alert">"Refrain is unavailable: " {e.to_string()}</p>
                        }.into_any(),
                    })}
                </Transition>
            </nav>
            <main class="main"><Outlet/></main>
            <PlayerBar/>
            <TabBar/>
        </div>
    }
}

/// On a phone, the main places as tabs along the bottom (the sidebar's list does not fit
/// there); hidden on wider screens, where the sidebar has them.
#[component]
fn TabBar() -> impl IntoView {
    view! {
        <nav class="tabbar" aria-label="Tabs">
            <A href="/" exact=true>{icons::home()}<span>"Home"</span></A>
            <A href="/search">{icons::search()}<span>"Search"</span></A>
            <A href="/library" exact=true>{icons::library()}<span>"Library"</span></A>
            <A href="/playlists">{icons::playlists()}<span>"Playlists"</span></A>
            <A href="/settings">{icons::settings()}<span>"Settings"</span></A>
        </nav>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <div class="auth-page"><div class="auth-card">
            <h1>"Page not found"</h1>
            <p class="muted"><A href="/">"Back home"</A></p>
        </div></div>
    }
}
