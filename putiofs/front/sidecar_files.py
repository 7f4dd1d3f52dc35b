"""The subtitle sidecars as the FUSE front shows them (:mod:`putiofs.subtitles`): names merged
into their folder's listing, attributes, and reads from the texts held in memory.

A sidecar is a regular file of mode 0444 owned as the video is, with the video's times and
the exact size of its SubRip text; its inode is its own (hashed from the video's id and the
subtitle's key). It is read-only: an open for writing, a truncate, unlink, rename of it,
chmod, chown, utimens and xattr changes are ``EACCES`` (:class:`PermissionDeniedError`,
through the front's one errno map), as its mode says (the kernel's own permission check
answers the same for an open for writing). ``EROFS`` would tell a program that the whole
mount is read-only, which it is not. A real item of the folder, or a file being written
there, always wins over a sidecar of its name: the sidecar is then not shown.

Nothing here makes an API call for a name that is not a sidecar, and readdir and getattr
make none at all for sidecars: they read what the background work learnt. Only an open of a
sidecar whose text was pushed out of memory fetches it again (within the call's deadline).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Any, NoReturn

from putiofs.api.errors import PermissionDeniedError, PutioError
from putiofs.front.attributes import Attributes, inode
from putiofs.subtitles.naming import SUFFIX
from putiofs.subtitles.sidecars import Sidecar, Sidecars
from putiofs.tree.cache import MetadataCache, split_path
from putiofs.write.overlay import Overlay

MODE = 0o444


@dataclass
class OpenSidecar:
    """A sidecar open for reading: its bytes and the attributes it was opened with."""

    sidecar: Sidecar
    data: bytes
    attributes: dict[str, Any]


class SidecarFiles:
    """The sidecars of the mount's folders; none until :meth:`attach` gives the learnt
    subtitles (``--no-subtitles``, or an API without them: none at all)."""

    def __init__(self, cache: MetadataCache, attributes: Attributes, overlay: Overlay) -> None:
        self.cache = cache
        self.attributes = attributes
        self.overlay = overlay
        self.sidecars: Sidecars | None = None

    def attach(self, sidecars: Sidecars) -> None:
        self.sidecars = sidecars

    def names_in(self, folder_id: str, shown: set[str]) -> list[str]:
        """The sidecar names a folder adds to the ``shown`` ones (none of those)."""
        if self.sidecars is None:
            return []
        return [name for name in self.sidecars.in_folder(folder_id) if name not in shown]

    def at(self, path: str) -> Sidecar | None:
        """The sidecar at ``path``, or None (no sidecar of that name, a pending file there,
        or the folder's listing not at hand). Any error on the way is "none"."""
        parts = split_path(path)
        if self.sidecars is None or not parts or not parts[-1].endswith(SUFFIX):
            return None
        try:
            folder = self.cache.resolve("/".join(parts[:-1]))
            if not folder.is_dir or self.overlay.pending_at(path) is not None:
                return None
        except PutioError:
            return None
        return self.sidecars.in_folder(folder.id).get(parts[-1])

    def stat(self, sidecar: Sidecar) -> dict[str, Any]:
        shown = dict(self.attributes.stat(sidecar.video))
        size = sidecar.track.size
        shown.update(st_mode=stat.S_IFREG | MODE, st_size=size, st_blocks=(size + 511) // 512,
                     st_ino=inode(f"subtitle:{sidecar.video.id}:{sidecar.track.subtitle.key}"))
        return shown

    def open(self, sidecar: Sidecar, flags: int) -> OpenSidecar:
        """An open for reading; one for writing (or truncating) is refused."""
        if flags & os.O_ACCMODE != os.O_RDONLY or flags & os.O_TRUNC:
            refuse()
        assert self.sidecars is not None
        return OpenSidecar(sidecar, self.sidecars.text(sidecar), self.stat(sidecar))


def read(handle: OpenSidecar, size: int, offset: int) -> bytes:
    return handle.data[offset:offset + size]


def refuse() -> NoReturn:
    raise PermissionDeniedError("a subtitle sidecar is read-only")
