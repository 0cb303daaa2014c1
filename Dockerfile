# Multi-stage build of both binaries (refrain, refrain-worker). (No Docker engine runs on the development
# machines; this mirrors scripts/run.sh step by step.)
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm cmake libcurl4-openssl-dev \
    libsasl2-dev libssl-dev zlib1g-dev libzstd-dev && rm -rf /var/lib/apt/lists/*
RUN rustup target add wasm32-unknown-unknown \
 && CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 cargo install cargo-leptos --version 0.3.10 --locked
WORKDIR /src
COPY . .
RUN WBG=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock) \
 && cargo install wasm-bindgen-cli --version "$WBG" \
 && mkdir -p /tools && cd /tools && npm install binaryen@132
RUN PATH=/tools/node_modules/.bin:$PATH cargo leptos build --release --split --precompress \
 && cargo build --release -p worker --bin refrain-worker \
 && cp target/release/hash.txt target/site/hash.txt

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg ca-certificates curl libcurl4 libsasl2-2 \
 && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 --home /data refrain \
 && mkdir -p /data && chown refrain /data
COPY --from=build /src/target/release/refrain /usr/local/bin/refrain
COPY --from=build /src/target/release/refrain-worker /usr/local/bin/refrain-worker
COPY --from=build /src/target/site /srv/refrain/site
ENV REFRAIN_SITE_ROOT=/srv/refrain/site REFRAIN_DATA_DIR=/data REFRAIN_HOST=0.0.0.0
USER refrain
EXPOSE 3000
CMD ["refrain"]
