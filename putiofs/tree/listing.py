"""One folder's children as the mount shows them: :class:`Listing` (held by
:mod:`putiofs.tree.cache`, edited in place by changes made through the mount and by realtime
events)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, ValuesView

from putiofs.api.backend import Entry
from putiofs.tree import names


class Listing:
    """One folder's children, as fetched, with the names the mount shows for them.

    Changes made through the mount edit it in place (:meth:`put`, :meth:`discard`): only the
    edited item's name group is worked out again (``names.NameTable``), never the whole folder.
    ``by_name`` (shown name → entry) is that table's live dict and ``entries`` a live view of
    the entries; both change under the owning cache's lock. A single operation on either
    (``get``, ``len``, ``set(by_name)``, ``sorted(by_name)``, ``list(entries)``) is atomic;
    iterate step by step only over a copy. Memory: one dict of entries and one of shown names
    per folder, plus an NFC index that holds only the names not already in NFC.
    """

    def __init__(self, folder_id: str, entries: Iterable[Entry],
                 fetched_at: float | None = None,
                 seniority: names.Seniority | None = None) -> None:
        self.folder_id = folder_id
        self.fetched_at = time.monotonic() if fetched_at is None else fetched_at
        self._names: names.NameTable[Entry] = names.NameTable(entries, seniority)
        self._lock = threading.Lock()

    @property
    def by_name(self) -> dict[str, Entry]:
        return self._names.shown

    @property
    def entries(self) -> ValuesView[Entry]:
        return self._names.items.values()

    def __len__(self) -> int:
        return len(self._names.items)

    def get(self, item_id: str) -> Entry | None:
        """The child of this id, if the listing holds it."""
        return self._names.items.get(item_id)

    def shown_name(self, item_id: str) -> str | None:
        with self._lock:
            return self._names.shown_name(item_id)

    def find(self, name: str) -> Entry | None:
        """The child a typed name means: exact, else an unambiguous NFC match (names.lookup)."""
        found = self._names.shown.get(name)
        if found is not None:
            return found
        with self._lock:
            return self._names.lookup(name)

    def named(self, name: str) -> list[Entry]:
        """The children whose put.io name is exactly ``name`` (a name put.io stores as typed:
        no '/', not reserved, short enough), by priority."""
        with self._lock:
            return [e for e in self._names.group(names.clean(name)) if e.name == name]

    def group(self, key: str) -> list[Entry]:
        """The children claiming the shown name ``key`` (:func:`names.group_key`)."""
        with self._lock:
            return self._names.group(key)

    def put(self, entry: Entry) -> None:
        """Add ``entry``, or replace the entry of its id."""
        with self._lock:
            self._names.put(entry)

    def discard(self, entry_id: str) -> None:
        with self._lock:
            self._names.discard(entry_id)
