"""The names of a video's sidecars: ``<stem>.<language code>.srt``, the stem being the video's
shown name without its last extension (``Movie.mkv`` -> ``Movie``).

* The language code is put.io's (ISO 639-2, ``eng``; players read 639-1 and 639-2 codes
  alike), lower-cased; one that is missing or is not a plain code (letters, digits and ``-``,
  at most 12) gives ``<stem>.srt``, the name players load as the video's default subtitle.
* Two subtitles of one language: the first (in put.io's order) ``<stem>.eng.srt``, the next
  ``<stem>.eng.2.srt``, ``<stem>.eng.3.srt``... so the names stay as they are when a real
  file comes or goes.
* A subtitle whose source is ``folder`` gets none: it is a real .srt of the folder already.
* A name a real item of the folder has (or a pending file, or an earlier sidecar) is not
  given: the real file wins and that sidecar is not shown (no renumbering around it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from putiofs.api.backend import Subtitle

SUFFIX = ".srt"
#: The source put.io gives a .srt file it found beside the video.
FOLDER_SOURCE = "folder"
_CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,11}")


def stem_of(name: str) -> str:
    """``Movie.mkv`` -> ``Movie``; a name without an extension (or only a leading dot) is
    its own stem."""
    head, dot, _ = name.rpartition(".")
    return head if dot and head.strip(".") else name


def language_tag(code: str | None) -> str | None:
    """The code as a name part (lower case), or None when it is missing or not plain."""
    tag = (code or "").strip().lower()
    return tag if _CODE.fullmatch(tag) else None


def sidecar_names(video_name: str, subtitles: Iterable[Subtitle],
                  taken: Callable[[str], bool]) -> list[tuple[str, Subtitle]]:
    """(name, subtitle) of each sidecar a video shown as ``video_name`` gets, in put.io's
    order; ``taken(name)``: a real item (or a pending file) of the folder has that name."""
    stem = stem_of(video_name)
    seen: dict[str | None, int] = {}
    named = []
    for subtitle in subtitles:
        if subtitle.source == FOLDER_SOURCE:
            continue
        tag = language_tag(subtitle.language_code)
        number = seen[tag] = seen.get(tag, 0) + 1
        parts = [stem, *([tag] if tag else []), *([str(number)] if number > 1 else [])]
        name = ".".join(parts) + SUFFIX
        if not taken(name):
            named.append((name, subtitle))
    return named
