"""The account's trash: deleted items wait here, out of the tree, until restored or purged.

A trashed item takes its whole subtree with it; its ids leave the tree (a lookup by id is "not
found") and are never reused. Restoring puts the item back into the folder it was deleted
from, or into the root when that folder is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from threading import RLock
from typing import Protocol

from putiofs.emulator.account.records import ROOT_ID, Node, subtree

#: How long put.io keeps trashed items (the ``expiration_date`` of a trash listing).
KEEP_SECONDS = 30 * 24 * 3600


@dataclass
class TrashRecord:
    node: Node
    deleted: float
    parent_id: int
    size: int


class TrashOwner(Protocol):
    """What the trash uses of its account (:class:`~putiofs.emulator.account.state.Account`, which
    owns the trash: a protocol, so that this module need not import the account's)."""

    lock: RLock
    nodes: dict[int, Node]
    clock: Callable[[], float]

    def node(self, node_id: int) -> Node: ...

    def size_of(self, node: Node) -> int: ...

    def forget_sizes(self) -> None: ...

    def changed(self, kind: str, node: Node) -> None: ...


class Trash:
    """The trash of one account; every method runs under the account's lock."""

    def __init__(self, account: TrashOwner) -> None:
        self._account = account
        self.records: dict[int, TrashRecord] = {}
        self._nodes: dict[int, Node] = {}

    def put(self, node_id: int) -> TrashRecord:
        """Move an item (and everything below it) from the tree into the trash."""
        account = self._account
        with account.lock:
            node = account.node(node_id)
            if node.id == ROOT_ID:
                raise ValueError("the root folder cannot be trashed")
            record = TrashRecord(node, account.clock(), node.parent_id, account.size_of(node))
            account.changed("delete", node)
            del account.nodes[node.parent_id].children[node.id]
            for moved in subtree(node, account.nodes):
                self._nodes[moved.id] = account.nodes.pop(moved.id)
            account.forget_sizes()
            self.records[node.id] = record
            return record

    def restore(self, node_id: int) -> Node:
        """Put a trashed item back; KeyError when it is not in the trash."""
        account = self._account
        with account.lock:
            record = self.records.pop(node_id)
            parent = account.nodes.get(record.parent_id)
            if parent is None or not parent.is_dir:
                parent = account.nodes[ROOT_ID]
            for moved in subtree(record.node, self._nodes):
                account.nodes[moved.id] = self._nodes.pop(moved.id)
            record.node.parent_id = parent.id
            parent.children[record.node.id] = None
            account.forget_sizes()
            account.changed("create", record.node)
            return record.node

    def purge(self, node_id: int) -> None:
        """Delete a trashed item for good; KeyError when it is not in the trash."""
        with self._account.lock:
            record = self.records.pop(node_id)
            for gone in subtree(record.node, self._nodes):
                del self._nodes[gone.id]

    def empty(self) -> None:
        with self._account.lock:
            self.records.clear()
            self._nodes.clear()

    def size(self) -> int:
        return sum(record.size for record in self.records.values())

    def listing(self) -> list[TrashRecord]:
        """The trashed items, most recently deleted first."""
        return sorted(self.records.values(), key=lambda r: (-r.deleted, -r.node.id))
