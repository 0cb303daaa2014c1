# Sourced by the other scripts: a build directory that survives fresh clones, and tools.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/refrain-target}"
export PATH="$HOME/.cargo/bin:$HOME/.cache/refrain-tools/node_modules/.bin:$PATH"
# No incremental build data: it grew past 20 GB here and filled the disk; a CI run
# builds each crate once anyway.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# cargo-leptos builds the server with this flag (always-erase-components); other release
# builds (the worker, the bench examples) pass it too, so the dependencies they share with
# the server are compiled once, not once per set of flags (ten minutes on two cores).
release_flags() { RUSTFLAGS="--cfg erase_components" "$@"; }
