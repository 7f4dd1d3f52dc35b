"""A media library of real media for the scan section (:mod:`bench.scan`): shows in season
folders and movies, each beside what a media server's library holds (``.nfo``, ``.jpg``,
``.srt``).

Every video is valid H.264 + AAC that ffprobe reads to the end of its index: a 30 s 720p test
pattern with a tone is encoded once, then remuxed without re-encoding (``-stream_loop``, a
fraction of a second each) into a dozen distinct files of 1 to 8 minutes and 16 to 135 MB, in
three layouts a library really has: MP4 with its index (moov) at the end, as most downloaded MP4s
are, so a prober reads the head and then the tail; MP4 with the index at the front
(``+faststart``); and Matroska with two audio tracks and a subtitle track. The 220 videos are
hard links to those dozen files under their own names (the emulator serves each as its own file,
with its own id and CRC-32; the disk holds the dozen once, 670 MB), 10 GB as put.io lists
them. Generated once into ``<data dir>/library`` (about 5 s) and kept while its stamp matches.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

VERSION = "1"  # bump when the library changes: an old one is then rebuilt
MEDIA_SUFFIXES = (".mp4", ".mkv")
CLIP_SECONDS = 30
SHOWS = ("Test Pattern Tales", "The Sine Wave", "Colour Bars", "Frame Rate", "Keyframes",
         "Null Output")
SEASONS = 3
EPISODES = 10
MOVIES = 40

#: (name, container, remux options, loops of the 30 s clip) of each distinct encoding.
#: Episodes of a show share a layout and cycle through its three lengths; movies alternate.
ENCODINGS: dict[str, tuple[str, tuple[str, ...], tuple[int, ...]]] = {
    "mp4-tail": ("mp4", (), (3, 4, 5)),
    "mp4-fast": ("mp4", ("-movflags", "+faststart"), (2, 3, 4)),
    "mkv": ("mkv", (), (3, 4, 5)),
    "movie-mkv": ("mkv", (), (12, 16)),
    "movie-mp4": ("mp4", (), (10, 14)),
}
SHOW_LAYOUTS = ("mkv", "mp4-tail", "mkv", "mp4-tail", "mkv", "mp4-fast")


@dataclass(frozen=True)
class Library:
    """Where the library is, relative to the data directory (= the account's root)."""

    top: str = "library"

    @staticmethod
    def media_count() -> int:
        return len(SHOWS) * SEASONS * EPISODES + MOVIES

    @staticmethod
    def stamp() -> str:
        return f"{VERSION} {len(SHOWS)} {SEASONS} {EPISODES} {MOVIES} {sorted(ENCODINGS)}\n"


def is_media(path: str) -> bool:
    return path.endswith(MEDIA_SUFFIXES)


def prepare_library(root: Path, library: Library, log=print) -> Path:
    """Make ``root / library.top`` hold the library (generated once); its path."""
    top = root / library.top
    stamp = top / ".bench-library"
    if stamp.exists() and stamp.read_text() == library.stamp():
        return top
    shutil.rmtree(top, ignore_errors=True)
    log(f"bench: generating the media library in {top} (once)")
    # The encodings live beside the library, on the same filesystem (hard links), and go
    # when it is made: only the library's names are served.
    work = Path(tempfile.mkdtemp(prefix=".bench-library-", dir=root.parent))
    try:
        files = _encode(work)
        _lay_out(top, files, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    stamp.write_text(library.stamp())
    return top


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, stdin=subprocess.DEVNULL)


def _srt(path: Path, lines: int, seconds: int) -> Path:
    step = seconds / lines
    cues = []
    for index in range(lines):
        start, end = index * step, index * step + step * 0.8
        cues.append(f"{index + 1}\n{_srt_time(start)} --> {_srt_time(end)}\n"
                    f"Line {index + 1} of the test pattern.\n")
    path.write_text("\n".join(cues))
    return path


def _srt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def _encode(work: Path) -> dict[str, list[Path]]:
    """The distinct encodings, by name of :data:`ENCODINGS` (one file per length)."""
    clip, second_audio = work / "clip.mp4", work / "audio2.m4a"
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=24:duration={CLIP_SECONDS}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={CLIP_SECONDS}",
            "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "2M", "-g", "48",
            "-c:a", "aac", "-b:a", "128k", "-shortest", str(clip))
    _ffmpeg("-f", "lavfi", "-i", f"sine=frequency=660:duration={CLIP_SECONDS}",
            "-c:a", "aac", "-b:a", "96k", str(second_audio))
    subs = _srt(work / "subs.srt", 10, CLIP_SECONDS)
    files: dict[str, list[Path]] = {}
    for name, (container, options, loops) in ENCODINGS.items():
        for count in loops:
            out = work / f"{name}-{count}.{container}"
            looped = ("-stream_loop", str(count - 1))
            if container == "mkv":
                _ffmpeg(*looped, "-i", str(clip), *looped, "-i", str(second_audio),
                        "-i", str(subs), "-map", "0:v", "-map", "0:a", "-map", "1:a",
                        "-map", "2:s", "-c", "copy", "-metadata:s:a:0", "language=eng",
                        "-metadata:s:a:1", "language=jpn", "-metadata:s:s:0", "language=eng",
                        *options, str(out))
            else:
                _ffmpeg(*looped, "-i", str(clip), "-c", "copy", *options, str(out))
            files.setdefault(name, []).append(out)
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=680x1000", "-frames:v", "1",
            str(work / "poster.jpg"))
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=1920x1080", "-frames:v", "1",
            str(work / "fanart.jpg"))
    return files


