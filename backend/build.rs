//! Rebuilds this crate when a migration is added or changed: `sqlx::migrate!` embeds the
//! migrations at compile time, and cargo does not watch the folders it reads on its own.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
