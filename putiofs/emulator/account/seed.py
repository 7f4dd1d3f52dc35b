"""Filling an account: the built-in demo library, or a mirror of a directory on disk."""

from __future__ import annotations

import itertools
import os
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from putiofs.emulator.account.state import ROOT_ID, Account, Friend, Subscription

FRIEND_NAME = "alice"

README = """\
Welcome to the putiofs demo library
===================================

This account is served by putiofs's own put.io API emulator. Everything here lives in memory:
rename, move and delete freely, a restart brings the library back.

  Movies/       a 10 second test pattern video (H.264 + AAC, 320x240), with subtitles
  Music/        a short tone as mp3, and a file whose name contains a slash
  Pictures/     a JPEG test card
  Documents/    notes (two of them with the same name), a unicode name, an empty file
  alice/        the folder a friend shares with you
"""

NOTES = """\
Notes
-----
* put.io names may contain '/' and may repeat within one folder.
* Folder sizes are the sum of everything below them.
"""

NOTES_AGAIN = """\
Another file called notes.txt, in the same folder as the first one: put.io allows that.
"""

CAFE = "Café — notes in UTF-8: naïve façade, smörgåsbord, 東京, Ελληνικά.\n"
ACDC = "Setlist: Highway to Hell, Back in Black, Thunderstruck.\n"
SHOT_LIST = "Scene 1: colour bars. Scene 2: a counter. Scene 3: the tone.\n"
SHARED = "Alice shares this folder with you.\n"


def _media(name: str) -> bytes:
    return resources.files("putiofs.emulator").joinpath(f"demo_data/{name}").read_bytes()


#: The demo video's subtitles an OpenSubtitles-like search finds (``demo_data``'s .srt files).
DEMO_SUBTITLES = (("eng", "English"), ("fre", "French"))

#: The demo's first item was created then (UTC); each later one a few days after the one before,
#: so that ``ls -l`` of a v2 mount shows dates that differ (v1 has no dates at all).
DEMO_EPOCH = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC).timestamp()
DEMO_STEP = 3 * 86400 + 5 * 3600 + 17 * 60 + 11


def seed_demo(account: Account) -> None:
    """The demo library: nested folders, text, an image, audio, a real short video, odd names,
    created on distinct days from :data:`DEMO_EPOCH` on."""
    dates = (DEMO_EPOCH + n * DEMO_STEP for n in itertools.count())

    def folder(parent: str, name: str) -> str:
        return account.add_folder(parent, name, created=next(dates))

    def file(parent: str, name: str, data: bytes) -> str:
        return account.add_file(parent, name, data, created=next(dates))

    with account.lock:
        root = str(ROOT_ID)
        file(root, "README.txt", README.encode())
        movies = folder(root, "Movies")
        clips = folder(movies, "Demo Clips")
        video = file(clips, "Test Pattern (10s).mp4", _media("demo-video.mp4"))
        extras = folder(clips, "Extras")
        file(extras, "shot list.txt", SHOT_LIST.encode())
        music = folder(root, "Music")
        tones = folder(music, "Tones")
        tone = file(tones, "tone-330hz.mp3", _media("demo-audio.mp3"))
        file(music, "AC/DC - Live.txt", ACDC.encode())
        pictures = folder(root, "Pictures")
        file(pictures, "test-card.jpg", _media("demo-image.jpg"))
        documents = folder(root, "Documents")
        file(documents, "notes.txt", NOTES.encode())
        file(documents, "notes.txt", NOTES_AGAIN.encode())
        file(documents, "Café — notes.txt", CAFE.encode())
        file(documents, "empty.txt", b"")
        folder(documents, "Empty Folder")
        shared = folder(root, FRIEND_NAME)
        file(shared, "holiday plans.txt", SHARED.encode())
        account.friends.append(Friend(2002, FRIEND_NAME, int(shared)))
        account.subtitle_matches[int(video)] = [
            (code, language, _media(f"demo-video.{code}.srt").decode("utf-8"))
            for code, language in DEMO_SUBTITLES]
        account.post_message(account.nodes[int(video)])
        account.post_message(account.nodes[int(tone)])
        jazz = Subscription(0, "Jazz Radio", "http://legaltorrents.com/music/rss.xml",
                            "jazz, mp3", "smooth, wav", int(music))
        account.add_subscription(jazz)


def item_name(name: str) -> str:
    """The put.io name of a directory entry: put.io stores names as text, so bytes that are
    not UTF-8 (kept by ``os.walk`` as surrogate escapes) become U+FFFD."""
    return os.fsencode(name).decode("utf-8", "replace")


def seed_directory(account: Account, top: Path) -> None:
    """Mirror the tree under ``top``: folders and regular files (bytes read lazily on demand).

    Creation times are the files' modification times; symbolic links to directories are not
    followed, entries that cannot be read are skipped. A name that is not valid UTF-8 is
    listed with U+FFFD in place of each undecodable byte (:func:`item_name`); the bytes are
    still read from the file on disk.
    """
    if not top.is_dir():
        raise NotADirectoryError(f"{top} is not a directory")
    with account.lock:
        ids = {top: str(ROOT_ID)}
        for current, dirnames, filenames in os.walk(top):
            here = Path(current)
            parent = ids[here]
            dirnames.sort()
            for name in dirnames:
                if (here / name).is_symlink():
                    continue
                try:
                    created = (here / name).stat().st_mtime
                except OSError:
                    continue
                ids[here / name] = account.add_folder(parent, item_name(name),
                                                      created=created)
            dirnames[:] = [d for d in dirnames if here / d in ids]
            for name in sorted(filenames):
                path = here / name
                try:
                    if path.is_file() and os.access(path, os.R_OK):
                        account.add_file(parent, item_name(name), path=path,
                                         created=path.stat().st_mtime)
                except OSError:
                    continue
