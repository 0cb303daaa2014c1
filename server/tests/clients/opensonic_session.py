"""A phone app's session against Refrain through py-opensonic, a third-party Subsonic
client library from PyPI (installed by scripts/setup.sh): ping, the extensions, a whole
library sync with search3 paged as apps do it, an album, a star, a stream whose bytes
are decoded by ffmpeg, and the play queue saved and read back. Run by the Rust test
`an_opensonic_client_syncs_stars_streams_and_keeps_the_queue` with the server's
address, port and an API key; prints what it saw as JSON, exits non-zero on a failure."""

import asyncio
import json
import subprocess
import sys
import tempfile

import libopensonic


async def session(base: str, port: int, key: str) -> dict:
    conn = libopensonic.AsyncConnection(base, api_key=key, port=port, app_name="refrain-e2e")
    try:
        assert await conn.ping(), "ping"
        extensions = [e.name for e in await conn.get_open_subsonic_extensions()]

        # Sync the library: every song, two per page, as an app copies it.
        songs, offset = [], 0
        while True:
            page = (await conn.search3("", artist_count=0, album_count=0,
                                       song_count=2, song_offset=offset)).song or []
            songs += page
            offset += len(page)
            if len(page) < 2:
                break
        albums = (await conn.search3("", artist_count=0, album_count=500, song_count=0)).album or []
        artists = (await conn.search3("", artist_count=500, album_count=0, song_count=0)).artist or []

        album = await conn.get_album(albums[0].id)
        album_songs = [s.id for s in album.song or []]
        first = album.song[0]

        await conn.star(sids=[first.id])
        starred = [s.id for s in (await conn.get_starred2()).song or []]

        res = await conn.stream(first.id)
        audio = await res.read()
        with tempfile.NamedTemporaryFile(suffix="." + (first.suffix or "bin")) as f:
            f.write(audio)
            f.flush()
            decoded = subprocess.run(
                ["ffmpeg", "-v", "error", "-i", f.name, "-f", "null", "-"],
                capture_output=True, text=True)
            probe = subprocess.run(
                ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name",
                 "-of", "csv=p=0", f.name], capture_output=True, text=True)

        queue_ids = [s.id for s in songs]
        await conn.save_play_queue(queue_ids, current=queue_ids[-1], position=12345)
        queue = await conn.get_play_queue()

        return {
            "extensions": extensions,
            "songs": sorted(s.title for s in songs),
            "albums": len(albums),
            "artists": len(artists),
            "album_songs": album_songs,
            "album_name": album.name,
            "starred": starred,
            "first": first.id,
            "stream_bytes": len(audio),
            "stream_type": res.headers.get("Content-Type", ""),
            "decoded": decoded.returncode == 0 and decoded.stderr.strip() == "",
            "codec": probe.stdout.strip(),
            "queue": [s.id for s in queue.entry or []],
            "queue_current": queue.current,
            "queue_position": queue.position,
            "queue_ids": queue_ids,
        }
    finally:
        await conn.cleanup()


if __name__ == "__main__":
    base, port, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    print(json.dumps(asyncio.run(session(base, port, key))))
