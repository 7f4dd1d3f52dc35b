"""The emulated account, the same for every API version: the file tree (with creation and
modification times and CRC-32s), the trash (:mod:`~putiofs.emulator.account.trash`), transfers
(:mod:`~putiofs.emulator.account.transfers`), history events, messages, subscriptions, friends
and v1 stream tokens. The trash and the transfer queue are collaborators with their own state;
they reach the tree, the clock and the lock through the account.

Everything lives in memory behind one re-entrant lock. Ids are plain integers internally; the
public helpers (used by tests) take and return them as strings, as the API does. Errors are
raised as :class:`ApiError` carrying the exact message the API puts in its envelope.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from putiofs.emulator.account.filetypes import human_size
from putiofs.emulator.account.records import (
    ROOT_ID,
    ROOT_NAME,
    Event,
    FileSource,
    Friend,
    Message,
    Node,
    Subscription,
    Transfer,
    subtree,
)
from putiofs.emulator.account.transfers import TransferQueue
from putiofs.emulator.account.trash import Trash

DISK_QUOTA = 50 * 1024**3
BW_QUOTA = 100 * 1024**3
_MAX_TOKENS = 10_000


class ApiError(Exception):
    """An error the API reports in its envelope.

    ``kind`` classifies it for the legacy dialect's HTTP status: "route" (unknown service or
    method) and "param" (missing or invalid parameter) answer 404 there; "auth", "not_found",
    "conflict" and "malformed" answer 200 like every error of the doc dialect.
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


def missing(name: str) -> ApiError:
    return ApiError(f"Missing parameter: {name}", "param")


def invalid(name: str) -> ApiError:
    return ApiError(f"Invalid parameter: {name}", "param")


def not_found(what: str = "Item") -> ApiError:
    return ApiError(f"{what} not found", "not_found")


