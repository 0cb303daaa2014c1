//! Keeps each piece of static data in a data segment of its own when linking the WASM
//! client. the build program's splitter (`xtask site`) moves a data segment into a page's chunk only when that
//! chunk alone uses it; wasm-ld's default merges them into a few large segments, and then
//! one merged segment used by several pages kept every page's text in the main module
//! (112 KB more of it after a change elsewhere: 80 KB of data became 192 KB).
fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-cdylib-link-arg=--no-merge-data-segments");
    }
}
