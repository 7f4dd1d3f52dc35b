"""``/.putio/search/<query>/``: one folder per query, holding the files put.io finds for it.

A query folder's name is the query as it was typed, so it follows the mount's name rules by
construction: a name over 255 bytes is ENAMETOOLONG (as anywhere in the mount; it is never
searched, so never listed), ``∕`` in it stands for ``/`` (names.to_remote), and a name that is
not valid UTF-8 finds nothing (ENOENT). The folder lists exactly the queries searched in the
last ``ttl`` seconds, and each listed name looks up to the same results. A query put.io refuses
is no folder (ENOENT). The results are named as in any folder (:func:`putiofs.tree.names.assign`).
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable

from cachetools import TTLCache

from putiofs.api.backend import Entry
from putiofs.api.errors import BadRequestError
from putiofs.api.services import AccountServices
from putiofs.front.errno_map import fail
from putiofs.tree import names

log = logging.getLogger("putiofs.front.control")


class Searches:
    """The queries searched lately and their results (shown name -> Entry)."""

    def __init__(self, services: AccountServices, *, ttl: float = 30.0, max_searches: int = 64,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.services = services
        self._found: TTLCache[str, dict[str, Entry]] = TTLCache(
            max_searches, max(ttl, 0.1), timer=clock)
        self._lock = threading.Lock()

    def folder_names(self) -> list[str]:
        with self._lock:
            return sorted(self._found.keys())

    def results(self, folder_name: str) -> dict[str, Entry]:
        """The results of the query a folder name stands for (searched, or reused)."""
        names.check_length(folder_name)
        with self._lock:
            found = self._found.get(folder_name)
        if found is not None:
            return found
        try:
            query = names.to_remote(folder_name)
        except names.InvalidName:
            raise fail(errno.ENOENT) from None
        try:
            entries = self.services.search(query)
        except BadRequestError as exc:  # put.io refuses the query: there is no such folder
            log.debug("search %r refused: %s", query, exc)
            raise fail(errno.ENOENT) from None
        found = names.assign(entries)  # type: ignore[assignment]
        with self._lock:
            self._found[folder_name] = found
        return found
