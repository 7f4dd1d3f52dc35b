"""The account's transfers: progress is a function of the time since a transfer started."""

from __future__ import annotations

from typing import TYPE_CHECKING

from putiofs.emulator.account.links import analyze_link, fetched_bytes
from putiofs.emulator.account.records import ROOT_ID, Transfer

if TYPE_CHECKING:
    from collections.abc import Callable
    from threading import RLock

    from putiofs.emulator.account.records import Event, Message, Node


class TransferQueue:
    """The transfer methods of :class:`~putiofs.emulator.account.state.Account` (a mixin: it uses
    the account's tree, clock and lock)."""

    transfers: dict[int, Transfer]
    transfer_seconds: float
    forget_failed_transfers: bool
    nodes: dict[int, Node]
    clock: Callable[[], float]
    lock: RLock
    _next_transfer_id: int

    if TYPE_CHECKING:  # provided by Account
        def put_file(self, parent_id: int, name: str, data: bytes, *,
                     updated: float | None = None) -> Node: ...

        def post_message(self, node: Node, verb: str = "downloaded") -> Message: ...

        def post_event(self, kind: str, **fields: object) -> Event: ...

    def add_transfer(self, link: str, save_parent_id: int = ROOT_ID) -> Transfer:
        name, error = analyze_link(link)
        transfer = Transfer(self._next_transfer_id, name, link, self.clock(), error,
                            save_parent_id=save_parent_id)
        self._next_transfer_id += 1
        self.transfers[transfer.id] = transfer
        return transfer

    def transfer_progress(self, transfer: Transfer) -> tuple[str, str | None]:
        """(status, percent_done) of a transfer now; progress is a function of elapsed time."""
        if transfer.error is not None:
            return transfer.error, None
        if transfer.file_id is not None:
            return "Completed", "100"
        elapsed = self.clock() - transfer.started
        if elapsed < 0.1 * self.transfer_seconds:
            return "Waiting", "0"
        percent = int(100 * elapsed / max(self.transfer_seconds, 1e-9))
        return "Downloading", str(min(99, max(1, percent)))

    def transfer_phase(self, transfer: Transfer) -> tuple[str, int]:
        """("queued" | "downloading" | "completed" | "error", percent done) of a transfer now:
        queued for the first 10% of ``transfer_seconds``, then failing or downloading."""
        if transfer.file_id is not None:
            return "completed", 100
        elapsed = self.clock() - transfer.started
        if elapsed < 0.1 * self.transfer_seconds:
            return "queued", 0
        if transfer.error is not None:
            return "error", 0
        return "downloading", min(99, max(1, int(100 * elapsed / max(self.transfer_seconds,
                                                                        1e-9))))

    def advance(self) -> None:
        """Finish due transfers (file, dashboard message, history event); record failures
        (and, for v1, forget old failed ones)."""
        with self.lock:
            now = self.clock()
            for transfer in list(self.transfers.values()):
                elapsed = now - transfer.started
                if transfer.error is not None:
                    if self.forget_failed_transfers and elapsed >= max(self.transfer_seconds,
                                                                       1.0):
                        del self.transfers[transfer.id]
                    elif transfer.finished is None and elapsed >= 0.1 * self.transfer_seconds:
                        transfer.finished = transfer.started + 0.1 * self.transfer_seconds
                        self.post_event("transfer_error", source=transfer.link,
                                        transfer_name=transfer.name)
                elif transfer.file_id is None and elapsed >= self.transfer_seconds:
                    parent = self.nodes.get(transfer.save_parent_id)
                    parent_id = parent.id if parent is not None and parent.is_dir else ROOT_ID
                    node = self.put_file(parent_id, transfer.name, fetched_bytes(transfer.link))
                    transfer.file_id = node.id
                    transfer.finished = transfer.started + self.transfer_seconds
                    self.post_message(node)
                    self.post_event("transfer_completed", file_id=node.id,
                                    source=transfer.link, transfer_name=transfer.name,
                                    transfer_size=node.size)

    def restart_transfer(self, transfer: Transfer) -> None:
        """Start a transfer again from the queue (v2 ``transfers/retry``)."""
        transfer.started, transfer.finished, transfer.file_id = self.clock(), None, None
