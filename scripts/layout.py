#!/usr/bin/env python3
"""The floors check (ARCHITECTURE.md): imports point down.

Reads the `backend` and `app` crates as a reader follows them: every `crate::`, `super::`
and `self::` path and every path through a child module, in `use` trees (re-exports
included) and in code, is an arrow from the file it is written in to the module file it
names (the deepest one that exists). Comments and strings are not read.

It fails (exit 1) when
  - a ground-floor file (`backend/src/infra/`, `app/src/ui/`) names a module above it;
  - an import circle between files is larger than the ratchet in
    `scripts/layout-ratchet.txt` allows for its crate, or more files are in circles;
  - a `sqlx::query*` (function or macro) in `backend/src` is outside a repository file
    (`repo.rs`, or a file under a `repo/` folder), unless `SQL_ALLOWED` names the file.

`scripts/layout.py --print` lists the circles, their files and the paths that tie them; `--ratchet` writes today's
figures as the new ratchet (only ever lower them).
"""

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = {"backend": ROOT / "backend" / "src", "app": ROOT / "app" / "src"}
# Each crate's ground floor, and the other top-level files it may stand on (as low).
GROUND = {
    "backend": ("infra", set()),
    "app": ("ui", {"error", "wire", "icons", "model"}),
}
RATCHET = ROOT / "scripts" / "layout-ratchet.txt"
# SQL lives in repositories: backend files that may run `sqlx::query*` outside a `repo.rs`
# or `repo/` folder, each with the reason.
SQL_ALLOWED = {
    "subsonic/catalog.rs": "replaced by the catalog issue",
    "testing.rs": "test helpers (feature `testing`): CREATE DATABASE per test, and peeking at "
    "or settling the outbox; no production code path runs them",
}
SQL_CALL = re.compile(r"(?<![\w:])(?:::\s*)?sqlx\s*::\s*(query\w*!?)")


def strip(src: str) -> str:
    """Source without comments, string and char literals (kept as blanks)."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if src.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif src.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == "r" and re.match(r'r#*"', src[i:i + 10]) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            hashes = re.match(r"r(#*)\"", src[i:]).group(1)
            end = src.find('"' + hashes, i + 2 + len(hashes))
            i = n if end < 0 else end + 1 + len(hashes)
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and src[i] != '"':
                i += 2 if src[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", src[i:i + 4]) or (c == "'" and re.match(r"'\\u\{[0-9a-fA-F]+\}'", src[i:i + 12])):
            m = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'", src[i:])
            i += len(m.group(0))
            out.append("' '")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def modules(src_dir: Path):
    """module path (tuple) -> file, for every .rs file of the crate."""
    found = {}
    for path in sorted(src_dir.rglob("*.rs")):
        rel = path.relative_to(src_dir).with_suffix("")
        parts = list(rel.parts)
        if parts == ["lib"] or parts == ["main"]:
            parts = []
        elif parts[-1] == "mod":
            parts = parts[:-1]
        elif parts[-1] in ("main",) and len(parts) > 1:
            continue
        if len(parts) > 0 and parts[0] == "bin":
            continue
        found[tuple(parts)] = path
    return found


USE = re.compile(r"(\bpub(?:\s*\([^)]*\))?\s+)?\buse\s+([^;]+);")


def use_trees(code: str, public: bool):
    """The paths of every `use` tree (re-exports when `public`), expanded:
    `use a::{b, c::d}` -> a::b, a::c::d."""
    for m in USE.finditer(code):
        if bool(m.group(1)) == public:
            yield from expand(m.group(2).replace("\n", " "))


def alias(path: str):
    """The name a use path brings in: its `as` name or its last segment."""
    parts = re.split(r"\s+as\s+", path)
    return parts[1].strip() if len(parts) > 1 else path.split("::")[-1].strip()


def expand(tree: str):
    tree = tree.strip()
    depth, brace = 0, None
    for i, ch in enumerate(tree):
        if ch == "{":
            if depth == 0:
                brace = i
            depth += 1
        elif ch == "}":
            depth -= 1
    if brace is None:
        path = re.split(r"\s+as\s+", tree)[0].strip()
        if path:
            yield path
        return
    prefix = tree[:brace].rstrip(":").strip()
    inner = tree[brace + 1: tree.rfind("}")]
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    for p in parts:
        for sub in expand(p):
            if sub == "self":
                yield prefix
            else:
                yield f"{prefix}::{sub}" if prefix else sub


PATH = re.compile(r"(?<![\w:])((?:crate|super|self|[a-z_][a-z0-9_]*)(?:::[A-Za-z_][A-Za-z0-9_]*)+)")


def absolute(segs, here, children):
    """A path's segments from the crate root, or None for a path outside the crate."""
    if not segs:
        return None
    if segs[0] == "crate":
        return segs[1:]
    if segs[0] in ("super", "self"):
        base = list(here)
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                base = base[:-1]
            segs = segs[1:]
        return base + segs
    if segs[0] in children:
        return list(here) + segs
    return None