class Account:
    """One put.io account. Every public method is thread-safe."""

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        user_id: int = 1001,
        user_name: str = "demo",
        transfer_seconds: float = 3.0,
        disk_size: int = DISK_QUOTA,
        trash_enabled: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.user_id = user_id
        self.user_name = user_name
        #: How long a job takes to finish: a transfer (and in v2 a zip or an mp4 conversion).
        self.transfer_seconds = transfer_seconds
        self.disk_size = disk_size
        self.trash_enabled = trash_enabled
        self.clock = clock
        self.lock = threading.RLock()
        self.bw_used = 0
        self._last_created = 0.0
        self._next_id = 1
        self._size_cache: dict[int, int] = {}
        self.nodes: dict[int, Node] = {ROOT_ID: Node(ROOT_ID, ROOT_NAME, -1, True, clock())}
        self.messages: dict[int, Message] = {}
        self._next_message_id = 3770
        self.subscriptions: dict[int, Subscription] = {}
        self._next_subscription_id = 860
        self.friends: list[Friend] = []
        #: What an OpenSubtitles-like search finds for a file, by item id: (language code,
        #: language, SubRip text) each (v2 serves them, see ``putiofs.emulator.v2.subtitles``).
        self.subtitle_matches: dict[int, list[tuple[str, str, str]]] = {}
        self._tokens: dict[str, float] = {}
        self.events: list[Event] = []
        self._next_event_id = 5000
        self.trash = Trash(self)
        #: The transfers by id, and their progress over time.
        self.transfers = TransferQueue(self)
        #: Told of every change to the tree (see :meth:`changed`); v2's realtime feed sets it.
        self.on_change: Callable[[str, Node], None] | None = None

    # ----------------------------------------------------------------- public helpers (tests)

    def add_folder(self, parent_id: str, name: str, *, created: float | None = None) -> str:
        """Create a folder and return its id (same rules as ``files?method=create_dir``)."""
        with self.lock:
            return str(self.create(self.parse_id(parent_id), name, True, created=created).id)

    def add_file(
        self,
        parent_id: str,
        name: str,
        data: bytes | None = None,
        path: Path | None = None,
        *,
        created: float | None = None,
    ) -> str:
        """Create a file holding ``data``, or the bytes of ``path`` (read lazily); return its id."""
        if data is not None and path is not None:
            raise ValueError("give data or path, not both")
        with self.lock:
            node = self.create(self.parse_id(parent_id), name, False, created=created)
            if path is not None:
                node.path = Path(path)
                node.size = node.path.stat().st_size
            else:
                node.data = bytes(data or b"")
                node.size = len(node.data)
            self._size_cache.clear()
            return str(node.id)

    def item(self, item_id: str) -> dict | None:
        """A snapshot of one item (``id``, ``name``, ``parent_id``, ``is_dir``, ``size`` as int,
        ``type``, ``created``), or None when it does not exist."""
        with self.lock:
            self.advance()
            node = self.nodes.get(self.parse_id(item_id))
            return None if node is None else self._snapshot(node)

    def children(self, folder_id: str) -> list[dict]:
        """Snapshots of a folder's children in creation order."""
        with self.lock:
            self.advance()
            folder = self.folder(self.parse_id(folder_id))
            return [self._snapshot(self.nodes[c]) for c in folder.children]

    def delete(self, item_id: str) -> None:
        with self.lock:
            self.remove(self.parse_id(item_id))

    def rename(self, item_id: str, name: str) -> None:
        with self.lock:
            self.set_name(self.parse_id(item_id), name)

    def move(self, item_id: str, parent_id: str) -> None:
        with self.lock:
            self.relocate(self.parse_id(item_id), self.parse_id(parent_id))

    def file_bytes(self, item_id: str) -> bytes:
        """All the bytes the emulator serves for a file."""
        source = self.file_source(self.parse_id(item_id))
        return b"".join(source.chunks(0, source.size - 1))

    def add_transfer(self, link: str, save_parent_id: int = ROOT_ID) -> Transfer:
        """Queue a transfer of ``link`` (as ``transfers.add``)."""
        return self.transfers.add(link, save_parent_id)

    def transfer_progress(self, transfer: Transfer) -> tuple[str, str | None]:
        """v1's (status, percent_done) of a transfer now (as ``transfers.progress``)."""
        return self.transfers.progress(transfer)

    # ----------------------------------------------------------------------------- the tree

    @staticmethod
    def parse_id(value: object, name: str = "id") -> int:
        """An id given as a non-negative integer or a string of digits."""
        if isinstance(value, bool):
            raise invalid(name)
        if isinstance(value, int) and value >= 0:
            return value
        if isinstance(value, str) and value.isascii() and value.isdigit():
            return int(value)
        raise invalid(name)

    def node(self, node_id: int) -> Node:
        node = self.nodes.get(node_id)
        if node is None:
            raise not_found()
        return node

    def folder(self, node_id: int) -> Node:
        node = self.node(node_id)
        if not node.is_dir:
            raise ApiError("Target is not a folder", "conflict")
        return node

    def forget_sizes(self) -> None:
        """Drop the cached folder sums: call after any change to the tree."""
        self._size_cache.clear()

    def size_of(self, node: Node) -> int:
        """A file's size, or the sum of everything below a folder.

        Folder sums are cached until the next change of the tree and computed without
        recursion, so a chain of thousands of nested folders costs no stack.
        """
        if not node.is_dir:
            return node.size
        cache = self._size_cache
        stack = [(node, False)]
        while stack:
            current, summed = stack.pop()
            if current.id in cache:
                continue
            children = [self.nodes[c] for c in current.children]
            if summed:
                cache[current.id] = sum(cache[c.id] if c.is_dir else c.size for c in children)
                continue
            stack.append((current, True))
            stack.extend((c, False) for c in children if c.is_dir and c.id not in cache)
        return cache[node.id]

    def crc32_of(self, node: Node) -> str | None:
        """A file's CRC-32 (8 lowercase hex digits), None for a folder. Computed once, on
        first use: a ``--data`` file is read from disk then (under the lock)."""
        if node.is_dir:
            return None
        if node.crc is None:
            value = 0
            for chunk in self.file_source(node.id).chunks(0, node.size - 1, 1024 * 1024):
                value = zlib.crc32(chunk, value)
            node.crc = f"{value & 0xFFFFFFFF:08x}"
        return node.crc

    def put_file(self, parent_id: int, name: str, data: bytes, *,
                 updated: float | None = None) -> Node:
        """A new file holding ``data`` (an upload, a finished transfer, a copy)."""
        node = self.create(parent_id, name, False)
        node.data, node.size = data, len(data)
        if updated is not None:
            node.updated = updated
        self._size_cache.clear()
        return node

    def copy_tree(self, node_id: int, parent_id: int, name: str | None = None) -> Node:
        """A copy of a file or a whole folder under ``parent_id`` (new ids, new times)."""
        source = self._movable(node_id)
        target = self.folder(parent_id)
        if source.is_dir and self.is_within(target.id, source.id):
            raise ApiError("Cannot copy a folder into itself or its own subtree", "conflict")
        top = self.create(target.id, name or source.name, source.is_dir)
        pairs = [(source, top)]
        while pairs:
            original, copy = pairs.pop()
            copy.data, copy.path, copy.size, copy.crc = (
                original.data, original.path, original.size, original.crc)
            for child_id in list(original.children):
                child = self.nodes[child_id]
                pairs.append((child, self.create(copy.id, child.name, child.is_dir)))
        self._size_cache.clear()
        return top

    def post_event(self, kind: str, **fields: object) -> Event:
        """Record a history event (uploads, finished transfers, zips), newest last."""
        event = Event(self._next_event_id, kind, self.clock(), dict(fields))
        self._next_event_id += 1
        self.events.append(event)
        return event

    def changed(self, kind: str, node: Node) -> None:
        """Tell the realtime feed, if any, that ``node`` was created (``"create"``), changed
        name, folder or times (``"update"``), or is about to leave the tree (``"delete"``,
        told while it is still there, once for the top of a deleted subtree). Called under
        the lock by every change of the tree."""
        if self.on_change is not None:
            self.on_change(kind, node)

    def disk_used(self) -> int:
        """Bytes counted against the disk: the files and what waits in the trash."""
        return self.size_of(self.nodes[ROOT_ID]) + self.trash.size()

    def create(
        self, parent_id: int, name: object, is_dir: bool, *, created: float | None = None
    ) -> Node:
        if not isinstance(name, str) or not name:
            raise invalid("name")
        parent = self.folder(parent_id)
        if created is None:
            # Strictly increasing creation times keep createdat ordering deterministic.
            created = max(self.clock(), self._last_created + 0.001)
            self._last_created = created
        node = Node(self._next_id, name, parent.id, is_dir, created)
        self._next_id += 1
        self.nodes[node.id] = node
        parent.children[node.id] = None
        self._size_cache.clear()
        self.changed("create", node)
        return node

    def _movable(self, node_id: int) -> Node:
        if node_id == ROOT_ID:
            raise invalid("id")
        return self.node(node_id)

    def set_name(self, node_id: int, name: object) -> Node:
        node = self._movable(node_id)
        if not isinstance(name, str) or not name:
            raise invalid("name")
        node.name = name
        self.changed("update", node)
        return node

    def relocate(self, node_id: int, parent_id: int) -> Node:
        node = self._movable(node_id)
        target = self.folder(parent_id)
        if node.is_dir and self.is_within(target.id, node.id):
            raise ApiError("Cannot move a folder into itself or its own subtree", "conflict")
        del self.nodes[node.parent_id].children[node.id]
        target.children[node.id] = None
        node.parent_id = target.id
        self._size_cache.clear()
        self.changed("update", node)
        return node

    def remove(self, node_id: int) -> None:
        node = self._movable(node_id)
        self.changed("delete", node)
        del self.nodes[node.parent_id].children[node.id]
        for gone in subtree(node, self.nodes):
            del self.nodes[gone.id]
        self._size_cache.clear()

    def is_within(self, node_id: int, ancestor_id: int) -> bool:
        """True if ``node_id`` is ``ancestor_id`` or lies somewhere below it."""
        current = node_id
        while current != -1:
            if current == ancestor_id:
                return True
            current = self.nodes[current].parent_id
        return False

    def descendants(self, node_id: int = ROOT_ID) -> Iterator[Node]:
        """Every node below ``node_id`` (not itself), depth first in creation order."""
        stack = list(reversed(self.nodes[node_id].children))
        while stack:
            node = self.nodes[stack.pop()]
            yield node
            stack.extend(reversed(node.children))

    def file_source(self, node_id: int) -> FileSource:
        with self.lock:
            node = self.node(node_id)
            if node.is_dir:
                raise ApiError("Cannot download a folder", "conflict")
            return FileSource(node.id, node.name, node.size, node.created, node.data, node.path)

    def _snapshot(self, node: Node) -> dict:
        return {
            "id": str(node.id),
            "name": node.name,
            "parent_id": None if node.id == ROOT_ID else str(node.parent_id),
            "is_dir": node.is_dir,
            "size": self.size_of(node),
            "type": node.type,
            "created": node.created,
        }

    # ------------------------------------------------------------------------ credentials

    def credentials_match(self, api_key: str, api_secret: str) -> bool:
        key_ok = hmac.compare_digest(api_key.encode(), self.api_key.encode())
        secret_ok = hmac.compare_digest(api_secret.encode(), self.api_secret.encode())
        return key_ok and secret_ok

    # ----------------------------------------------------------------------------- tokens

    def issue_token(self, ttl: float) -> str:
        with self.lock:
            if len(self._tokens) >= _MAX_TOKENS:
                oldest = min(self._tokens, key=self._tokens.__getitem__)
                del self._tokens[oldest]
            token = secrets.token_urlsafe(24)
            self._tokens[token] = self.clock() + ttl
            return token

    def token_status(self, token: str) -> str:
        """"valid", "expired" or "unknown"."""
        with self.lock:
            expiry = self._tokens.get(token)
        if expiry is None:
            return "unknown"
        return "valid" if self.clock() < expiry else "expired"

    # -------------------------------------------------------------------------- messages

    def post_message(self, node: Node, verb: str = "downloaded") -> Message:
        size = human_size(self.size_of(node))
        title = (
            f'<a rel="userfile" href="/file/{node.id}">{node.name}</a> '
            f'<span class="dash-gray">({size}) {verb}</span>'
        )
        message = Message(self._next_message_id, title, node.name, node.type, node.id)
        self._next_message_id += 1
        self.messages[message.id] = message
        return message

    # -------------------------------------------------------------------------- transfers

    def advance(self) -> None:
        """Bring the account up to now: finish the transfers that are due (every API call and
        every snapshot does this first, so time alone moves transfers on)."""
        self.transfers.advance()

    # ---------------------------------------------------------------------- subscriptions

    def add_subscription(self, sub: Subscription) -> Subscription:
        """Store ``sub`` under a fresh id."""
        sub.id, sub.last_update = self._next_subscription_id, self.clock()
        self._next_subscription_id += 1
        self.subscriptions[sub.id] = sub
        return sub
