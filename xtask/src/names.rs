//! Hashed names for the files of `pkg/`, so browsers may keep them for a year
//! (server/src/security.rs sends `immutable` for `/pkg/`).
//!
//! The files refer to each other in a circle: the main JS imports the chunk loader, the
//! loader imports the main JS, and every WASM module imports the loader by name. A hash of
//! each file's own bytes cannot be written into a file it is part of, so the whole `pkg/`
//! gets one hash: that of every file's name and bytes before renaming. A build that changes
//! any file gives every file a new name; one that changes nothing gives the same names.
//!
//! The splitter writes the loader's name into the WASM modules as
//! `__wasm_split.` + 22 underscores + `.js`; the hash is 22 characters too, so the binary
//! modules are patched in place without moving a byte.

use anyhow::{Context, Result, bail};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// What the splitter calls the chunk loader until the hash is known.
pub const SPLIT_LOADER_PLACEHOLDER: &str = "__wasm_split.______________________.js";
/// The same, as the splitter's `link_name` (relative to `pkg/`).
pub const SPLIT_LOADER_PLACEHOLDER_PATH: &str = "./__wasm_split.______________________.js";
/// Which chunks each lazily loaded page needs (Leptos prefetches them).
pub const SPLIT_MANIFEST: &str = "__wasm_split_manifest.json";
const HASH_LEN: usize = 22;

/// Gives every file directly in `pkg` the build's hash in its name, rewrites the references
/// between them, and returns the hash. Sub-folders (wasm-bindgen's `snippets/`) keep their
/// names: the main JS imports them by path; they count towards the hash.
pub fn hash_names(pkg: &Path, output_name: &str) -> Result<String> {
    let hash = build_hash(pkg)?;
    let mut renamed = BTreeMap::new(); // old file name -> new file name
    for entry in std::fs::read_dir(pkg)? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let old = entry.file_name().into_string().map_err(|n| {
            anyhow::anyhow!(
                "a file name that is not UTF-8 in pkg/: {}",
                n.to_string_lossy()
            )
        })?;
        renamed.insert(old.clone(), hashed_name(&old, &hash)?);
    }
    for name in [
        format!("{output_name}.js"),
        format!("{output_name}.wasm"),
        SPLIT_LOADER_PLACEHOLDER.to_string(),
        SPLIT_MANIFEST.to_string(),
    ] {
        if !renamed.contains_key(&name) {
            bail!("the build wrote no pkg/{name}");
        }
    }
    let loader = renamed[SPLIT_LOADER_PLACEHOLDER].clone();

    for (old, new) in &renamed {
        let path = pkg.join(old);
        let bytes = std::fs::read(&path)?;
        let bytes = if old.ends_with(".wasm") {
            replace_bytes(
                &bytes,
                SPLIT_LOADER_PLACEHOLDER.as_bytes(),
                loader.as_bytes(),
            )?
        } else if old.ends_with(".js") {
            rewrite_js(&String::from_utf8(bytes)?, &renamed).into_bytes()
        } else if old == SPLIT_MANIFEST {
            rewrite_manifest(&String::from_utf8(bytes)?, &renamed)?.into_bytes()
        } else {
            bytes
        };
        if contains(&bytes, SPLIT_LOADER_PLACEHOLDER.as_bytes()) {
            bail!("pkg/{old} still names the loader by its placeholder");
        }
        std::fs::write(pkg.join(new), bytes)?;
        std::fs::remove_file(&path).with_context(|| format!("removing pkg/{old}"))?;
    }
    Ok(hash)
}

/// `hash.txt`, in the form Leptos's `HydrationScripts` and `HashedStylesheet` read: every
/// file of the build carries the same hash.
pub fn hash_txt(hash: &str) -> String {
    ["js", "wasm", "css", "manifest", "split"]
        .iter()
        .map(|kind| format!("{kind}: {hash}\n"))
        .collect()
}

