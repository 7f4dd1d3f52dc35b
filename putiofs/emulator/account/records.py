"""The account's records: files and folders (:class:`Node`), messages, transfers, history
events, subscriptions, friends, and the snapshot of one file the data URLs serve.

Plain data: the account (:mod:`~putiofs.emulator.account.state`) and its parts (the trash, the
transfer queue) all build on these, so this module imports none of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from putiofs.emulator.account.filetypes import type_name

ROOT_ID = 0
ROOT_NAME = "Your Files"


@dataclass(eq=False)
class Node:
    """A file or folder. Files hold either ``data`` or a ``path`` read lazily from disk."""

    id: int
    name: str
    parent_id: int
    is_dir: bool
    created: float
    data: bytes | None = None
    path: Path | None = None
    size: int = 0
    children: dict[int, None] = field(default_factory=dict)
    #: The modification time (epoch seconds); the creation time until something sets it.
    updated: float = 0.0
    #: The CRC-32 of the bytes as 8 lowercase hex digits, once computed (see Account.crc32_of).
    crc: str | None = None

    def __post_init__(self) -> None:
        self.updated = self.updated or self.created

    @property
    def type(self) -> str:
        return type_name(self.name, self.is_dir)


def subtree(top: Node, nodes: Mapping[int, Node]) -> list[Node]:
    """``top`` and every node below it, looked up in ``nodes`` (the tree's, or the trash's);
    without recursion, so nesting depth costs no stack."""
    found, stack = [], [top]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(nodes[c] for c in current.children)
    return found


@dataclass
class Message:
    id: int
    title: str
    file_name: str
    file_type: str
    user_file_id: int
    importance: int = 0
    channel: int = 2
    hidden: int = 0
    from_user_id: int | None = None
    description: str | None = None


@dataclass
class Transfer:
    id: int
    name: str
    link: str
    started: float
    error: str | None = None
    file_id: int | None = None
    save_parent_id: int = 0
    #: When it completed or failed (epoch seconds), None while under way.
    finished: float | None = None
    callback_url: str | None = None


@dataclass
class Event:
    """A history event: ``kind`` is put.io's event type ("upload", "transfer_completed", ...),
    ``fields`` its type-specific fields."""

    id: int
    kind: str
    created: float
    fields: dict[str, object]


@dataclass
class Subscription:
    id: int
    name: str
    url: str
    do_filters: str = ""
    dont_filters: str = ""
    parent_folder_id: int = 0
    paused: bool = False
    last_update: float = 0.0


@dataclass
class Friend:
    id: int
    name: str
    dir_id: int


@dataclass(frozen=True)
class FileSource:
    """What the data URLs need to serve one file, taken under the lock and used outside it."""

    id: int
    name: str
    size: int
    created: float
    data: bytes | None
    path: Path | None

    @property
    def etag(self) -> str:
        digest = hashlib.sha1(f"{self.id}:{self.size}:{self.created!r}".encode()).hexdigest()
        return f'"{digest[:20]}"'

    def chunks(self, start: int, end: int, chunk_size: int = 256 * 1024) -> Iterator[bytes]:
        """Yield bytes ``start`` .. ``end`` (inclusive), from memory or from disk in chunks."""
        remaining = end - start + 1
        if self.data is not None:
            view = memoryview(self.data)
            while remaining > 0:
                n = min(chunk_size, remaining)
                yield bytes(view[start : start + n])
                start += n
                remaining -= n
            return
        assert self.path is not None
        with self.path.open("rb") as fh:
            fh.seek(start)
            while remaining > 0:
                chunk = fh.read(min(chunk_size, remaining))
                if not chunk:
                    raise OSError(f"file {self.id} is shorter on disk than when it was seeded")
                remaining -= len(chunk)
                yield chunk
