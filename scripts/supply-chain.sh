#!/usr/bin/env bash
# `cargo deny check`: known advisories, licenses, duplicate and wildcard dependencies, and
# sources (deny.toml). Advisories come from the whole RustSec database at a recorded
# commit, vendored in supply-chain/advisory-db (refreshed by scripts/import-advisories.sh;
# the database is on GitHub, which these machines cannot reach), with the project's own
# records (supply-chain/local-advisories) laid over it. The advisories deny.toml ignores
# and the unmaintained crates are printed, with their reasons, on every run. Then the same
# advisories check on supply-chain/fixture, which pins a version with a known advisory: it
# must fail, so a green check means something. Last, `npm audit` of the Node tools the
# tests run (end2end, scripts/oidc-provider), where the registry answers it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
if ! cargo deny --version 2>/dev/null | grep -q '0.20.2'; then
  echo "==> cargo install cargo-deny 0.20.2"
  cargo install cargo-deny --version 0.20.2 --locked --quiet
fi

commit=$(sed -n 's/^commit: //p' supply-chain/advisory-db.commit)
db_date=$(sed -n 's/^date: //p' supply-chain/advisory-db.commit)
[ -n "$commit" ] && [ -n "$db_date" ] && [ -d supply-chain/advisory-db/crates ] \
  || { echo "no vendored advisory database: run scripts/import-advisories.sh" >&2; exit 1; }
age=$(( ($(date +%s) - $(date -d "$db_date" +%s)) / 86400 ))
echo "==> advisories: rustsec/advisory-db ${commit:0:12} of ${db_date%%T*} ($age days old," \
  "$(find supply-chain/advisory-db/crates -name '*.md' | wc -l) crate advisories)," \
  "+ project-local: $(find supply-chain/local-advisories -name '*.md' | wc -l)"
if [ "$age" -gt 90 ]; then
  echo "    note: the snapshot is over 90 days old; refresh it with scripts/import-advisories.sh"
fi

# What deny.toml lets through, and why: every ignored advisory with its reason, the
# unmaintained crates as "unmaintained:" lines, and the Cargo.lock versions each touches.
# Then the unmaintained crates of Cargo.lock that deny.toml does not ignore: cargo-deny
# (below) fails on those that the graph of deny.toml's targets holds; the others are
# built for no platform Refrain builds for, and only listed here.
python3 - <<'EOF'
import glob, re, tomllib
deny = tomllib.load(open("deny.toml", "rb"))
lock = tomllib.load(open("Cargo.lock", "rb"))
versions = {}
for p in lock["package"]:
    versions.setdefault(p["name"], []).append(p["version"])
advisories = {}
for f in glob.glob("supply-chain/*advisor*/crates/*/*.md"):
    text = open(f).read()
    meta = tomllib.loads(re.search(r"```toml\n(.*?)```", text, re.S).group(1))
    title = re.search(r"^# (.+)$", text, re.M)
    advisories[meta["advisory"]["id"]] = (meta, title.group(1).strip() if title else "")
def ver(v):  # ((major, minor, patch, is-release, pre-release), how many numbers given)
    v, _, pre = v.strip().partition("-")
    n = [int(x) for x in v.split(".")]
    return (*(n + [0, 0])[:3], pre == "", pre), len(n)
def matches(version, req):  # RustSec's requirements: semver's, bare meaning ^
    v = ver(version)[0]
    for part in req.split(","):
        op, w = re.match(r"\s*(>=|<=|>|<|=|\^)?\s*(\S+)", part).groups()
        (w, given), op = ver(w), op or "^"
        if op == "^":
            top = (w[0] + 1, 0, 0) if w[0] or given == 1 else \
                  (0, w[1] + 1, 0) if w[1] or given == 2 else (0, 0, w[2] + 1)
            ok = w <= v and v[:3] < top
        else:
            ok = {">=": v >= w, "<=": v <= w, ">": v > w, "<": v < w, "=": v == w}[op]
        if not ok:
            return False
    return True
def affected(meta, version):
    vs = meta.get("versions", {})
    return not any(matches(version, r) for r in vs.get("patched", []) + vs.get("unaffected", []))
