//! The routes' views as lazily loaded chunks. Each `page!` makes a route type whose view
//! `#[lazy_route]` splits into its own WASM module (with the code only it uses), loaded
//! when the router first goes there; the server renders it directly.

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

macro_rules! page {
    ($($route:ident => $view:expr;)*) => {$(
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                $view.into_any()
            }
        }
    )*};
}

page! {
    Login => view! { <crate::auth::LoginPage/> };
    Signup => view! { <crate::auth::SignupPage/> };
    ForgotPassword => view! { <crate::auth::ForgotPasswordPage/> };
    ResetPassword => view! { <crate::auth::ResetPasswordPage/> };
    VerifyEmail => view! { <crate::auth::ConfirmEmailPage/> };
    ConfirmEmail => view! { <crate::auth::ConfirmEmailPage change=true/> };
    EndSession => view! { <crate::auth::EndSessionPage/> };
    LinkAccount => view! { <crate::auth::sso::LinkAccountPage/> };
    Home => view! { <crate::home::HomePage/> };
    Library => view! { <crate::library::LibraryPage/> };
    Search => view! { <crate::search::SearchPage/> };
    Liked => view! { <crate::library::LikedPage/> };
    Queue => view! { <crate::queue::QueuePage/> };
    Playlist => view! { <crate::playlists::PlaylistPage/> };
    Playlists => view! { <crate::playlists::PlaylistsPage/> };
    Albums => view! { <crate::browse::AlbumsPage/> };
    Artists => view! { <crate::browse::ArtistsPage/> };
    Album => view! { <crate::browse::AlbumPage/> };
    Artist => view! { <crate::browse::ArtistPage/> };
    AlbumEdit => view! { <crate::catalog::AlbumEditPage/> };
    ArtistEdit => view! { <crate::catalog::ArtistEditPage/> };
    TrackEdit => view! { <crate::catalog::TrackEditPage/> };
    Admin => view! { <crate::admin::AdminPage/> };
    Settings => view! { <crate::settings::SettingsPage/> };
    Offline => view! { <crate::downloads::OfflinePage/> };
}
