#!/usr/bin/env bash
# Replace the vendored RustSec advisory database (supply-chain/advisory-db) with the
# committed HEAD of a local copy of https://github.com/rustsec/advisory-db, and record
# which commit it is (supply-chain/advisory-db.commit).
#
#   scripts/import-advisories.sh PATH
#
# PATH is a clone of advisory-db, bare or with a work tree: only what is committed at its
# HEAD is taken (`git archive`), never uncommitted files. Taken: crates/ and rust/ (every
# advisory; rust/ is the toolchain's, which cargo-deny loads too), and the license files
# (the advisories are CC0-1.0); left out: .github, the contributor guides and README.
# Project-local advisories (supply-chain/local-advisories) are not touched:
# scripts/supply-chain.sh lays them over this snapshot when it serves it to cargo-deny.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 PATH-TO-ADVISORY-DB-GIT-CLONE" >&2; exit 2; }
src=$1
cd "$(dirname "$0")/.."
commit=$(git -C "$src" rev-parse --verify 'HEAD^{commit}') \
  || { echo "$src: not a git repository with a HEAD commit" >&2; exit 1; }
date=$(git -C "$src" log -1 --format=%cI "$commit")
subject=$(git -C "$src" log -1 --format=%s "$commit")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/advisory-db"
paths=(crates rust LICENSE.txt LICENSES)
present=()
for p in "${paths[@]}"; do
  git -C "$src" cat-file -e "$commit:$p" 2>/dev/null && present+=("$p")
done
git -C "$src" archive --format=tar "$commit" "${present[@]}" | tar -x -C "$tmp/advisory-db"

# A sanity check that this is the RustSec database, and whole: RustSec's layout, and
# advisories this project's history has met.
count=$(find "$tmp/advisory-db/crates" -name '*.md' | wc -l)
for f in crates/rsa/RUSTSEC-2023-0071.md crates/idna/RUSTSEC-2024-0421.md; do
  [ -f "$tmp/advisory-db/$f" ] || { echo "$src at $commit has no $f: not advisory-db?" >&2; exit 1; }
done
[ "$count" -ge 1000 ] || { echo "$src at $commit has only $count advisories" >&2; exit 1; }

rm -rf supply-chain/advisory-db
mv "$tmp/advisory-db" supply-chain/advisory-db
cat >supply-chain/advisory-db.commit <<EOF
# The RustSec advisory database vendored in supply-chain/advisory-db, written by
# scripts/import-advisories.sh: crates/, rust/ and the license files of this commit.
repository: https://github.com/rustsec/advisory-db
commit: $commit
date: $date
subject: $subject
advisories: $count
imported: $(date -u +%Y-%m-%d)
EOF
echo "supply-chain/advisory-db is now rustsec/advisory-db $commit ($date): $count crate advisories"
du -sh supply-chain/advisory-db
