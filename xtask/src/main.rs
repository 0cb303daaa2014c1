//! Refrain's build program: `xtask site` builds the web client the server hands to browsers.
//!
//! It does what cargo-leptos's `build --release --split --precompress` did for this
//! workspace, with the libraries cargo-leptos itself calls, so that neither cargo-leptos
//! nor the wasm-bindgen CLI has to be compiled on a new machine (36 of the 72 minutes
//! `scripts/run.sh` once took there):
//!
//! 1. `cargo build -p frontend` for `wasm32-unknown-unknown` (profile `wasm-release`, views
//!    type-erased, relocations kept for the splitter);
//! 2. the WASM splitter moves each lazily loaded page into a chunk of its own;
//! 3. wasm-bindgen writes the JS glue for the main module;
//! 4. `wasm-opt -Oz` (binaryen from npm, see scripts/setup.sh) shrinks every module;
//! 5. lightningcss minifies `style/main.css` for the browsers we support;
//! 6. every file of `pkg/` gets the build's hash in its name ([`names`]), and `hash.txt`
//!    tells the server (Leptos's `HydrationScripts` and `HashedStylesheet`) those names;
//! 7. `public/` is copied in, and every file gets a brotli and a gzip twin ([`compress`]),
//!    which the server sends to browsers that accept them.
//!
//! The site is built beside the old one and moved into place at the end, so a failed build
//! leaves the last good site where it was.
//!
//! What it does not do that cargo-leptos did: minify the JS glue (that needed swc, the
//! largest part of cargo-leptos's build). The glue is 3% of the client's bytes and is sent
//! compressed; see the README's numbers.

mod compress;
mod css;
mod names;

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The name Leptos knows the client by (`LeptosOptions::output_name`, server/src/lib.rs).
const OUTPUT_NAME: &str = "refrain";

fn main() {
    if let Err(e) = run() {
        eprintln!("xtask: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("site") => {
            let mut site = Site::new()?;
            for flag in &args[1..] {
                match flag.as_str() {
                    "--no-wasm-opt" => site.wasm_opt = false,
                    other => bail!("unknown flag {other} (see `xtask help`)"),
                }
            }
            site.build()
        }
        Some("help") | None => {
            println!(
                "xtask site [--no-wasm-opt]\n  builds the web client into target/site \
                 (REFRAIN_SITE_ROOT overrides), using CARGO_TARGET_DIR for the WASM build"
            );
            Ok(())
        }
        Some(other) => bail!("unknown command {other} (see `xtask help`)"),
    }
}

struct Site {
    /// The workspace (the current directory: scripts/build.sh runs from there).
    root: PathBuf,
    /// Where the finished site goes.
    site_root: PathBuf,
    /// The WASM build's own target folder (its flags differ from the server's, so sharing
    /// one would rebuild the crates both use on every switch).
    front_target: PathBuf,
    wasm_opt: bool,
}

impl Site {
    fn new() -> Result<Site> {
        let root = std::env::current_dir()?;
        if !root.join("frontend/Cargo.toml").is_file() {
            bail!("run xtask from the workspace root (no frontend/Cargo.toml here)");
        }
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let site_root = std::env::var_os("REFRAIN_SITE_ROOT")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target/site"));
        Ok(Site {
            root,
            site_root,
            front_target: target.join("front"),
            wasm_opt: true,
        })
    }

