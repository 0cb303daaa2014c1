//! Single sign-on providers' discovery documents and keys, cached per provider for every
//! request of this node, and the HTTP client they (and the token endpoint) are fetched
//! with. The sign-in flows that use them are the auth domain's.

use super::error::{Error, Result};
use openidconnect::core::{CoreClient, CoreJsonWebKeySet, CoreProviderMetadata};
use openidconnect::{
    AsyncHttpClient, EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpRequest, HttpResponse,
};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

/// Largest discovery, key set or token answer read.
pub(crate) const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// A client made from discovery: authorization endpoint set, token endpoint if published.
pub(crate) type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

pub(crate) struct Issuer {
    pub(crate) metadata: CoreProviderMetadata,
    pub(crate) client: Client,
    pub(crate) fetched: Instant,
    pub(crate) keys: RwLock<(Instant, CoreJsonWebKeySet)>,
}

/// Discovery and keys per provider, fetched on first use and shared by every request,
/// and the HTTP client they are fetched with.
#[derive(Default)]
pub struct SsoCache {
    pub(crate) issuers: RwLock<HashMap<String, Arc<Issuer>>>,
    http: OnceLock<std::result::Result<Http, String>>,
}

impl SsoCache {
    pub(crate) fn http(&self) -> Result<&Http> {
        self.http
            .get_or_init(|| {
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map(Http)
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| {
                tracing::error!(error = %e, "no HTTP client for single sign-on");
                Error::Unavailable {
                    what: "the sign-in provider",
                    retry_after_secs: 30,
                }
            })
    }
}

/// The HTTP client the `openidconnect` crate sends its requests through (discovery, keys,
/// token endpoint): the server's reqwest 0.12, ten seconds a request, no redirects (the
/// crate's advice against SSRF: an answer cannot send Refrain on to another address), and
/// answers of at most [`MAX_ANSWER_BYTES`].
pub(crate) struct Http(reqwest::Client);

#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    #[error(transparent)]
    Request(#[from] reqwest::Error),
    #[error("the answer is larger than {MAX_ANSWER_BYTES} bytes")]
    TooLarge,
}

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future =
        Pin<Box<dyn Future<Output = std::result::Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let mut r = self.0.execute(reqwest::Request::try_from(request)?).await?;
            if r.content_length()
                .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
            {
                return Err(HttpError::TooLarge);
            }
            let status = r.status();
            let headers = std::mem::take(r.headers_mut());
            let mut body = Vec::new();
            while let Some(chunk) = r.chunk().await? {
                if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(HttpError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            let mut answer = HttpResponse::new(body);
            *answer.status_mut() = status;
            *answer.headers_mut() = headers;
            Ok(answer)
        })
    }
}
