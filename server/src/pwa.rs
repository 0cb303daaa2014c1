//! The installable app: the service worker script, made for the build being served.
//!
//! The worker precaches the app shell of one build (every built file under `/pkg/`, the
//! icons, the manifest and the offline page) in a cache named after that build's version,
//! a digest of those files. A new deploy is a new version: its worker installs beside the
//! old one and waits, the page offers "A new version is ready", and on reload it takes
//! over and deletes the old shell, so no page ever runs files of two builds. Pages and
//! server functions are never cached by it (they carry the signed-in user's data); when a
//! page cannot be fetched, the offline page (the app's `/offline` route, which lists what
//! this browser has downloaded and plays it) answers instead of the browser's error page.
//! Cover thumbnails of downloaded tracks are answered from the downloads' cache
//! (`app::offline`) when the network cannot answer.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::hash::{Hash, Hasher};
use std::path::Path;

/// The public files of the shell besides the build's `/pkg/` folder.
const PUBLIC: &[&str] = &[
    "/manifest.webmanifest",
    "/favicon.svg",
    "/icons/icon-192.png",
    "/icons/icon-512.png",
    "/icons/maskable-512.png",
];

/// The offline page (rendered by the app; cached here).
pub const OFFLINE_PATH: &str = "/offline";

/// The service worker of the files in `site_root`.
#[derive(Clone, Debug)]
pub struct ServiceWorker {
    script: String,
}

impl ServiceWorker {
    /// Reads the build in `site_root` (its `pkg` folder and the public files that exist):
    /// their paths for the precache list, their contents for the version.
    pub fn for_site(site_root: &Path) -> ServiceWorker {
        let mut files: Vec<String> = Vec::new();
        let pkg = site_root.join("pkg");
        let mut stack = vec![pkg.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let path = e.path();
                if path.is_dir() {
                    stack.push(path);
                } else if !matches!(path.extension().and_then(|x| x.to_str()), Some("br" | "gz"))
                    && let Ok(rel) = path.strip_prefix(site_root)
                {
                    files.push(format!("/{}", rel.to_string_lossy()));
                }
            }
        }
        files.extend(
            PUBLIC
                .iter()
                .filter(|p| site_root.join(&p[1..]).is_file())
                .map(|p| p.to_string()),
        );
        files.sort();
        let mut hasher = std::hash::DefaultHasher::new();
        for f in &files {
            f.hash(&mut hasher);
            std::fs::read(site_root.join(&f[1..]))
                .unwrap_or_default()
                .hash(&mut hasher);
        }
        let version = format!("{:016x}", hasher.finish());
        files.push(OFFLINE_PATH.to_string());
        let list = serde_json::to_string(&files).unwrap_or_else(|_| "[]".into());
        let script = include_str!("sw.js")
            .replace("\"__VERSION__\"", &format!("\"{version}\""))
            .replace("[] /* __PRECACHE__ */", &list)
            .replace("\"__OFFLINE__\"", &format!("\"{OFFLINE_PATH}\""))
            .replace(
                "\"__MEDIA__\"",
                &format!("\"{}\"", app::offline::MEDIA_CACHE),
            );
        ServiceWorker { script }
    }

    /// `GET /sw.js`: never cached by the browser's HTTP cache, so a deploy is seen on the
    /// next check.
    pub fn response(&self) -> Response {
        let mut res = self.script.clone().into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/javascript; charset=utf-8"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worker's version (as its script says) and script.
    fn script(site: &Path) -> (String, String) {
        let js = ServiceWorker::for_site(site).script;
        let version = js
            .split_once("const VERSION = \"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(v, _)| v.to_string())
            .expect("a VERSION line");
        (version, js)
    }

    #[test]
    fn the_worker_precaches_the_build_and_is_named_by_its_contents() {
        let site = tempfile::tempdir().unwrap();
        let root = site.path();
        std::fs::create_dir_all(root.join("pkg/chunks")).unwrap();
        std::fs::create_dir_all(root.join("icons")).unwrap();
        std::fs::write(root.join("pkg/refrain.abc.js"), "js").unwrap();
        std::fs::write(root.join("pkg/refrain.abc.js.br"), "br").unwrap();
        std::fs::write(root.join("pkg/refrain.abc.js.gz"), "gz").unwrap();
        std::fs::write(root.join("pkg/refrain.abc.css"), "css").unwrap();
        std::fs::write(root.join("pkg/chunks/page.wasm"), "wasm").unwrap();
        std::fs::write(root.join("icons/icon-192.png"), "png").unwrap();
        std::fs::write(root.join("manifest.webmanifest"), "{}").unwrap();
        let (v1, js) = script(root);
        assert!(js.contains(&format!("const VERSION = \"{v1}\";")), "{js}");
        // Built files (not their compressed twins), the public files that exist, and the
        // offline page; nothing else.
        assert!(js.contains(
            r#"const PRECACHE = ["/icons/icon-192.png","/manifest.webmanifest","/pkg/chunks/page.wasm","/pkg/refrain.abc.css","/pkg/refrain.abc.js","/offline"];"#
        ), "{js}");
        assert!(!js.contains("__"), "a placeholder was left: {js}");
        assert_eq!(script(root).0, v1, "the same files, the same version");
        // A public file without a hash in its name changes: a new version all the same.
        std::fs::write(root.join("icons/icon-192.png"), "new png").unwrap();
        assert_ne!(script(root).0, v1);
    }
}