    fn build(&self) -> Result<()> {
        let started = std::time::Instant::now();
        let wasm = self.cargo_build()?;
        let new_site = self.site_root.with_extension("new");
        if new_site.exists() {
            std::fs::remove_dir_all(&new_site)?;
        }
        let pkg = new_site.join("pkg");
        std::fs::create_dir_all(&pkg)?;

        step("splitting the client into page chunks");
        let input = std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))?;
        let main_wasm = self.front_target.join(format!("{OUTPUT_NAME}_split.wasm"));
        let main_module = format!("./{OUTPUT_NAME}.js");
        let split = wasm_split_cli_support::transform({
            let mut opts = wasm_split_cli_support::Options::new(&input);
            opts.output_dir = &pkg;
            opts.main_out_path = &main_wasm;
            opts.main_module = &main_module;
            opts.link_name = names::SPLIT_LOADER_PLACEHOLDER_PATH;
            opts
        })
        .map_err(|e| anyhow::anyhow!("splitting the WASM: {e:#}"))?;
        drop(input);
        std::fs::write(
            pkg.join(names::SPLIT_MANIFEST),
            serde_json::to_string(&split.prefetch_map)?,
        )?;
        let mut modules = split.split_modules.clone();

        step("wasm-bindgen");
        wasm_bindgen_cli_support::Bindgen::new()
            .input_path(&main_wasm)
            .web(true)?
            .out_name(OUTPUT_NAME)
            // The splitter's chunks link against these exports of the main module.
            .keep_lld_exports(true)
            .demangle(false)
            .typescript(false)
            .generate(&pkg)
            .context("wasm-bindgen")?;
        // Leptos asks for `<name>.wasm`; wasm-bindgen writes `<name>_bg.wasm`.
        let main_out = pkg.join(format!("{OUTPUT_NAME}.wasm"));
        std::fs::rename(pkg.join(format!("{OUTPUT_NAME}_bg.wasm")), &main_out)?;
        modules.push(main_out);

        if self.wasm_opt {
            step("wasm-opt -Oz");
            wasm_opt_all(&modules)?;
        }

        step("stylesheet");
        let css = std::fs::read_to_string(self.root.join("style/main.css"))
            .context("reading style/main.css")?;
        std::fs::write(
            pkg.join(format!("{OUTPUT_NAME}.css")),
            css::minify("style/main.css", &css)?,
        )?;

        step("hashed names");
        let hash = names::hash_names(&pkg, OUTPUT_NAME)?;
        std::fs::write(new_site.join("hash.txt"), names::hash_txt(&hash))?;

        step("public files");
        copy_dir(&self.root.join("public"), &new_site)?;

        step("brotli and gzip");
        compress::all(&new_site)?;

        if self.site_root.exists() {
            std::fs::remove_dir_all(&self.site_root)
                .with_context(|| format!("removing the old {}", self.site_root.display()))?;
        }
        std::fs::rename(&new_site, &self.site_root)?;
        step(&format!(
            "site ready in {} ({} s)",
            self.site_root.display(),
            started.elapsed().as_secs()
        ));
        Ok(())
    }

    /// The client's release build; returns the WASM file it wrote.
    fn cargo_build(&self) -> Result<PathBuf> {
        step("cargo build -p frontend (wasm32-unknown-unknown, profile wasm-release)");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(&self.root)
            .args([
                "build",
                "--package=frontend",
                "--lib",
                "--target=wasm32-unknown-unknown",
                "--profile=wasm-release",
                "--no-default-features",
            ])
            .arg("--target-dir")
            .arg(&self.front_target)
            // Views type-erased as in debug builds (28% less code before compression), and
            // relocations kept so the splitter can move functions between modules.
            .env(
                "RUSTFLAGS",
                "--cfg erase_components -Clink-args=--emit-relocs",
            )
            .status()
            .context("running cargo")?;
        if !status.success() {
            bail!("the client's build failed ({status})");
        }
        Ok(self
            .front_target
            .join("wasm32-unknown-unknown/wasm-release/frontend.wasm"))
    }
}

fn step(what: &str) {
    println!("==> xtask: {what}");
}

/// `wasm-opt -Oz` on every module, as many at once as there are cores. Its output is shown
/// only when it fails (it warns about every module's name section, which it cannot read).
fn wasm_opt_all(modules: &[PathBuf]) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..cores)
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(m) = modules.get(i) else {
                            return Ok(());
                        };
                        let out = Command::new("wasm-opt")
                            .args([
                                "-Oz",
                                "--enable-bulk-memory",
                                "--enable-nontrapping-float-to-int",
                            ])
                            .arg(m)
                            .arg("-o")
                            .arg(m)
                            .output()
                            .context(
                                "running wasm-opt (binaryen 132 from npm: scripts/setup.sh)",
                            )?;
                        if !out.status.success() {
                            bail!(
                                "wasm-opt failed on {} ({}):\n{}",
                                m.display(),
                                out.status,
                                String::from_utf8_lossy(&out.stderr)
                            );
                        }
                    }
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join()
                .map_err(|_| anyhow::anyhow!("a wasm-opt thread panicked"))?
        })
    })
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}
