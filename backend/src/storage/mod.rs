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
}

/// How much a local ranged read reads at a time: large enough that a whole stream
/// segment is one read and one write, small enough to bound the memory of 64 streams.
const LOCAL_READ_CHUNK: u64 = 512 * 1024;

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
        })
    }

    /// S3-compatible storage; uploads go up as multipart streams.
    pub fn s3(c: &crate::config::S3Config) -> Result<Self> {
        let mut b = object_store::aws::AmazonS3Builder::new()
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
        })
    }

    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// A presigned GET URL for `key`, valid for `expires`; `None` for local storage.
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
    pub async fn put_stream<S, E>(&self, key: &str, mut body: S, limit: u64) -> Result<u64>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let upload = self.store.put_multipart(&Path::from(key)).await?;
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
        writer.finish().await?;
        Ok(total)
    }

    pub async fn put(&self, key: &str, data: Bytes) -> Result<()> {
        self.store
            .put(&Path::from(key), PutPayload::from_bytes(data))
            .await?;
        Ok(())
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
    pub async fn download(&self, key: &str, to: &std::path::Path) -> Result<u64> {
        use tokio::io::AsyncWriteExt;
        let mut stream = self.store.get(&Path::from(key)).await?.into_stream();
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

    pub async fn get_bytes(&self, key: &str) -> Result<Bytes> {
        Ok(self.store.get(&Path::from(key)).await?.bytes().await?)
    }

    pub async fn size(&self, key: &str) -> Result<u64> {
        Ok(self.store.head(&Path::from(key)).await?.size)
    }

    pub async fn exists(&self, key: &str) -> Result<bool> {
        match self.store.head(&Path::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads bytes `start..end` (end exclusive) as a stream.
    pub async fn get_range(&self, key: &str, start: u64, end: u64) -> Result<RangeRead> {
        if let Some(local) = &self.local {
            let path = local.path_to_filesystem(&Path::from(key))?;
            return local_range(path, start, end).await;
        }
        let opts = GetOptions {
            range: Some(GetRange::Bounded(start..end)),
            ..Default::default()
        };
        let res = self.store.get_opts(&Path::from(key), opts).await?;
        let stream = res.into_stream().map(|r| r.map_err(Error::from)).boxed();
        Ok(RangeRead { stream })
    }

    /// Deletes an object; a missing object is not an error (deletes are idempotent).
    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Keys under a prefix (used by tests and clean-up).
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

/// A ranged read of a local file in [`LOCAL_READ_CHUNK`] pieces, each one positioned read
/// on the blocking pool. (`object_store` reads local files 8 KiB at a time, one blocking
/// task each, which held streaming to a fraction of what the disk and socket allow.)
async fn local_range(path: std::path::PathBuf, start: u64, end: u64) -> Result<RangeRead> {
    use std::os::unix::fs::FileExt;
    let file = tokio::task::spawn_blocking({
        let path = path.clone();
        move || std::fs::File::open(&path)
    })
    .await
    .map_err(|e| anyhow::anyhow!("open task: {e}"))?
    .map_err(|e| anyhow::anyhow!("open {}: {e}", path.display()))?;
    let file = Arc::new(file);
    let stream = futures::stream::try_unfold(start, move |pos| {
        let file = file.clone();
        async move {
            if pos >= end {
                return Ok::<_, Error>(None);
            }
            let len = (end - pos).min(LOCAL_READ_CHUNK);
            let chunk = tokio::task::spawn_blocking(move || {
                let mut buf = vec![0u8; usize::try_from(len).unwrap_or(0)];
                let mut filled = 0;
                while filled < buf.len() {
                    match file.read_at(&mut buf[filled..], pos + filled as u64) {
                        Ok(0) => break,
                        Ok(n) => filled += n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                buf.truncate(filled);
                Ok(buf)
            })
            .await
            .map_err(|e| anyhow::anyhow!("read task: {e}"))?
            .map_err(|e| anyhow::anyhow!("read: {e}"))?;
            if chunk.is_empty() {
                // The file is shorter than the range asked for: end the body early rather
                // than spin (the length promised in the headers will not be met).
                return Err(anyhow::anyhow!("file ended before the range did").into());
            }
            let next = pos + chunk.len() as u64;
            Ok(Some((Bytes::from(chunk), next)))
        }
    })
    .boxed();
    Ok(RangeRead { stream })
}

/// The origin browsers fetch presigned stream URLs from, when streams redirect there.
pub fn redirect_origin(config: &crate::Config) -> Option<String> {
    let s3 = config.s3.as_ref().filter(|_| config.stream_redirect)?;
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
