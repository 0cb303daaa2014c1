# Sourced by the other scripts: a build directory that survives fresh clones, and tools.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/refrain-target}"
export PATH="$HOME/.cargo/bin:$HOME/.cache/refrain-tools/node_modules/.bin:$PATH"
# No incremental build data: it grew past 20 GB here and filled the disk; a CI run
# builds each crate once anyway.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
