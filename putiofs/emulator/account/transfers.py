"""The account's transfers: a queue of them by id, whose progress is a function of the time since
each started. Nothing runs in the background: the account advances the queue whenever it is read
(:meth:`TransferQueue.advance`), and a due transfer finishes then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from threading import RLock
from typing import TYPE_CHECKING, Protocol

from putiofs.emulator.account.links import analyze_link, fetched_bytes
from putiofs.emulator.account.records import ROOT_ID, Transfer

if TYPE_CHECKING:
    from putiofs.emulator.account.records import Event, Message, Node

#: The share of ``transfer_seconds`` a new transfer waits in the queue before it downloads (or
#: fails).
QUEUED_SHARE = 0.1


class TransferOwner(Protocol):
    """What the queue uses of its account (:class:`~putiofs.emulator.account.state.Account`,
    which owns the queue: a protocol, so that this module need not import the account's)."""

    lock: RLock
    nodes: dict[int, Node]
    clock: Callable[[], float]
    #: How long a transfer takes from start to finish.
    transfer_seconds: float

    def put_file(self, parent_id: int, name: str, data: bytes, *,
                 updated: float | None = None) -> Node: ...

    def post_message(self, node: Node, verb: str = "downloaded") -> Message: ...

    def post_event(self, kind: str, **fields: object) -> Event: ...


class TransferQueue(MutableMapping[int, Transfer]):
    """The transfers of one account by id, as the listings read them (deleting one removes it),
    and what time does to them: waiting for the first :data:`QUEUED_SHARE` of
    ``transfer_seconds``, then failing or downloading, completed after ``transfer_seconds``."""

    def __init__(self, account: TransferOwner) -> None:
        self._account = account
        self._transfers: dict[int, Transfer] = {}
        self._next_id = 40
        #: v1 forgets a failed transfer after a while; v2 lists it until it is cleaned.
        self.forget_failed = True

    def __getitem__(self, transfer_id: int) -> Transfer:
        return self._transfers[transfer_id]

    def __setitem__(self, transfer_id: int, transfer: Transfer) -> None:
        self._transfers[transfer_id] = transfer

    def __delitem__(self, transfer_id: int) -> None:
        del self._transfers[transfer_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self._transfers)

    def __len__(self) -> int:
        return len(self._transfers)

    def add(self, link: str, save_parent_id: int = ROOT_ID) -> Transfer:
        """Queue a transfer of ``link`` into the folder ``save_parent_id``; a link that cannot
        be fetched (:func:`~putiofs.emulator.account.links.analyze_link`) fails once queued."""
        name, error = analyze_link(link)
        transfer = Transfer(self._next_id, name, link, self._account.clock(), error,
                            save_parent_id=save_parent_id)
        self._next_id += 1
        self[transfer.id] = transfer
        return transfer

    def progress(self, transfer: Transfer) -> tuple[str, str | None]:
        """v1's (status, percent_done) of a transfer now: a failing one shows its error from
        the start."""
        if transfer.error is not None:
            return transfer.error, None
        if transfer.file_id is not None:
            return "Completed", "100"
        elapsed = self._elapsed(transfer)
        if self._queued(elapsed):
            return "Waiting", "0"
        return "Downloading", str(self._percent(elapsed))

    def phase(self, transfer: Transfer) -> tuple[str, int]:
        """v2's ("queued" | "downloading" | "completed" | "error", percent done) of a transfer
        now: a failing one is queued before it fails."""
        if transfer.file_id is not None:
            return "completed", 100
        elapsed = self._elapsed(transfer)
        if self._queued(elapsed):
            return "queued", 0
        if transfer.error is not None:
            return "error", 0
        return "downloading", self._percent(elapsed)

    def advance(self) -> None:
        """Finish due transfers (file, dashboard message, history event); record failures
        (and, with :attr:`forget_failed`, forget old failed ones)."""
        account = self._account
        seconds = account.transfer_seconds
        with account.lock:
            now = account.clock()
            for transfer in list(self._transfers.values()):
                elapsed = now - transfer.started
                if transfer.error is not None:
                    if self.forget_failed and elapsed >= max(seconds, 1.0):
                        del self[transfer.id]
                    elif transfer.finished is None and not self._queued(elapsed):
                        transfer.finished = transfer.started + QUEUED_SHARE * seconds
                        account.post_event("transfer_error", source=transfer.link,
                                           transfer_name=transfer.name)
                elif transfer.file_id is None and elapsed >= seconds:
                    parent = account.nodes.get(transfer.save_parent_id)
                    parent_id = parent.id if parent is not None and parent.is_dir else ROOT_ID
                    node = account.put_file(parent_id, transfer.name,
                                            fetched_bytes(transfer.link))
                    transfer.file_id = node.id
                    transfer.finished = transfer.started + seconds
                    account.post_message(node)
                    account.post_event("transfer_completed", file_id=node.id,
                                       source=transfer.link, transfer_name=transfer.name,
                                       transfer_size=node.size)

    def restart(self, transfer: Transfer) -> None:
        """Start a transfer again from the queue (v2 ``transfers/retry``)."""
        transfer.started, transfer.finished, transfer.file_id = self._account.clock(), None, None

    def _elapsed(self, transfer: Transfer) -> float:
        return self._account.clock() - transfer.started

    def _queued(self, elapsed: float) -> bool:
        return elapsed < QUEUED_SHARE * self._account.transfer_seconds

    def _percent(self, elapsed: float) -> int:
        """Percent done while downloading: 1 to 99, in proportion to the time elapsed."""
        percent = int(100 * elapsed / max(self._account.transfer_seconds, 1e-9))
        return min(99, max(1, percent))
