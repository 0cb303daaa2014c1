# Sourced by the other scripts: a build directory that survives fresh clones, and tools.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/refrain-target}"
export PATH="$HOME/.cargo/bin:$HOME/.cache/refrain-tools/node_modules/.bin:$PATH"
# No incremental build data: it grew past 20 GB here and filled the disk; a CI run
# builds each crate once anyway.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# The server's release build passes this flag (views type-erased, as in the client); other
# release builds (the build program, the bench examples) pass it too, so the dependencies they share with
# the server are compiled once, not once per set of flags (ten minutes on two cores).
release_flags() { RUSTFLAGS="--cfg erase_components" "$@"; }
# Benchmarks drive one server hard from 127.0.0.1: its per-client limits would measure
# themselves instead of the server.
limits_off() {
  export REFRAIN_RATE_LIMIT=0 REFRAIN_RATE_LIMIT_SEARCH=0 REFRAIN_RATE_LIMIT_UPLOADS=0
  export REFRAIN_RATE_LIMIT_URL_IMPORTS=0 REFRAIN_RATE_LIMIT_IMAGES=0
  export REFRAIN_MAX_CONNECTIONS_PER_CLIENT=100000 REFRAIN_MAX_CONNECTIONS=100000
}
