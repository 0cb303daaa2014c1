#!/usr/bin/env python3
"""Draws the app icons of the web app manifest (public/icons/*.png) from the same design as
public/favicon.svg: a green square with rounded corners and two beamed notes. Standard
library only (zlib for PNG); run it again after changing the design, and commit the PNGs.

- icon-192.png, icon-512.png: the favicon's design, rounded corners on a transparent ground.
- maskable-512.png: the whole square green (a launcher cuts its own shape) with the notes
  shrunk into the central safe zone (a circle of 40% of the width around the centre).
"""
import math
import os
import struct
import zlib

GREEN = (0x1D, 0xB3, 0x74)
INK = (0x0F, 0x11, 0x15)
# The favicon's notes, in its 64-unit box: a stem-and-beam line (stroke 5, round ends)
# and two note heads.
LINE = [(24, 46), (24, 20), (46, 14), (46, 40)]
STROKE = 2.5
HEADS = [((19, 46), 6), ((41, 40), 6)]


def seg_dist(p, a, b):
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


def ink(x, y):
    """Whether the point (favicon units) is on the notes."""
    if any(math.hypot(x - cx, y - cy) <= r for (cx, cy), r in HEADS):
        return True
    return any(seg_dist((x, y), LINE[i], LINE[i + 1]) <= STROKE for i in range(len(LINE) - 1))


def in_rounded(x, y, size, radius):
    cx = min(max(x, radius), size - radius)
    cy = min(max(y, radius), size - radius)
    return 0 <= x <= size and 0 <= y <= size and math.hypot(x - cx, y - cy) <= radius


def draw(px, maskable):
    """RGBA rows of a px-by-px icon, 4x4 samples per pixel."""
    n = 4
    # The maskable icon draws the notes at 62% around the centre (inside the safe zone).
    scale = 0.62 if maskable else 1.0
    rows = []
    for j in range(px):
        row = bytearray()
        for i in range(px):
            bg = fg = 0
            for sj in range(n):
                for si in range(n):
                    u = (i + (si + 0.5) / n) * 64 / px
                    v = (j + (sj + 0.5) / n) * 64 / px
                    inside = True if maskable else in_rounded(u, v, 64, 14)
                    if not inside:
                        continue
                    bg += 1
                    if ink(32 + (u - 32) / scale, 32 + (v - 32) / scale):
                        fg += 1
            a = bg / (n * n)
            if bg == 0:
                row += bytes(4)
                continue
            f = fg / bg
            rgb = [round(g * (1 - f) + k * f) for g, k in zip(GREEN, INK)]
            row += bytes(rgb + [round(a * 255)])
        rows.append(bytes(row))
    return rows


def png(rows, px):
    raw = b"".join(b"\x00" + r for r in rows)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    head = struct.pack(">IIBBBBB", px, px, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    out = os.path.join(os.path.dirname(__file__), "..", "public", "icons")
    os.makedirs(out, exist_ok=True)
    for name, px, maskable in [("icon-192.png", 192, False), ("icon-512.png", 512, False),
                               ("maskable-512.png", 512, True)]:
        with open(os.path.join(out, name), "wb") as f:
            f.write(png(draw(px, maskable), px))
        print(f"wrote public/icons/{name}")


if __name__ == "__main__":
    main()
