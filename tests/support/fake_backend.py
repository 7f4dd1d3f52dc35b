"""An in-memory Backend that counts calls: for cache and fs unit tests without HTTP.

Uploads (``upload_begin`` ... ``set_mtime``) behave as put.io's TUS: a ticket per upload, the
server's offset, the new item once complete. Failures are injected with ``send_faults``: each
PATCH pops one (an exception to raise, or ``("cut", n, exc)``: take ``n`` bytes, then raise
``exc``, as a connection dropped half-way); ``quota_left`` refuses uploads past it.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, BinaryIO

from putiofs.api.backend import (
    ROOT_ID,
    Capabilities,
    Entry,
    FolderRef,
    Quota,
    UploadProgress,
    UploadTicket,
)
from putiofs.api.errors import (
    NameExistsError,
    NotFoundError,
    QuotaExceededError,
    TransportError,
    UploadOffsetError,
)

WRITABLE = Capabilities(folder_map=True, write_contents=True, set_times=True)


class FakeBackend:
    capabilities = Capabilities(folder_map=True)

    def __init__(self) -> None:
        self.items: dict[str, Entry] = {}
        self.data: dict[str, bytes] = {}
        self.calls: Counter[str] = Counter()
        self.fail_with: Exception | None = None
        self._ids = itertools.count(100)
        self.uploads: dict[str, dict[str, Any]] = {}
        self.send_faults: list[Any] = []
        self.quota_left: int | None = None
        self.unique_names = False  # v2: rename refuses a name a sibling has
        self.offsets_sent: list[int] = []

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
        self._check_free(self.lookup(item_id).parent_id, name, item_id)
        self.items[item_id] = replace(self.lookup(item_id), name=name)
        return self.items[item_id]

    def move(self, item_id: str, parent_id: str, name: str | None = None) -> Entry:
        """One call that moves, and renames when ``name`` is given (as v2's)."""
        self._call("move")
        entry = self.lookup(item_id)
        self._check_free(parent_id, entry.name if name is None else name, item_id)
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
        if self.quota_left is not None:
            return Quota(total=10 * 2**30, available=self.quota_left)
        return Quota(total=10 * 2**30, available=4 * 2**30)

    @property
    def http_session(self) -> None:
        return None

    def _check_free(self, parent_id: str, name: str, item_id: str) -> None:
        if self.unique_names and any(e.parent_id == parent_id and e.name == name
                                     and e.id != item_id for e in self.items.values()):
            raise NameExistsError("NAME_ALREADY_EXIST")

    # -- uploads ---------------------------------------------------------------------------

    def upload_begin(self, parent_id: str, name: str, size: int,
                     mtime: float | None) -> UploadTicket:
        self._call("upload_begin")
        if parent_id != ROOT_ID and parent_id not in self.items:
            raise NotFoundError("Parent folder not found")
        if self.quota_left is not None and size > self.quota_left:
            raise QuotaExceededError("Not enough disk space")
        url = f"https://upload.example/files/{len(self.uploads)}"
        self.uploads[url] = {"parent": parent_id, "name": name, "size": size, "mtime": mtime,
                             "data": bytearray(), "entry": None}
        return UploadTicket(url=url, size=size)

    def upload_offset(self, ticket: UploadTicket) -> int:
        self._call("upload_offset")
        if ticket.url not in self.uploads:
            raise NotFoundError("Upload not found")
        return len(self.uploads[ticket.url]["data"])

    def upload_send(self, ticket: UploadTicket, offset: int, body: BinaryIO,
                    length: int) -> UploadProgress:
        self._call("upload_send")
        upload = self.uploads.get(ticket.url)
        if upload is None:
            raise NotFoundError("Upload not found")
        self.offsets_sent.append(offset)
        fault = self.send_faults.pop(0) if self.send_faults else None
        if offset != len(upload["data"]):
            raise UploadOffsetError("offset mismatch", status=409)
        if isinstance(fault, tuple):
            _, cut, exc = fault
            upload["data"] += body.read(min(cut, length))
            raise exc
        if fault is not None:
            raise fault
        chunk = body.read(length)
        assert len(chunk) == length, "the body had fewer bytes than its length"
        upload["data"] += chunk
        if len(upload["data"]) == upload["size"] and upload["entry"] is None:
            entry = self.add(upload["parent"], upload["name"], bytes(upload["data"]))
            entry = replace(entry, mtime=float(int(upload["mtime"] or 0)))
            self.items[entry.id] = upload["entry"] = entry
        return UploadProgress(offset=len(upload["data"]), entry=upload["entry"])

    def upload_abort(self, ticket: UploadTicket) -> None:
        self._call("upload_abort")
        self.uploads.pop(ticket.url, None)

    def set_mtime(self, item_id: str, mtime: float) -> None:
        self._call("set_mtime")
        self.items[item_id] = replace(self.lookup(item_id), mtime=float(int(mtime)))
