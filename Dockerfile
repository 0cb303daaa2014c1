# Multi-stage build of both binaries (refrain, refrain-worker). (No Docker engine runs on the development
# machines; this mirrors scripts/run.sh step by step.)
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm cmake libcurl4-openssl-dev \
    libsasl2-dev libssl-dev zlib1g-dev libzstd-dev && rm -rf /var/lib/apt/lists/*
RUN rustup target add wasm32-unknown-unknown \
 && mkdir -p /tools && cd /tools && npm install binaryen@132
WORKDIR /src
COPY . .
# The server, the worker and the web client (xtask/ builds the client; hash.txt lands in
# the site root, where the server reads it).
RUN PATH=/tools/node_modules/.bin:$PATH CARGO_TARGET_DIR=/src/target scripts/build.sh worker

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