def _nfo(path: Path, kind: str, title: str, **fields: object) -> None:
    body = "".join(f"  <{key}>{value}</{key}>\n" for key, value in fields.items())
    path.write_text(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    f"<{kind}>\n  <title>{title}</title>\n{body}</{kind}>\n")


def _lay_out(top: Path, files: dict[str, list[Path]], work: Path) -> None:
    """Shows/<show> (<year>)/Season NN/<show> - SxxEyy - <title>.<ext>, with an .nfo beside
    every episode and an .en.srt beside every third; Movies/<title> (<year>)/ with an .nfo,
    a poster and, for every third, an .en.srt."""
    poster, fanart = work / "poster.jpg", work / "fanart.jpg"
    subtitles = (work / "subs.srt").read_text()
    for number, show in enumerate(SHOWS):
        year = 2001 + number
        folder = top / "Shows" / f"{show} ({year})"
        folder.mkdir(parents=True)
        _nfo(folder / "tvshow.nfo", "tvshow", show, year=year, premiered=f"{year}-01-01")
        os.link(poster, folder / "poster.jpg")
        os.link(fanart, folder / "fanart.jpg")
        lengths = files[SHOW_LAYOUTS[number]]
        for season in range(1, SEASONS + 1):
            here = folder / f"Season {season:02d}"
            here.mkdir()
            os.link(poster, here / "folder.jpg")
            for episode in range(1, EPISODES + 1):
                source = lengths[(season + episode) % len(lengths)]
                stem = f"{show} - S{season:02d}E{episode:02d} - Episode {episode}"
                os.link(source, here / f"{stem}{source.suffix}")
                _nfo(here / f"{stem}.nfo", "episodedetails", f"Episode {episode}",
                     season=season, episode=episode, showtitle=show)
                if episode % 3 == 0:
                    (here / f"{stem}.en.srt").write_text(subtitles)
    movies = files["movie-mkv"] + files["movie-mp4"]
    for number in range(MOVIES):
        title, year = f"Movie Number {number + 1}", 1980 + number
        folder = top / "Movies" / f"{title} ({year})"
        folder.mkdir(parents=True)
        source = movies[number % len(movies)]
        os.link(source, folder / f"{title} ({year}){source.suffix}")
        _nfo(folder / "movie.nfo", "movie", title, year=year)
        os.link(poster, folder / "poster.jpg")
        if number % 3 == 0:
            (folder / f"{title} ({year}).en.srt").write_text(subtitles)
