# Sourced by the other scripts: a build directory that survives fresh clones, and tools.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/refrain-target}"
export PATH="$HOME/.cargo/bin:$HOME/.cache/refrain-tools/node_modules/.bin:$PATH"