lines, ignored = [], set()
for entry in deny["advisories"].get("ignore", []):
    entry = entry if isinstance(entry, dict) else {"id": entry}
    id, reason = entry.get("id") or entry.get("crate"), entry.get("reason", "(no reason given)")
    ignored.add(id)
    if id not in advisories:
        lines.append(f"ignored: {id}: not in the vendored database; {reason}")
        continue
    meta, title = advisories[id]
    crate = meta["advisory"]["package"]
    have = ", ".join(versions.get(crate, [])) or "(not in Cargo.lock any more: drop the entry)"
    kind = "unmaintained" if meta["advisory"].get("informational") == "unmaintained" else "ignored"
    lines.append(f"{kind}: {crate} {have} {id}, \"{title}\": {reason}")
lines.sort(key=lambda l: not l.startswith("ignored"))
print(f"==> {len(lines)} advisories ignored by deny.toml (unmaintained = "
      f"\"{deny['advisories'].get('unmaintained', 'all')}\")")
for l in lines:
    print("  " + l)
others = []
for id, (meta, title) in sorted(advisories.items()):
    a = meta["advisory"]
    if a.get("informational") != "unmaintained" or a.get("withdrawn") or id in ignored:
        continue
    hit = [v for v in versions.get(a["package"], []) if affected(meta, v)]
    if hit:
        others.append(f"  unmaintained: {a['package']} {', '.join(hit)} {id}, \"{title}\"")
if others:
    print("==> unmaintained crates in Cargo.lock that deny.toml does not ignore (the check below"
          " fails on any that deny.toml's targets build; if it passes, they build none):")
    print("\n".join(others))
EOF

# The snapshot, as the git repository cargo-deny fetches databases from (deny.toml's
# db-urls): a bare repository of what is committed now, served by `git daemon` on
# loopback for the length of this script (cargo-deny takes no file URLs). Its one commit
# carries the RustSec commit's date and id.
SRV=$(mktemp -d)
git init -q -b main "$SRV/work"
cp -r supply-chain/advisory-db/. "$SRV/work/"
# A local record must not replace one of RustSec's.
clash=$(cd supply-chain/local-advisories && find . -type f -exec test -e "$SRV/work/{}" \; -print)
[ -z "$clash" ] || { echo "supply-chain/local-advisories shadows RustSec's: $clash" >&2; exit 1; }
cp -r supply-chain/local-advisories/. "$SRV/work/"
git -C "$SRV/work" add -A
GIT_AUTHOR_DATE="$db_date" GIT_COMMITTER_DATE="$db_date" git -C "$SRV/work" \
  -c user.name=refrain -c user.email=ci@refrain.invalid \
  commit -qm "rustsec/advisory-db $commit and supply-chain/local-advisories"
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

# npm audit of the test tools' lockfiles: the whole tree, dev dependencies included
# (end2end has nothing else, so --omit=dev would audit nothing and pass; these tools run
# on the machines that build and test Refrain, none of them ships). High or critical
# fails; an audit endpoint that does not answer (these machines' registry may not serve
# it) is reported as a skip, with npm's message.
echo "==> npm audit (end2end, scripts/oidc-provider)"
for dir in end2end scripts/oidc-provider; do
  if ! command -v npm >/dev/null; then echo "  $dir: skipped: npm is not installed"; continue; fi
  json=$(cd "$dir" && timeout 180 npm audit --json 2>/dev/null) || true
  NPM_AUDIT_JSON="$json" python3 - "$dir" <<'EOF'
import json, os, sys
dir, raw = sys.argv[1], os.environ["NPM_AUDIT_JSON"]
try:
    d = json.loads(raw)
except ValueError:
    print(f"  {dir}: skipped: npm audit gave no answer within 180 s")
    sys.exit(0)
counts = d.get("metadata", {}).get("vulnerabilities")
if counts is not None:
    print(f"  {dir}: " + ", ".join(f"{counts.get(k, 0)} {k}"
          for k in ("critical", "high", "moderate", "low", "info")))
    bad = 0
    for name, v in sorted(d.get("vulnerabilities", {}).items()):
        print(f"    {v['severity']}: {name} {v.get('range', '')}")
        bad += v["severity"] in ("high", "critical")
    if bad:
        print(f"  {dir}: {bad} packages with high or critical advisories", file=sys.stderr)
        sys.exit(1)
    sys.exit(0)
msg = d.get("message", "")
if "/-/npm/v1/security/" in msg:  # the registry's audit endpoint, not the project
    print(f"  {dir}: skipped: the registry's audit endpoint did not answer: {msg}")
    sys.exit(0)
err = d.get("error", {})
print(f"  {dir}: npm audit failed: {msg or err.get('code', '')} {err.get('summary', '')}",
      file=sys.stderr)
sys.exit(1)
EOF
done
