"""The account's folder map (v1 ``dirmap``) as the cache uses it to resolve deep paths."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from cachetools import TTLCache

from putiofs.api.backend import Backend, Entry, FolderRef
from putiofs.api.errors import NotSupportedError, PutioError
from putiofs.tree import names

log = logging.getLogger(__name__)


class FolderMap:
    """Every folder of the account by parent; each parent's shown names worked out once."""

    def __init__(self, refs: list[FolderRef]) -> None:
        self._children: dict[str, list[FolderRef]] = {}
        for ref in refs:
            self._children.setdefault(ref.parent_id, []).append(ref)
        self._shown: dict[str, dict[str, FolderRef]] = {}

    def child(self, parent_id: str, name: str) -> FolderRef | None:
        shown = self._shown.get(parent_id)
        if shown is None:
            shown = names.assign(self._children.get(parent_id, []))  # type: ignore[assignment]
            self._shown[parent_id] = shown
        return names.lookup(shown, name)  # type: ignore[return-value]


class FolderMaps:
    """The account's folder map for :class:`putiofs.tree.cache.MetadataCache`: asked for when a deep
    path needs it, kept for ``ttl`` seconds or until a folder changes through the mount
    (:meth:`drop`). A backend without one (``capabilities.folder_map`` False, or
    NotSupportedError once) is never asked again; after any other failure the next deep path
    asks again."""

    def __init__(self, backend: Backend, *, ttl: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._backend = backend
        self._available = backend.capabilities.folder_map
        self._held: TTLCache[str, FolderMap] = TTLCache(1, ttl, timer=clock)
        self._lock = threading.Lock()

    def drop(self) -> None:
        with self._lock:
            self._held.clear()

    def walk(self, start: Entry, parts: list[str], index: int) -> tuple[Entry, int] | None:
        """Walk the folder map down ``parts[index:-1]`` as far as it goes, without listings:
        the folder reached and the index of the first part not walked, or None.

        Stops early at a component the map does not know (it may be a file, or new): the normal
        walk then takes over from there, so the map saves calls without changing answers. (The
        one exception: a *file* literally named like a folder's duplicate suffix, ``X [#12]``,
        would take that shown name in a full listing; the map, which sees folders only, cannot
        know. Vanishingly rare, and the final listing still decides the last component.)
        """
        folder_map = self._current()
        if folder_map is None:
            return None
        current, moved = start, False
        while index < len(parts) - 1:
            ref = folder_map.child(current.id, parts[index])
            if ref is None:
                break
            current = Entry(id=ref.id, name=ref.name, is_dir=True, size=0,
                            parent_id=current.id, type="folder")
            index += 1
            moved = True
        return (current, index) if moved else None

    def _current(self) -> FolderMap | None:
        if not self._available:
            return None
        with self._lock:
            cached = self._held.get("map")
        if cached is not None:
            return cached
        try:
            folder_map = FolderMap(self._backend.folder_map())
        except NotSupportedError:
            self._available = False
            log.debug("the API has no folder map; resolving level by level")
            return None
        except PutioError as exc:
            log.debug("folder map unavailable (%s); resolving level by level", type(exc).__name__)
            return None
        with self._lock:
            self._held["map"] = folder_map
        return folder_map