def arrows(crate: str, src_dir: Path):
    """Module files and the arrows between them. A re-export (`pub use`) is not an arrow
    of the file that writes it: it is an alias a path through it is followed along, to
    the file that defines the name."""
    mods = modules(src_dir)
    kids = {
        here: {m[-1] for m in mods if len(m) == len(here) + 1 and m[: len(here)] == here}
        for here in mods
    }
    code_of = {m: strip(f.read_text()) for m, f in mods.items()}
    reexports = {}
    for here, code in code_of.items():
        table = {}
        for p in use_trees(code, public=True):
            target = re.split(r"\s+as\s+", p)[0]
            segs = [x.strip() for x in target.split("::") if x.strip()]
            if segs and segs[-1] == "*":
                continue
            abs_ = absolute(segs, here, kids[here])
            if abs_ is not None:
                table[alias(p)] = abs_
        reexports[here] = table

    def resolve(abs_):
        for _ in range(16):
            k = len(abs_)
            while k > 0 and tuple(abs_[:k]) not in mods:
                k -= 1
            module, rest = tuple(abs_[:k]), abs_[k:]
            if rest and rest[0] in reexports.get(module, {}):
                abs_ = reexports[module][rest[0]] + rest[1:]
                continue
            return module
        return module

    def inline_modules(code):
        """(start, end, name) of every `mod name { ... }` written inside a file."""
        spans = []
        for m in re.finditer(r"\bmod\s+([a-z_][a-z0-9_]*)\s*\{", code):
            depth, i = 1, m.end()
            while i < len(code) and depth:
                depth += {"{": 1, "}": -1}.get(code[i], 0)
                i += 1
            spans.append((m.end(), i, m.group(1)))
        return spans

    def scope(here, spans, pos):
        """The module a path at `pos` is written in: the file's, or an inline one's."""
        inner = [s for s in spans if s[0] <= pos < s[1]]
        return tuple(here) + tuple(name for _, _, name in sorted(inner))

    edges = {f: set() for f in mods.values()}
    arrows.why = {}
    # Where each path's first module is (the room it names, before any re-export is
    # followed): what the ground-floor check reads.
    named = {f: set() for f in mods.values()}
    for here, path in mods.items():
        code = code_of[here]
        spans = inline_modules(code)
        paths = [(p, m.start()) for m in USE.finditer(code) if not m.group(1)
                 for p in expand(m.group(2).replace("\n", " "))]
        paths += [(m.group(1), m.start()) for m in PATH.finditer(code)]
        # Paths inside re-export lines are aliases, not this file's own arrows.
        reexported = {re.split(r"\s+as\s+", p)[0].strip() for p in use_trees(code, public=True)}
        for p, pos in paths:
            p = re.split(r"\s+as\s+", p)[0].strip()
            if p in reexported:
                continue
            segs = [x.strip() for x in p.split("::") if x.strip()]
            at = scope(here, spans, pos)
            abs_ = absolute(segs, at, kids[here] if at == tuple(here) else set())
            if abs_ is None:
                continue
            to = mods[resolve(abs_)]
            if to != path:
                edges[path].add(to)
                arrows.why.setdefault((path, to), set()).add(p)
            if abs_:
                first = mods[resolve(abs_[:1])]
                if first != path:
                    named[path].add((abs_[0], first))
    arrows.named = named
    return mods, edges


