"""A screenshot made a freedesktop thumbnail PNG, and whether one on disk is still current.

Pillow is the optional extra ``putiofs[thumbnails]``: imported only here and only when
``--thumbnails`` asks for it (:func:`require_pillow` at mount start says what to install).
The PNG carries the spec's required keys ``Thumb::URI`` and ``Thumb::MTime`` (the file's
mtime as ``stat`` shows it in the mount, whole seconds), and ``Thumb::Size`` (its size) and
``Software``; no ``Thumb::Image::*``, which describe an original that is an image (ours is a
video). A thumbnail keeps the screenshot's aspect ratio and is never larger than it.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from putiofs.api.errors import UserError

PILLOW_MISSING = ("--thumbnails needs Pillow, which is not installed: "
                  "pip install 'putiofs[thumbnails]' (or: pip install pillow)")
SOFTWARE = "putiofs"
#: A screenshot with more pixels than this is not decoded (put.io's are a few hundred
#: thousand; Pillow would warn on stderr from 89 million on).
MAX_PIXELS = 40_000_000


def require_pillow() -> None:
    """A UserError of one line saying what to install when Pillow cannot be imported."""
    try:
        import PIL.Image  # noqa: F401
        import PIL.PngImagePlugin  # noqa: F401
    except ImportError:
        raise UserError(PILLOW_MISSING) from None


@dataclass(frozen=True)
class Original:
    """The file a thumbnail stands for, as a file manager sees it in the mount."""

    uri: str
    mtime: int  # st_mtime, whole seconds
    size: int   # st_size


def render(screenshot: bytes, original: Original, largest: int) -> bytes:
    """A PNG of ``screenshot`` (JPEG, PNG, ... whatever Pillow reads) at most ``largest``
    pixels on its longer side, with the spec's keys. ValueError (or Pillow's OSError) for
    bytes that are not an image Pillow reads."""
    from PIL import Image, PngImagePlugin

    with Image.open(io.BytesIO(screenshot)) as source:
        width, height = source.size
        if width * height > MAX_PIXELS:
            raise ValueError(f"a screenshot of {width}x{height} pixels is too large")
        source.draft("RGB", (largest, largest))  # JPEG: decode at a reduced scale
        picture = source.convert("RGBA" if "A" in source.getbands() else "RGB")
    picture.thumbnail((largest, largest), Image.Resampling.LANCZOS)  # never enlarges
    info = PngImagePlugin.PngInfo()
    info.add_text("Thumb::URI", original.uri)
    info.add_text("Thumb::MTime", str(original.mtime))
    info.add_text("Thumb::Size", str(original.size))
    info.add_text("Software", SOFTWARE)
    out = io.BytesIO()
    picture.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def is_current(path: Path, original: Original) -> bool:
    """A thumbnail at ``path`` already stands for ``original`` (its URI and MTime keys match,
    as the spec says a reader checks); False if there is none or it cannot be read."""
    from PIL import Image

    try:
        with Image.open(path) as thumbnail:
            info = thumbnail.info
    except (OSError, SyntaxError, ValueError):
        return False
    return (info.get("Thumb::URI") == original.uri
            and info.get("Thumb::MTime") == str(original.mtime))


def make_folder(folder: Path, owner: tuple[int, int] | None = None) -> None:
    """``folder`` and any missing parents, each made 0700 (the spec's mode for the
    thumbnail folders), and given to ``owner`` (uid, gid) when one is named."""
    missing = []
    current = folder
    while not current.exists():
        missing.append(current)
        current = current.parent
    for made in reversed(missing):
        with contextlib.suppress(FileExistsError):
            made.mkdir(mode=0o700)
            if owner is not None:
                os.chown(made, *owner)


def write_atomically(path: Path, data: bytes, owner: tuple[int, int] | None = None) -> None:
    """``data`` at ``path``, mode 0600, through a temporary file in the same folder renamed
    over it, so a reader never sees half a PNG."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".putiofs-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            if owner is not None:
                os.fchown(out.fileno(), *owner)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
