"""The subtitles put.io finds for a video (``/files/{id}/subtitles``), as its API reference
(4.13) describes them.

Two sources, in put.io's order of preference:

* ``folder``: a ``.srt`` file beside the video with the same stem, ``Movie.srt`` or
  ``Movie.<tag>.srt`` (case-insensitive; the tag, lower-cased, is the ``language_code`` and,
  when it is a known ISO 639 code, names the ``language``). Any folder, so also the mirrored
  ``--data`` folders.
* ``opensubtitles``: what an OpenSubtitles-like search found for the file
  (:attr:`Account.subtitle_matches`, which the demo library fills for its video).

Keys are opaque (``folder-<srt id>``, ``opensubtitles-<video id>-<code>``); the key
``default`` means the first folder subtitle, else the first OpenSubtitles one, and the
listing's ``default`` names that key (null when there is none). ``format=srt`` (the default)
serves the subtitle as UTF-8 SubRip, ``format=webvtt`` converted to WebVTT (the ``WEBVTT``
header, ``.`` as the decimal separator of the cue times, the numbers kept as cue
identifiers). Only videos have subtitles; any other file has none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from putiofs.emulator.account.state import Account, Node

FORMATS = {"srt": "application/x-subrip; charset=utf-8", "webvtt": "text/vtt; charset=utf-8"}
#: Names of the ISO 639-1 and 639-2 codes a folder subtitle's tag is most often.
LANGUAGES = {
    "en": "English", "eng": "English", "fr": "French", "fre": "French", "fra": "French",
    "de": "German", "ger": "German", "deu": "German", "es": "Spanish", "spa": "Spanish",
    "it": "Italian", "ita": "Italian", "pt": "Portuguese", "por": "Portuguese",
    "nl": "Dutch", "dut": "Dutch", "nld": "Dutch", "tr": "Turkish", "tur": "Turkish",
    "ru": "Russian", "rus": "Russian", "ja": "Japanese", "jpn": "Japanese",
}
_CUE_TIME = re.compile(r"(\d+:\d\d:\d\d),(\d{1,3})")


@dataclass(frozen=True)
class Found:
    """One subtitle of a video; ``item`` is the folder .srt's id (None: a search match)."""

    key: str
    language: str | None
    language_code: str | None
    name: str
    source: str
    text: str | None = None
    item: int | None = None


def stem_of(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name.strip(".") else name


def found_for(account: Account, video: Node) -> list[Found]:
    """Every subtitle of ``video``: the folder's first (by name), then the search's."""
    if video.is_dir or video.type != "movie":
        return []
    stem = stem_of(video.name).casefold()
    folder = account.nodes.get(video.parent_id)
    beside: list[Found] = []
    for child_id in folder.children if folder is not None else ():
        node = account.nodes[child_id]
        name = node.name.casefold()
        if node.is_dir or not name.endswith(".srt") or not name.startswith(stem + "."):
            continue
        tag = name[len(stem) + 1:-len(".srt")]
        if "." in tag:
            continue
        code = tag or None
        beside.append(Found(f"folder-{node.id}", LANGUAGES.get(tag), code, node.name,
                            "folder", item=node.id))
    beside.sort(key=lambda found: (found.language_code is not None, found.name))
    matches = [Found(f"opensubtitles-{video.id}-{code}", language, code,
                     f"{stem_of(video.name)}.{code}.srt", "opensubtitles", text)
               for code, language, text in account.subtitle_matches.get(video.id, ())]
    return beside + matches


def listing(account: Account, video: Node, root_url: str) -> dict:
    """The ``/files/{id}/subtitles`` payload (without the envelope's status)."""
    found = found_for(account, video)
    url = f"{root_url}/v2/files/{video.id}/subtitles"
    return {
        "default": found[0].key if found else None,
        "subtitles": [{"key": f.key, "language": f.language, "language_code": f.language_code,
                       "name": f.name, "source": f.source, "format": "srt",
                       "url": f"{url}/{f.key}?format=srt"} for f in found],
    }


def text_of(account: Account, video: Node, key: str) -> str | None:
    """The SubRip text of the subtitle ``key`` (or ``default``), None if there is none."""
    found = found_for(account, video)
    chosen = found[:1] if key == "default" else [f for f in found if f.key == key]
    if not chosen:
        return None
    if chosen[0].item is None:
        return chosen[0].text
    data = account.file_bytes(str(chosen[0].item))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # put.io serves every subtitle as UTF-8


def webvtt(srt: str) -> str:
    """A SubRip text as WebVTT: the header, then the cues with '.' in their times."""
    lines = srt.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out = ["WEBVTT", ""]
    for line in lines:
        out.append(_CUE_TIME.sub(lambda m: f"{m.group(1)}.{m.group(2):0<3}", line)
                   if "-->" in line else line)
    return "\n".join(out).rstrip("\n") + "\n"


def rendered(srt: str, fmt: str) -> bytes:
    """The subtitle in ``fmt`` (a key of :data:`FORMATS`), UTF-8."""
    if fmt == "webvtt":
        return webvtt(srt).encode("utf-8")
    return srt.lstrip("\ufeff").encode("utf-8")
