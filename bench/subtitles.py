"""What subtitle sidecars cost in API calls: a folder of videos, each with a ``.srt`` beside it
(put.io's ``folder`` subtitles), listed, waited on until the mount learnt every video's
subtitles, then listed again after the listing expired. Target: at most one subtitles call per
video in all (the relisting asks nothing)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from bench import procs
from bench.report import Results, Row

SRT = "1\n00:00:01,000 --> 00:00:02,000\nHello\n"
SECTION = "13 subtitles"


def _calls(server: procs.Emulator) -> int:
    requests = server.stats()["requests"]
    return requests.get("files.subtitles", 0) + requests.get("files.subtitle", 0)


def measure(res: Results, count: int = 50) -> None:
    data = Path(tempfile.mkdtemp(prefix="putiofs-bench-subtitles-"))
    try:
        folder = data / "Videos"
        folder.mkdir()
        for number in range(count):
            (folder / f"Clip {number:03d}.mkv").write_bytes(b"\x1a\x45\xdf\xa3")
            (folder / f"Clip {number:03d}.en.srt").write_text(SRT)
        with procs.emulator(data) as server, \
                procs.putiofs_mount(server, "--cache-ttl", "1", "--no-events") as mount:
            server.reset()
            started = time.perf_counter()
            os.listdir(mount.path / "Videos")
            deadline = started + 60
            while _calls(server) < count and time.perf_counter() < deadline:
                time.sleep(0.02)
            learnt = time.perf_counter() - started
            first = _calls(server)
            time.sleep(1.2)  # past --cache-ttl: the next listing is a new one
            os.listdir(mount.path / "Videos")
            again = _calls(server) - first
    finally:
        shutil.rmtree(data, ignore_errors=True)
    res.add(Row(SECTION, f"list a folder of {count} videos: subtitle API calls", first,
                "calls", target=f"<= {count}", passed=first <= count))
    res.add(Row(SECTION, "list it again (expired): subtitle API calls", again, "calls",
                target="0", passed=again == 0))
    res.add(Row(SECTION, "every video's subtitles known after the listing", learnt, "s"))
