//! A brotli and a gzip twin beside every file of the site, at the strongest settings
//! (done once per build; the server's `ServeDir` sends whichever the browser accepts).

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

pub fn all(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            all(&path)?;
            continue;
        }
        let name = path.to_string_lossy().into_owned();
        if name.ends_with(".br") || name.ends_with(".gz") || name.ends_with("hash.txt") {
            continue;
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {name}"))?;
        std::fs::write(format!("{name}.br"), brotli(&bytes)?)?;
        std::fs::write(format!("{name}.gz"), gzip(&bytes)?)?;
    }
    Ok(())
}

fn brotli(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        // quality 11, window 2^22: what `brotli -9`'s big brother writes for static files.
        let mut w = brotli::CompressorWriter::new(&mut out, 64 * 1024, 11, 22);
        w.write_all(bytes)?;
        w.flush()?;
    }
    Ok(out)
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    w.write_all(bytes)?;
    Ok(w.finish()?)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    #[test]
    #[allow(clippy::unwrap_used)]
    fn twins_unpack_to_the_original() {
        let dir = tempfile::tempdir().unwrap();
        let body = "body { color: red; }\n".repeat(200);
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("pkg/a.css"), &body).unwrap();
        std::fs::write(dir.path().join("hash.txt"), "css: x\n").unwrap();
        super::all(dir.path()).unwrap();
        let br = std::fs::read(dir.path().join("pkg/a.css.br")).unwrap();
        let gz = std::fs::read(dir.path().join("pkg/a.css.gz")).unwrap();
        assert!(br.len() < body.len() / 10 && gz.len() < body.len() / 10);
        let mut unbr = String::new();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_string(&mut unbr)
            .unwrap();
        let mut ungz = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut ungz)
            .unwrap();
        assert_eq!(
            (unbr.as_str(), ungz.as_str()),
            (body.as_str(), body.as_str())
        );
        assert!(!dir.path().join("hash.txt.br").exists());
    }
}