def circles(edges):
    """Strongly connected components of more than one file (Tarjan, iterative)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(edges[nxt]))))
                    advanced = True
                    break
                elif nxt in on:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return sorted(out, key=len, reverse=True)


def ground_violations(crate, src_dir, named):
    """Paths in a ground-floor file whose first module is not on the ground floor (a
    re-export that leads back down does not excuse naming the room above)."""
    floor, also = GROUND[crate]
    bad = []
    for path, firsts in named.items():
        rel = path.relative_to(src_dir)
        if rel.parts[0] != floor:
            continue
        for name, target in firsts:
            trel = target.relative_to(src_dir)
            if trel.parts[0] == floor or trel.parts[0].removesuffix(".rs") in also:
                continue
            if len(trel.parts) == 1 and trel.name in ("lib.rs", "main.rs"):
                # An item the crate root defines itself.
                continue
            bad.append(f"{rel} -> crate::{name} ({trel})")
    return sorted(set(bad))


def sql_outside_repos(src_dir: Path):
    """`file:line: sqlx::query...` for every query call or macro in a backend file that is
    not a repository (`repo.rs` or under a `repo/` folder) nor allowed in SQL_ALLOWED.
    Comments and strings are not read."""
    bad = []
    for path in sorted(src_dir.rglob("*.rs")):
        rel = path.relative_to(src_dir)
        if rel.name == "repo.rs" or "repo" in rel.parts[:-1]:
            continue
        if rel.as_posix() in SQL_ALLOWED:
            continue
        code = strip(path.read_text())
        found = [(m.start(), f"sqlx::{m.group(1)}") for m in SQL_CALL.finditer(code)]
        # `use sqlx::{query, Row};` brings one in without writing `sqlx::query`.
        for m in USE.finditer(code):
            for p in expand(m.group(2).replace("\n", " ")):
                p = re.sub(r"\s+", "", re.split(r"\s+as\s+", p)[0])
                if re.match(r"(::)?sqlx::query\w*$", p) and not SQL_CALL.search(m.group(0)):
                    found.append((m.start(), f"use {p}"))
        for pos, what in sorted(found):
            line = code.count("\n", 0, pos) + 1
            bad.append(f"{rel}:{line}: {what}")
    return bad


def read_ratchet():
    limits = {}
    if RATCHET.exists():
        for line in RATCHET.read_text().splitlines():
            line = line.split("#")[0].strip()
            if line:
                crate, largest, total = line.split()
                limits[crate] = (int(largest), int(total))
    return limits


def main():
    show = "--print" in sys.argv
    write = "--ratchet" in sys.argv
    limits = read_ratchet()
    failed = False
    figures = {}
    for crate, src_dir in CRATES.items():
        mods, edges = arrows(crate, src_dir)
        found = circles(edges)
        largest = len(found[0]) if found else 0
        total = sum(len(c) for c in found)
        figures[crate] = (largest, total)
        sizes = ", ".join(str(len(c)) for c in found) or "none"
        print(f"{crate}: {len(mods)} files, {sum(len(e) for e in edges.values())} arrows; circles: {sizes}")
        if show:
            for c in found:
                print(f"  circle of {len(c)}: " + ", ".join(str(p.relative_to(src_dir)) for p in c))
                for a in c:
                    for b in sorted(edges[a]):
                        if b in c:
                            why = ", ".join(sorted(arrows.why[(a, b)]))
                            print(f"    {a.relative_to(src_dir)} -> {b.relative_to(src_dir)}: {why}")
        floor = src_dir / GROUND[crate][0]
        if floor.exists():
            bad = ground_violations(crate, src_dir, arrows.named)
            for b in bad:
                print(f"  ground floor names a room above it: {b}")
            failed |= bool(bad)
        if crate == "backend":
            stray = sql_outside_repos(src_dir)
            for b in stray:
                print(f"  SQL outside a repository (move it to the module's repo.rs): {b}")
            failed |= bool(stray)
        if not write and crate in limits:
            lim_largest, lim_total = limits[crate]
            if largest > lim_largest or total > lim_total:
                print(
                    f"  the circles of {crate} grew: largest {largest} files (allowed "
                    f"{lim_largest}), {total} files in circles (allowed {lim_total}); "
                    "run scripts/layout.py --print"
                )
                failed = True
    if write:
        RATCHET.write_text(
            "# crate, largest import circle (files), files in circles: scripts/layout.py fails\n"
            "# when either grows. Lower them as circles are broken; never raise them.\n"
            + "".join(f"{c} {l} {n}\n" for c, (l, n) in figures.items())
        )
        print(f"wrote {RATCHET.relative_to(ROOT)}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
