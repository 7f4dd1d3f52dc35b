"""Changes made elsewhere, as an API's realtime feed reports them: the neutral events and the
listener interface (the realtime counterpart of :mod:`putiofs.api.backend`).

A backend whose API pushes changes says so with ``capabilities.live_events`` and is then a
:class:`ChangeSource`: ``change_listener(sink)`` gives a :class:`ChangeListener` that, once
started, calls the sink from its own thread. The core (:mod:`putiofs.tree.live_updates`, ``putiofs
transfers watch``) knows only these types; put.io's websocket is :mod:`putiofs.v2.realtime`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from putiofs.api.backend import Entry
from putiofs.api.services import Transfer

CREATED = "created"
UPDATED = "updated"
DELETED = "deleted"
#: A transfer change that only says how many transfers there are now.
COUNT = "count"


@dataclass(frozen=True)
class FileChange:
    """An item was created, changed (name, folder, size, times) or deleted.

    ``entry`` is the item as it is now (deleted: as it was), when the event says enough to
    place it (an id, a name and a parent folder); else None, and only ``item_id`` (and
    ``parent_id`` when given) are known: the folders concerned are then listed anew.
    """

    kind: str
    item_id: str
    entry: Entry | None = None
    parent_id: str | None = None


@dataclass(frozen=True)
class TransferChange:
    """A transfer appeared, progressed or was removed (``transfer`` as it is now), or the
    number of transfers changed (``kind`` :data:`COUNT`, ``count``)."""

    kind: str
    transfer: Transfer | None = None
    count: int | None = None


class ChangeSink(Protocol):
    """Who hears the changes. Called from the listener's thread, one call at a time."""

    def file_changed(self, change: FileChange) -> None: ...

    def transfer_changed(self, change: TransferChange) -> None: ...

    def live_changed(self, live: bool) -> None:
        """The feed is connected and authenticated (True), or not any more (False). Changes
        made while it was not live are lost: after a True, assume anything may have changed."""


class ChangeListener(Protocol):
    """A running connection to the feed: it reconnects by itself until stopped."""

    @property
    def live(self) -> bool: ...

    @property
    def problem(self) -> str | None:
        """Why it is not live, as it last saw it (a refusal, a connection failure); None
        before any failure."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class ChangeSource(Protocol):
    """A backend whose ``capabilities.live_events`` is True."""

    def change_listener(self, sink: ChangeSink) -> ChangeListener: ...
