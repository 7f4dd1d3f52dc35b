"""An in-memory Backend that counts calls: for cache and fs unit tests without HTTP."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

from putiofs.backend import ROOT_ID, Capabilities, Entry, FolderRef, Quota
from putiofs.errors import NotFoundError, TransportError


class FakeBackend:
    capabilities = Capabilities(folder_map=True)

    def __init__(self) -> None:
        self.items: dict[str, Entry] = {}
        self.data: dict[str, bytes] = {}
        self.calls: Counter[str] = Counter()
        self.fail_with: Exception | None = None
        self._ids = itertools.count(100)

    def add(self, parent_id: str, name: str, data: bytes | None = None) -> Entry:
        item_id = str(next(self._ids))
        entry = Entry(id=item_id, name=name, is_dir=data is None, size=len(data or b""),
                      parent_id=parent_id, type="folder" if data is None else "file")
        self.items[item_id] = entry
        if data is not None:
            self.data[item_id] = data
        return entry

    def _call(self, name: str) -> None:
        self.calls[name] += 1
        if self.fail_with is not None:
            raise self.fail_with

    def list_folder(self, folder_id: str) -> Iterator[Entry]:
        self._call("list_folder")
        if folder_id != ROOT_ID and folder_id not in self.items:
            raise NotFoundError("Item not found")
        return iter([e for e in self.items.values() if e.parent_id == folder_id])

    def lookup(self, item_id: str) -> Entry:
        self._call("lookup")
        if item_id not in self.items:
            raise NotFoundError("Item not found")
        return self.items[item_id]

    def folder_map(self) -> list[FolderRef]:
        self._call("folder_map")
        return [FolderRef(e.id, e.name, e.parent_id) for e in self.items.values() if e.is_dir]

    def rename(self, item_id: str, name: str) -> Entry:
        self._call("rename")
        self.items[item_id] = replace(self.lookup(item_id), name=name)
        return self.items[item_id]

    def move(self, item_id: str, parent_id: str, name: str | None = None) -> Entry:
        """One call that moves, and renames when ``name`` is given (as v2's)."""
        self._call("move")
        entry = self.lookup(item_id)
        self.items[item_id] = replace(entry, parent_id=parent_id,
                                      name=entry.name if name is None else name)
        return self.items[item_id]

    def delete(self, item_id: str) -> None:
        self._call("delete")
        self.lookup(item_id)
        doomed = [item_id]
        while doomed:
            current = doomed.pop()
            self.items.pop(current, None)
            doomed.extend(e.id for e in list(self.items.values()) if e.parent_id == current)

    def make_folder(self, parent_id: str, name: str) -> Entry:
        self._call("make_folder")
        return self.add(parent_id, name)

    def stream_url(self, entry: Entry, *, refresh_token: bool = False) -> str:
        raise TransportError("the fake backend serves no bytes")

    def quota(self) -> Quota | None:
        self._call("quota")
        return Quota(total=10 * 2**30, available=4 * 2**30)

    @property
    def http_session(self) -> None:
        return None
