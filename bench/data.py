"""The benchmark's data set, generated once into a directory and reused while it is complete.

Big files are sparse (creating them costs nothing; the emulator reads their holes as zeros from
the page cache, for the mount and for curl alike). The long video is encoded once with ffmpeg's
test source, its index (moov) at the end as most downloaded MP4s have it, so a player must read
the header, then the end, then seek.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

MIB = 1024 * 1024
GIB = 1024 * MIB
VERSION = "1"  # bump when the layout changes: an old data set is then rebuilt


@dataclass(frozen=True)
class Layout:
    """Where everything is, relative to the data directory (= the account's root)."""

    seq_size: int = GIB
    random_size: int = GIB
    stream_size: int = 256 * MIB
    streams: int = 4
    ttfb_files: int = 40
    ttfb_size: int = 4 * MIB
    folders: int = 100
    items: int = 10_000            # folders + files in the tree
    long_video_seconds: int = 180
    flat_sizes: tuple[int, ...] = (1_000, 20_000)  # one folder of each size, files only
    huge_size: int = 100_000       # one folder listed with RSS reported

    seq = "big/sequential.bin"
    random = "big/random.bin"
    video = "media/demo-video.mp4"
    long_video = "media/long-video.mp4"
    tree = "tree"

    def stream(self, index: int) -> str:
        return f"streams/stream-{index}.bin"

    def ttfb(self, index: int) -> str:
        return f"ttfb/file-{index:02d}.bin"

    def folder(self, index: int) -> str:
        return f"{self.tree}/folder-{index:03d}"

    @property
    def huge(self) -> str:
        return f"huge/{self.huge_size}-items"

    def flat(self, size: int) -> str:
        return f"flat/{size}-items"

    @staticmethod
    def flat_item(index: int) -> str:
        return f"item-{index:05d}.txt"

    @property
    def files_per_folder(self) -> int:
        return (self.items - self.folders) // self.folders

    def stamp(self) -> str:
        """What the slow parts (tree, video) were made for; sparse files are made every run."""
        return f"{VERSION} {self.folders} {self.items} {self.long_video_seconds}\n"


def _sparse(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.stat().st_size != size:
        with path.open("wb") as fh:
            fh.truncate(size)


def _long_video(path: Path, seconds: int) -> None:
    """A test pattern with a tone: 640x360, 25 fps, a keyframe every 2 s, moov at the end."""
    tmp = path.with_suffix(".tmp.mp4")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "800k", "-g", "50",
         "-c:a", "aac", "-b:a", "64k", "-shortest", str(tmp)],
        check=True, stdin=subprocess.DEVNULL)
    tmp.rename(path)


def prepare(root: Path, layout: Layout, log=print) -> None:
    """Make ``root`` hold the data set for ``layout`` (the tree and the video only once)."""
    stamp = root / ".bench-data"
    if not (stamp.exists() and stamp.read_text() == layout.stamp()):
        _slow_parts(root, layout, log)
    _sparse(root / layout.seq, layout.seq_size)
    _sparse(root / layout.random, layout.random_size)
    for index in range(layout.streams):
        _sparse(root / layout.stream(index), layout.stream_size)
    for index in range(layout.ttfb_files):
        _sparse(root / layout.ttfb(index), layout.ttfb_size)
    for size in layout.flat_sizes:
        _flat(root / layout.flat(size), size, layout)
    if layout.huge_size:
        _flat(root / layout.huge, layout.huge_size, layout)


def _flat(folder: Path, size: int, layout: Layout) -> None:
    """One folder of ``size`` empty files (the big-folder section deletes some of them through
    the mount: the emulator deletes in its memory only, so the files here stay)."""
    folder.mkdir(parents=True, exist_ok=True)
    if sum(1 for _ in folder.iterdir()) == size:
        return
    for index in range(size):  # os.open + close: about 10 s for 100,000 on this VM, once
        os.close(os.open(folder / layout.flat_item(index), os.O_WRONLY | os.O_CREAT, 0o644))


def _slow_parts(root: Path, layout: Layout, log) -> None:
    stamp = root / ".bench-data"
    if root.exists() and any(root.iterdir()):
        if not stamp.exists():
            raise SystemExit(f"bench: {root} is not empty and not a benchmark data set; "
                             "choose another --data-dir")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    log(f"bench: generating the data set in {root}")
    video = resources.files("putiofs.emulator").joinpath("demo_data/demo-video.mp4")
    (root / layout.video).parent.mkdir(parents=True, exist_ok=True)
    (root / layout.video).write_bytes(video.read_bytes())
    log(f"bench: encoding a {layout.long_video_seconds} s test video (once)")
    _long_video(root / layout.long_video, layout.long_video_seconds)
    line = b"benchmark tree item\n"
    for folder in range(layout.folders):
        here = root / layout.folder(folder)
        here.mkdir(parents=True)
        for item in range(layout.files_per_folder):
            (here / f"item-{item:03d}.txt").write_bytes(line)
    stamp.write_text(layout.stamp())
