//! Object storage behind `object_store`: local disk for the embedded default.

use crate::{Error, Result};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload, WriteMultipart};
use std::sync::Arc;

#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// Present for S3: signs short-lived GET URLs.
    signer: Option<Arc<object_store::aws::AmazonS3>>,
    /// Key prefix inside the bucket (S3 only), applied by `PrefixStore` and when signing.
    prefix: Option<String>,
    kind: &'static str,
    /// Present for local disk: ranged reads go straight to the file (see `get_range`).
    local: Option<Arc<object_store::local::LocalFileSystem>>,
    /// Present for S3: calls fail at once while the store is not answering.
    breaker: Option<Arc<crate::breaker::Breaker>>,
}

/// How much a local ranged read reads at a time: large enough that a whole stream
/// segment is one read and one write, small enough to bound the memory of 64 streams.
const LOCAL_READ_CHUNK: u64 = 1024 * 1024;

/// How long one call to S3 may take before it counts as an outage (a read's body is
/// streamed after the call returns, and is not timed by this).
const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);
/// How long completing a multipart upload may take.
const FINISH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// What a ranged read returns.
pub struct RangeRead {
    pub stream: futures::stream::BoxStream<'static, Result<Bytes>>,
}

impl Storage {
    pub fn local(dir: &std::path::Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| {
            anyhow::anyhow!("cannot create storage directory {}: {e}", dir.display())
        })?;
        let store = Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir)?);
        Ok(Storage {
            store: store.clone(),
            signer: None,
            prefix: None,
            kind: "local",
            local: Some(store),
            breaker: None,
        })
    }

    /// S3-compatible storage; uploads go up as multipart streams. Calls go through
    /// `breaker`, and give up quickly themselves: a connection gets 5 s, and a failed
    /// request is retried twice within 10 s at most (`object_store` would otherwise retry
    /// for up to three minutes while requests pile up behind it).
    pub fn s3(c: &crate::config::S3Config, breaker: crate::breaker::Breaker) -> Result<Self> {
        let retry = object_store::RetryConfig {
            backoff: object_store::BackoffConfig {
                init_backoff: std::time::Duration::from_millis(100),
                max_backoff: std::time::Duration::from_secs(1),
                base: 2.0,
            },
            max_retries: 2,
            retry_timeout: std::time::Duration::from_secs(10),
        };
        let client = object_store::ClientOptions::new()
            .with_connect_timeout(std::time::Duration::from_secs(5));
        let mut b = object_store::aws::AmazonS3Builder::new()
            .with_retry(retry)
            .with_client_options(client)
            .with_bucket_name(&c.bucket)
            .with_region(&c.region)
            .with_access_key_id(&c.access_key_id)
            .with_secret_access_key(&c.secret_access_key)
            .with_virtual_hosted_style_request(!c.path_style);
        if let Some(ep) = &c.endpoint {
            b = b
                .with_endpoint(ep)
                .with_allow_http(ep.starts_with("http://"));
        }
        let s3 = Arc::new(b.build()?);
        let store: Arc<dyn ObjectStore> = match &c.prefix {
            Some(p) => {
                let inner: Arc<dyn ObjectStore> = s3.clone();
                Arc::new(object_store::prefix::PrefixStore::new(inner, p.as_str()))
            }
            None => s3.clone(),
        };
        Ok(Storage {
            store,
            signer: Some(s3),
            prefix: c.prefix.clone(),
            kind: "s3",
            local: None,
            breaker: Some(Arc::new(breaker)),
        })
    }

    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Whether the store's circuit breaker is refusing calls now.
    pub fn breaker_open(&self) -> bool {
        self.breaker.as_ref().is_some_and(|b| b.is_open())
    }

    /// Runs a call to the store through its breaker (S3 only). An error that is an
    /// answer ("not found", "exists", "not modified", a refused precondition) is not an
    /// outage.
    async fn guard<T>(&self, call: impl Future<Output = Result<T>>) -> Result<T> {
        self.guard_within(CALL_TIMEOUT, call).await
    }

    /// [`Self::guard`] with a time limit of its own: a store that accepts connections
    /// and never answers counts as not answering too, instead of holding each request
    /// until its own time limit.
    async fn guard_within<T>(
        &self,
        limit: std::time::Duration,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let Some(b) = &self.breaker else {
            return call.await;
        };
        let timed = async {
            tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
                Err(Error::Storage(object_store::Error::Generic {
                    store: "S3",
                    source: format!("no answer within {} s", limit.as_secs()).into(),
                }))
            })
        };
        b.call(timed, is_outage).await
    }

    /// A presigned GET URL for `key`, valid for `expires`; `None` for local storage.
    #[tracing::instrument(name = "object_store presigned_get", skip_all, fields(key = %key))]
    pub async fn presigned_get(
        &self,
        key: &str,
        expires: std::time::Duration,
    ) -> Result<Option<url::Url>> {
        use object_store::signer::Signer;
        match &self.signer {
            Some(s) => {
                let full = match &self.prefix {
                    Some(p) => format!("{p}/{key}"),
                    None => key.to_string(),
                };
                Ok(Some(
                    s.signed_url(http::Method::GET, &Path::from(full), expires)
                        .await?,
                ))
            }
            None => Ok(None),
        }
    }

    /// Streams `body` into the object at `key` without holding it in memory. Stops with
    /// `TooLarge` (and stores nothing) as soon as more than `limit` bytes arrive.
    #[tracing::instrument(name = "object_store put_stream", skip_all, fields(key = %key))]
    pub async fn put_stream<S, E>(&self, key: &str, mut body: S, limit: u64) -> Result<u64>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let upload = self
            .guard(async { Ok(self.store.put_multipart(&Path::from(key)).await?) })
            .await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, 8 * 1024 * 1024);
        let mut total: u64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(Error::Invalid(format!("upload interrupted: {e}")));
                }
            };
            total += chunk.len() as u64;
            if total > limit {
                let _ = writer.abort().await;
                return Err(Error::TooLarge { limit });
            }
            writer.wait_for_capacity(4).await?;
            writer.write(&chunk);
        }
        // The last parts (up to 4 x 8 MiB) may still be on their way.
        self.guard_within(FINISH_TIMEOUT, async { Ok(writer.finish().await?) })
            .await?;
        Ok(total)
    }

    #[tracing::instrument(name = "object_store put", skip_all, fields(key = %key))]
    pub async fn put(&self, key: &str, data: Bytes) -> Result<()> {
        self.guard(async {
            self.store
                .put(&Path::from(key), PutPayload::from_bytes(data))
                .await?;
            Ok(())
        })
        .await
    }

    /// Uploads a local file in chunks.
    pub async fn put_file(&self, key: &str, file: &std::path::Path) -> Result<u64> {
        let f = tokio::fs::File::open(file)
            .await
            .map_err(|e| anyhow::anyhow!("open {}: {e}", file.display()))?;
        let stream = tokio_util::io::ReaderStream::with_capacity(f, 1024 * 1024);
        self.put_stream(key, stream, u64::MAX).await
    }

    /// Downloads an object to a local file.
    #[tracing::instrument(name = "object_store download", skip_all, fields(key = %key))]
    pub async fn download(&self, key: &str, to: &std::path::Path) -> Result<u64> {
        use tokio::io::AsyncWriteExt;
        let mut stream = self
            .guard(async { Ok(self.store.get(&Path::from(key)).await?) })
            .await?
            .into_stream();
        let mut f = tokio::fs::File::create(to)
            .await
            .map_err(|e| anyhow::anyhow!("create {}: {e}", to.display()))?;
        let mut n = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            n += chunk.len() as u64;
            f.write_all(&chunk)
                .await
                .map_err(|e| anyhow::anyhow!("write {}: {e}", to.display()))?;
        }
        f.flush().await.map_err(|e| anyhow::anyhow!("flush: {e}"))?;
        Ok(n)
    }

    #[tracing::instrument(name = "object_store get_bytes", skip_all, fields(key = %key))]
    pub async fn get_bytes(&self, key: &str) -> Result<Bytes> {
        self.guard(async { Ok(self.store.get(&Path::from(key)).await?.bytes().await?) })
            .await
    }

    #[tracing::instrument(name = "object_store size", skip_all, fields(key = %key))]
    pub async fn size(&self, key: &str) -> Result<u64> {
        self.guard(async { Ok(self.store.head(&Path::from(key)).await?.size) })
            .await
    }

    #[tracing::instrument(name = "object_store exists", skip_all, fields(key = %key))]
    pub async fn exists(&self, key: &str) -> Result<bool> {
        self.guard(async {
            match self.store.head(&Path::from(key)).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// The file an object is on local disk (`None` for S3 or a key that is not a path).
    pub fn local_path(&self, key: &str) -> Option<std::path::PathBuf> {
        self.local
            .as_ref()?
            .path_to_filesystem(&Path::from(key))
            .ok()
    }

    /// Reads bytes `start..end` (end exclusive) as a stream.
    #[tracing::instrument(name = "object_store get_range", skip_all, fields(key = %key))]
    pub async fn get_range(&self, key: &str, start: u64, end: u64) -> Result<RangeRead> {
        if let Some(local) = &self.local {
            let path = local.path_to_filesystem(&Path::from(key))?;
            return local_range(path, start, end).await;
        }
        let opts = GetOptions {
            range: Some(GetRange::Bounded(start..end)),
            ..Default::default()
        };
        let res = self
            .guard(async { Ok(self.store.get_opts(&Path::from(key), opts).await?) })
            .await?;
        let stream = res.into_stream().map(|r| r.map_err(Error::from)).boxed();
        Ok(RangeRead { stream })
    }

    /// Deletes an object; a missing object is not an error (deletes are idempotent).
    #[tracing::instrument(name = "object_store delete", skip_all, fields(key = %key))]
    pub async fn delete(&self, key: &str) -> Result<()> {
        self.guard(async {
            match self.store.delete(&Path::from(key)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// Objects under a prefix with their sizes and last-modified times (ms), oldest first.
    #[tracing::instrument(name = "object_store list", skip_all, fields(prefix = %prefix))]
    pub async fn list_sized(&self, prefix: &str) -> Result<Vec<(String, u64, i64)>> {
        let mut out = Vec::new();
        let mut s = self.store.list(Some(&Path::from(prefix)));
        while let Some(meta) = s.next().await {
            let meta = meta?;
            out.push((
                meta.location.to_string(),
                meta.size,
                meta.last_modified.timestamp_millis(),
            ));
        }
        out.sort_by(|a, b| (a.2, &a.0).cmp(&(b.2, &b.0)));
        Ok(out)
    }

    /// Keys under a prefix (used by tests and clean-up).
    #[tracing::instrument(name = "object_store list", skip_all, fields(prefix = %prefix))]
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut s = self.store.list(Some(&Path::from(prefix)));
        while let Some(meta) = s.next().await {
            out.push(meta?.location.to_string());
        }
        out.sort();
        Ok(out)
    }
}

/// Whether `e` comes from a disk with no room left (ENOSPC, or a disk quota), anywhere in
/// its chain of causes: the store's disk, or a temporary file's.
pub fn out_of_space(e: &Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>()
            && (io.kind() == std::io::ErrorKind::StorageFull
                || matches!(io.raw_os_error(), Some(28 | 122)))
        {
            return true;
        }
        cause = c.source();
    }
    false
}

/// Whether an error means the store did not answer.
fn is_outage(e: &Error) -> bool {
    use object_store::Error as O;
    match e {
        Error::Storage(
            O::NotFound { .. }
            | O::AlreadyExists { .. }
            | O::Precondition { .. }
            | O::NotModified { .. }
            | O::InvalidPath { .. }
            | O::NotSupported { .. }
            | O::NotImplemented,
        ) => false,
        Error::Storage(_) => true,
        _ => false,
    }
}

/// A ranged read of a local file in [`LOCAL_READ_CHUNK`] pieces, each read on the
/// blocking pool. The file is opened together with the first piece (a missing file is an
/// error before any response goes out, and costs no extra hop). (`object_store` reads
/// local files 8 KiB at a time, one blocking task each, which held streaming to a
/// fraction of what the disk and socket allow.)
async fn local_range(path: std::path::PathBuf, start: u64, end: u64) -> Result<RangeRead> {
    if start >= end {
        return Ok(RangeRead {
            stream: futures::stream::empty().boxed(),
        });
    }
    let (file, first) = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path)
            .map_err(|e| anyhow::anyhow!("open {}: {e}", path.display()))?;
        let first = read_piece(&file, start, end)?;
        Ok::<_, Error>((Arc::new(file), first))
    })
    .await
    .map_err(|e| anyhow::anyhow!("read task: {e}"))??;
    Ok(range_after(file, first, start, end))
}

/// A ranged read of a file already open (a scanned file, opened and checked by
/// the folders domain), as [`local_range`] reads one by name.
pub async fn open_file_range(file: Arc<std::fs::File>, start: u64, end: u64) -> Result<RangeRead> {
    if start >= end {
        return Ok(RangeRead {
            stream: futures::stream::empty().boxed(),
        });
    }
    let (file, first) = tokio::task::spawn_blocking(move || {
        let first = read_piece(&file, start, end)?;
        Ok::<_, Error>((file, first))
    })
    .await
    .map_err(|e| anyhow::anyhow!("read task: {e}"))??;
    Ok(range_after(file, first, start, end))
}

/// The stream of a ranged read whose first piece (from `start`) has been read.
fn range_after(file: Arc<std::fs::File>, first: Bytes, start: u64, end: u64) -> RangeRead {
    let after = start + first.len() as u64;
    let rest = futures::stream::try_unfold(after, move |pos| {
        let file = file.clone();
        async move {
            if pos >= end {
                return Ok::<_, Error>(None);
            }
            let piece = tokio::task::spawn_blocking(move || read_piece(&file, pos, end))
                .await
                .map_err(|e| anyhow::anyhow!("read task: {e}"))??;
            let next = pos + piece.len() as u64;
            Ok(Some((piece, next)))
        }
    });
    let stream = futures::stream::once(futures::future::ready(Ok(first)))
        .chain(rest)
        .boxed();
    RangeRead { stream }
}

/// Up to [`LOCAL_READ_CHUNK`] bytes of `file` from `pos` (not past `end`), read into a
/// fresh buffer that is never zeroed first (`read_to_end` fills spare capacity): one copy
/// out of the page cache.
fn read_piece(file: &std::fs::File, pos: u64, end: u64) -> Result<Bytes> {
    use std::io::{Read, Seek, SeekFrom};
    let len = (end - pos).min(LOCAL_READ_CHUNK);
    let mut reader = file;
    let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    reader
        .seek(SeekFrom::Start(pos))
        .and_then(|_| reader.take(len).read_to_end(&mut buf))
        .map_err(|e| anyhow::anyhow!("read: {e}"))?;
    if buf.is_empty() {
        // The file is shorter than the range asked for: end the body early rather than
        // spin (the length promised in the headers will not be met).
        return Err(anyhow::anyhow!("file ended before the range did").into());
    }
    Ok(Bytes::from(buf))
}

/// The origin browsers fetch presigned stream URLs from, when streams redirect there.
pub fn redirect_origin(config: &crate::Config) -> Option<String> {
    let s3 = config
        .storage
        .s3
        .as_ref()
        .filter(|_| config.storage.stream_redirect)?;
    match &s3.endpoint {
        Some(ep) => {
            let u = url::Url::parse(ep).ok()?;
            let origin = u.origin().ascii_serialization();
            if s3.path_style {
                Some(origin)
            } else {
                // Virtual-hosted style: the bucket is a subdomain of the endpoint.
                let host = u.host_str()?;
                let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
                Some(format!("{}://{}.{host}{port}", u.scheme(), s3.bucket))
            }
        }
        None => Some(format!(
            "https://{}.s3.{}.amazonaws.com",
            s3.bucket, s3.region
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    async fn read_all(storage: &Storage, key: &str, start: u64, end: u64) -> Result<Vec<u8>> {
        let mut read = storage.get_range(key, start, end).await?;
        let mut out = Vec::new();
        while let Some(piece) = read.stream.next().await {
            out.extend_from_slice(&piece?);
        }
        Ok(out)
    }

    /// Ranges of a local file come back byte for byte, across the pieces they are read
    /// in; a missing file fails before any byte, and a file shorter than the range asked
    /// for ends the body with an error instead of hanging.
    #[tokio::test]
    async fn local_ranges_read_exactly_the_bytes_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::local(dir.path()).unwrap();
        let len = (2 * LOCAL_READ_CHUNK + LOCAL_READ_CHUNK / 2) as usize;
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        storage
            .put("a/b.bin", Bytes::from(data.clone()))
            .await
            .unwrap();
        let len = len as u64;
        let chunk = LOCAL_READ_CHUNK;
        for (start, end) in [
            (0, len),
            (0, 1),
            (len - 1, len),
            (chunk - 3, 2 * chunk + 5),
            (chunk, 2 * chunk),
            (17, 17 + chunk),
        ] {
            let got = read_all(&storage, "a/b.bin", start, end).await.unwrap();
            assert_eq!(got.len() as u64, end - start, "{start}..{end}");
            assert!(got == data[start as usize..end as usize], "{start}..{end}");
        }
        assert!(storage.get_range("a/missing.bin", 0, 10).await.is_err());
        assert!(
            read_all(&storage, "a/b.bin", len - 10, len + 10)
                .await
                .is_err()
        );
    }
}
