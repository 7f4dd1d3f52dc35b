"""Where a file's freedesktop thumbnail lives: ``<root>/<size>/<md5 of its URI>.png``.

File managers look a thumbnail up by the MD5 of the file's URI as *they* spell it, so the URI
here is exactly GLib's ``g_filename_to_uri`` (GTK: Nautilus, PCManFM, Thunar, Caja, Nemo):
``file://`` and the absolute path's bytes, every byte percent-encoded (upper-case hex) except
ASCII letters, digits and ``!$&'()*+,-./:=@_~`` (GLib's "unsafe path" table: space, ``"``,
``#``, ``%``, ``;``, ``<``, ``>``, ``?``, ``[``, ``\\``, ``]``, ``^``, `````, ``{``, ``|``,
``}``, control characters and every non-ASCII byte are escaped).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import quote

#: The spec's folders and the largest side of a thumbnail in each (pixels).
SIZES = {"normal": 128, "large": 256}
#: What GLib leaves unescaped in a path, besides ASCII letters and digits (and ``_.-~``,
#: which :func:`urllib.parse.quote` never escapes).
_PATH_SAFE = "/!$&'()*+,:=@"


def file_uri(path: str) -> str:
    """``g_filename_to_uri(path)``: ``path`` is absolute; its bytes are the filesystem's
    (:func:`os.fsencode`, so a name kept as surrogate escapes is encoded as its bytes)."""
    return "file://" + quote(os.fsencode(path), safe=_PATH_SAFE)


def thumbnail_name(uri: str) -> str:
    return hashlib.md5(uri.encode("ascii")).hexdigest() + ".png"  # noqa: S324 - the spec's


def default_root(environ: dict[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/thumbnails`` (an absolute value only, as the XDG spec says), else
    ``~/.cache/thumbnails``: the thumbnails of the user the mount runs as."""
    env = os.environ if environ is None else environ
    cache = env.get("XDG_CACHE_HOME", "")
    base = Path(cache) if os.path.isabs(cache) else Path.home() / ".cache"
    return base / "thumbnails"


def thumbnail_path(root: Path, size: str, uri: str) -> Path:
    return root / size / thumbnail_name(uri)