/// The hash of every file under `pkg` (names and bytes, in a fixed order), 22 characters of
/// URL-safe base64.
fn build_hash(pkg: &Path) -> Result<String> {
    let mut files = Vec::new();
    collect(pkg, pkg, &mut files)?;
    files.sort();
    let mut hasher = Sha256::new();
    for rel in files {
        let bytes = std::fs::read(pkg.join(&rel))?;
        hasher.update(rel.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    let digest = hasher.finalize();
    let hash = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16]);
    debug_assert_eq!(hash.len(), HASH_LEN);
    Ok(hash)
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else {
            out.push(path.strip_prefix(root)?.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

/// `stem.ext` -> `stem.HASH.ext`; the loader's placeholder is replaced by the hash.
fn hashed_name(name: &str, hash: &str) -> Result<String> {
    if name == SPLIT_LOADER_PLACEHOLDER {
        return Ok(name.replace("______________________", hash));
    }
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => Ok(format!("{stem}.{hash}.{ext}")),
        _ => bail!("pkg/{name} has no extension"),
    }
}

/// References in the JS glue and the loader are module paths in quotes: `"./name"` or
/// `'./name'`. Only those are rewritten, so `chunk_1.wasm` never touches `chunk_10.wasm`.
fn rewrite_js(js: &str, renamed: &BTreeMap<String, String>) -> String {
    let mut out = js.to_string();
    for (old, new) in renamed {
        for q in ['"', '\''] {
            out = out.replace(&format!("{q}./{old}{q}"), &format!("{q}./{new}{q}"));
        }
    }
    out
}

/// The manifest maps each page to the file stems of the chunks it needs.
fn rewrite_manifest(json: &str, renamed: &BTreeMap<String, String>) -> Result<String> {
    let stems: BTreeMap<&str, &str> = renamed
        .iter()
        .filter_map(|(old, new)| Some((old.strip_suffix(".wasm")?, new.strip_suffix(".wasm")?)))
        .collect();
    let mut manifest: BTreeMap<String, Vec<String>> =
        serde_json::from_str(json).context("reading the split manifest")?;
    for chunks in manifest.values_mut() {
        for stem in chunks.iter_mut() {
            match stems.get(stem.as_str()) {
                Some(new) => *stem = (*new).to_string(),
                None => bail!("the split manifest names a chunk the build did not write: {stem}"),
            }
        }
    }
    Ok(serde_json::to_string(&manifest)?)
}

fn replace_bytes(hay: &[u8], from: &[u8], to: &[u8]) -> Result<Vec<u8>> {
    if from.len() != to.len() {
        bail!("a WASM module can only be patched with a name of the same length");
    }
    let mut out = hay.to_vec();
    let mut i = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
    Ok(out)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unwrap_used)]
    fn write(dir: &Path, name: &str, body: &[u8]) {
        std::fs::write(dir.join(name), body).unwrap();
    }

    #[allow(clippy::unwrap_used)]
    fn read(dir: &Path, name: &str) -> String {
        String::from_utf8_lossy(&std::fs::read(dir.join(name)).unwrap()).into_owned()
    }

    /// A `pkg/` shaped like the splitter's and wasm-bindgen's output.
    #[allow(clippy::unwrap_used)]
    fn pkg() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        write(
            p,
            "refrain.js",
            b"import * as l from './__wasm_split.______________________.js';\n\
              import { x } from './snippets/a/inline0.js';\n",
        );
        write(
            p,
            "refrain.wasm",
            b"\0asm..\x26./__wasm_split.______________________.js..",
        );
        write(
            p,
            "chunk_1.wasm",
            b"\0asm..__wasm_split.______________________.js",
        );
        write(
            p,
            "chunk_10.wasm",
            b"\0asm..__wasm_split.______________________.js",
        );
        write(
            p,
            SPLIT_LOADER_PLACEHOLDER,
            b"import { initSync } from \"./refrain.js\";\n\
              fetch(new URL(\"./chunk_1.wasm\", import.meta.url));\n\
              fetch(new URL(\"./chunk_10.wasm\", import.meta.url));\n",
        );
        write(p, SPLIT_MANIFEST, br#"{"settings":["chunk_1","chunk_10"]}"#);
        write(p, "refrain.css", b"a{color:red}");
        std::fs::create_dir_all(p.join("snippets/a")).unwrap();
        write(&p.join("snippets/a"), "inline0.js", b"export const x = 1;");
        dir
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn every_file_carries_the_hash_and_every_reference_follows() {
        let dir = pkg();
        let p = dir.path();
        let h = hash_names(p, "refrain").unwrap();
        assert_eq!(h.len(), 22);
        let loader = format!("__wasm_split.{h}.js");
        for name in ["refrain", "chunk_1", "chunk_10"] {
            let wasm = read(p, &format!("{name}.{h}.wasm"));
            assert!(wasm.contains(&loader), "{name}: {wasm}");
            assert!(!p.join(format!("{name}.wasm")).exists());
        }
        let main = read(p, &format!("refrain.{h}.js"));
        assert!(main.contains(&format!("'./{loader}'")), "{main}");
        assert!(
            main.contains("'./snippets/a/inline0.js'"),
            "snippets keep their names"
        );
        let l = read(p, &loader);
        assert!(l.contains(&format!("\"./refrain.{h}.js\"")), "{l}");
        assert!(l.contains(&format!("\"./chunk_1.{h}.wasm\"")), "{l}");
        assert!(l.contains(&format!("\"./chunk_10.{h}.wasm\"")), "{l}");
        let manifest = read(p, &format!("__wasm_split_manifest.{h}.json"));
        assert_eq!(
            manifest,
            format!(r#"{{"settings":["chunk_1.{h}","chunk_10.{h}"]}}"#)
        );
        assert_eq!(read(p, &format!("refrain.{h}.css")), "a{color:red}");
        assert_eq!(read(p, "snippets/a/inline0.js"), "export const x = 1;");
        assert_eq!(
            hash_txt(&h),
            format!("js: {h}\nwasm: {h}\ncss: {h}\nmanifest: {h}\nsplit: {h}\n")
        );
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn the_hash_follows_the_bytes_and_only_them() {
        let (a, b, c) = (pkg(), pkg(), pkg());
        write(
            &c.path().join("snippets/a"),
            "inline0.js",
            b"export const x = 2;",
        );
        let (ha, hb, hc) = (
            hash_names(a.path(), "refrain").unwrap(),
            hash_names(b.path(), "refrain").unwrap(),
            hash_names(c.path(), "refrain").unwrap(),
        );
        assert_eq!(ha, hb, "the same files, the same names");
        assert_ne!(ha, hc, "a changed snippet changes every name");
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn a_manifest_naming_a_missing_chunk_fails_the_build() {
        let dir = pkg();
        write(dir.path(), SPLIT_MANIFEST, br#"{"settings":["chunk_2"]}"#);
        let err = hash_names(dir.path(), "refrain").unwrap_err().to_string();
        assert!(err.contains("chunk_2"), "{err}");
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn a_missing_main_module_fails_the_build() {
        let dir = pkg();
        std::fs::remove_file(dir.path().join("refrain.wasm")).unwrap();
        let err = hash_names(dir.path(), "refrain").unwrap_err().to_string();
        assert!(err.contains("refrain.wasm"), "{err}");
    }

    /// The JS glue must come from the wasm-bindgen the client links: the two share a
    /// schema, and a glue of another version fails when the page loads.
    #[test]
    #[allow(clippy::unwrap_used)]
    fn the_glue_generator_matches_the_wasm_bindgen_crate() {
        let lock =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).unwrap();
        let version = |name: &str| {
            lock.split("[[package]]")
                .find(|p| p.contains(&format!("name = \"{name}\"\n")))
                .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = ")))
                .map(|v| v.trim_matches('"').to_string())
        };
        assert_eq!(version("wasm-bindgen"), version("wasm-bindgen-cli-support"));
        assert!(version("wasm-bindgen").is_some());
    }
}
