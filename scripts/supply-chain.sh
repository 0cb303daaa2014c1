#!/usr/bin/env bash
# `cargo deny check`: known advisories (from the vendored snapshot in
# supply-chain/advisory-db: the RustSec database is on GitHub, which these machines cannot
# reach), licenses, duplicate and wildcard dependencies, and sources (deny.toml). Then the
# same advisories check on supply-chain/fixture, which pins a version with a known
# advisory: it must fail, so a green check means something.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
if ! cargo deny --version 2>/dev/null | grep -q '0.20.2'; then
  echo "==> cargo install cargo-deny 0.20.2"
  cargo install cargo-deny --version 0.20.2 --locked --quiet
fi
# The snapshot, as the git repository cargo-deny fetches databases from (deny.toml's
# db-urls): a bare repository of what is committed now, served by `git daemon` on
# loopback for the length of this script (cargo-deny takes no file URLs).
SRV=$(mktemp -d)
git init -q -b main "$SRV/work"
cp -r supply-chain/advisory-db/. "$SRV/work/"
git -C "$SRV/work" add -A
git -C "$SRV/work" -c user.name=refrain -c user.email=ci@refrain.invalid commit -qm "advisory snapshot"
git clone -q --bare "$SRV/work" "$SRV/advisory-db"
git daemon --reuseaddr --listen=127.0.0.1 --port=3499 --base-path="$SRV" --export-all "$SRV" \
  >/dev/null 2>&1 &
daemon_pid=$!
trap 'kill $daemon_pid 2>/dev/null || true; rm -rf "$SRV"' EXIT
for _ in $(seq 50); do git ls-remote git://localhost:3499/advisory-db >/dev/null 2>&1 && break; sleep 0.1; done

echo "==> cargo deny check (advisories, licenses, bans, sources)"
cargo deny --locked check --hide-inclusion-graph

echo "==> cargo deny on a crate with a known advisory must fail"
out=$(mktemp)
if (cd supply-chain/fixture && cargo deny check advisories) >"$out" 2>&1; then
  cat "$out"; echo "cargo deny passed a crate that depends on jsonwebtoken 9.3.1" >&2; exit 1
fi
grep -q "CVE-2026-25537" "$out" || { cat "$out"; echo "the failure did not name CVE-2026-25537" >&2; exit 1; }
echo "refused, naming CVE-2026-25537, as it should"
rm -f "$out"
