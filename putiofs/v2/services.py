"""The put.io v2 services beside files: transfers, history events, friends, shares, trash and
zips.

Repeated after a failure with no usable answer: everything except adding a transfer, retrying
one (either would start a second download) and creating a zip. Cancelling and cleaning
transfers and emptying the trash are idempotent; restoring or deleting trash items is repeated
with "gone means done" (the repeat of an attempt that succeeded finds the item gone).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from putiofs.api.errors import ServerError
from putiofs.v2.models import (
    Event,
    EventsPage,
    FileShare,
    Friend,
    SharedFile,
    Transfer,
    TrashItem,
    Zip,
)
from putiofs.v2.parse import csv, mapping, parsed, to_bool, to_id
from putiofs.v2.wire import Wire, register_url

Ids = Iterable[str | int] | str | int
DEFAULT_UPLOAD_URL = "https://upload.put.io"
T = TypeVar("T")


def _one(parse: Callable[[Any], T], data: Any, where: str) -> T:
    if not isinstance(data, Mapping):
        raise ServerError(f"{where}: the answer held no object")
    return parsed(parse, data, where)


class ServiceCalls(Wire):
    """Transfers, events, friends, trash and zips (mixed into :class:`V2Client`)."""

    # -- transfers ------------------------------------------------------------------------

    def list_transfers(self) -> list[Transfer]:
        """Every transfer, finished ones included until cleaned (all pages)."""
        return [_one(Transfer.from_json, t, "GET /transfers/list")
                for t in self.paged("/transfers/list", "transfers")]

    def get_transfer(self, transfer_id: str | int) -> Transfer:
        answer = self.request("GET", f"/transfers/{transfer_id}")
        return _one(Transfer.from_json, mapping(answer).get("transfer"),
                    f"GET /transfers/{transfer_id}")

    def add_transfer(self, url: str, *, save_parent_id: str | int | None = None,
                     callback_url: str | None = None) -> Transfer:
        """Start a download of a URL or magnet link. Never repeated (would add it twice)."""
        answer = self.request("POST", "/transfers/add", repeatable=False,
                              form={"url": url, "save_parent_id": save_parent_id,
                                    "callback_url": callback_url})
        return _one(Transfer.from_json, mapping(answer).get("transfer"), "POST /transfers/add")

    def upload_torrent(self, upload_url: str, name: str, data: bytes, *,
                       parent_id: str | int | None = None) -> Transfer:
        """Upload a .torrent file (``name`` ends in ``.torrent``) to become a transfer:
        multipart ``POST <upload_url>/v2/files/upload?torrent=true``, which answers
        ``{transfer}``. Never repeated (would add it twice)."""
        where = "POST /v2/files/upload"
        answer = mapping(self.request("POST", "/v2/files/upload", base=upload_url,
                                      query={"torrent": "true"}, repeatable=False,
                                      form={"filename": name, "parent_id": parent_id},
                                      files={"file": (name, data)}, label=where))
        if not isinstance(answer.get("transfer"), Mapping):
            raise ServerError(f"{where}: put.io stored {name!r} as a file, not a transfer")
        return _one(Transfer.from_json, answer.get("transfer"), where)

    def cancel_transfers(self, transfer_ids: Ids) -> None:
        """Cancel transfers (an unknown id is not an error: put.io answers OK)."""
        self.request("POST", "/transfers/cancel", form={"transfer_ids": csv(transfer_ids)})

    def retry_transfer(self, transfer_id: str | int) -> Transfer:
        """Start a failed transfer again. Never repeated."""
        answer = self.request("POST", "/transfers/retry", form={"id": transfer_id},
                              repeatable=False)
        return _one(Transfer.from_json, mapping(answer).get("transfer"), "POST /transfers/retry")

    def clean_transfers(self, transfer_ids: Ids | None = None) -> list[str]:
        """Remove finished transfers (the given ones, or all); the ids put.io removed."""
        form = {"transfer_ids": csv(transfer_ids)} if transfer_ids is not None else None
        answer = self.request("POST", "/transfers/clean", form=form)
        ids = mapping(answer).get("deleted_ids")
        return [i for i in (to_id(x) for x in ids) if i] if isinstance(ids, list) else []

    # -- events and friends ---------------------------------------------------------------

    def list_events(self, *, before: int | None = None, per_page: int | None = None
                    ) -> EventsPage:
        """One page of the history, newest first; ``before`` = an event id to page back."""
        answer = mapping(self.request("GET", "/events/list",
                                      query={"before": before, "per_page": per_page}))
        events = answer.get("events")
        return EventsPage(
            events=tuple(Event.from_json(e) for e in events if isinstance(e, Mapping))
            if isinstance(events, list) else (),
            has_more=bool(to_bool(answer.get("has_more"))))

    def list_friends(self) -> list[Friend]:
        friends = mapping(self.request("GET", "/friends/list")).get("friends")
        return [Friend.from_json(f) for f in friends if isinstance(f, Mapping)] \
            if isinstance(friends, list) else []

    # -- shares ---------------------------------------------------------------------------

    def share_files(self, file_ids: Ids, friends: Iterable[str] | None) -> None:
        """Share items with friends (names), or with everyone when ``friends`` is None.
        Repeatable: sharing again with the same friends changes nothing."""
        who = "everyone" if friends is None else ",".join(friends)
        self.request("POST", "/files/share", form={"file_ids": csv(file_ids), "friends": who})

    def list_shared(self) -> list[SharedFile]:
        """The account's items it shares, and with how many."""
        shared = mapping(self.request("GET", "/files/shared")).get("shared")
        return [_one(SharedFile.from_json, s, "GET /files/shared") for s in shared] \
            if isinstance(shared, list) else []

    def shared_with(self, file_id: str | int) -> list[FileShare]:
        """The named friends one item is shared with."""
        answer = mapping(self.request("GET", f"/files/{file_id}/shared-with"))
        shares = answer.get("shared-with")
        return [_one(FileShare.from_json, s, f"GET /files/{file_id}/shared-with")
                for s in shares] if isinstance(shares, list) else []

    def unshare(self, file_id: str | int, share_ids: Ids | None = None) -> None:
        """Stop sharing an item: with the given shares, or at all (None)."""
        shares = "everyone" if share_ids is None else csv(share_ids)
        self.request("POST", f"/files/{file_id}/unshare", form={"shares": shares},
                     gone_is_done=share_ids is not None)

    # -- trash ----------------------------------------------------------------------------

    def list_trash(self) -> Iterator[TrashItem]:
        """Every item in the trash (``/trash/list`` + ``/continue``)."""
        for data in self.paged("/trash/list", "files"):
            yield _one(TrashItem.from_json, data, "GET /trash/list")

    def restore_from_trash(self, file_ids: Ids) -> None:
        self.request("POST", "/trash/restore", form={"file_ids": csv(file_ids)},
                     gone_is_done=True)

    def delete_from_trash(self, file_ids: Ids) -> None:
        """Delete trash items for good."""
        self.request("POST", "/trash/delete", form={"file_ids": csv(file_ids)},
                     gone_is_done=True)

    def empty_trash(self) -> None:
        self.request("POST", "/trash/empty")

    # -- zips -----------------------------------------------------------------------------

    def create_zip(self, file_ids: Ids) -> str:
        """Ask put.io to zip items; the zip's id (poll :meth:`get_zip`). Never repeated."""
        answer = self.request("POST", "/zips/create", form={"file_ids": csv(file_ids)},
                              repeatable=False)
        zip_id = to_id(mapping(answer).get("zip_id"))
        if zip_id is None:
            raise ServerError("POST /zips/create: the answer held no zip_id")
        return zip_id

    def get_zip(self, zip_id: str | int) -> Zip:
        """A zip's state; its ``url`` (once ready) needs no credentials and is a secret."""
        answer = mapping(self.request("GET", f"/zips/{zip_id}"))
        data = answer.get("zip", answer)
        found = _one(Zip.from_json, data, f"GET /zips/{zip_id}")
        if found.url:
            register_url(found.url)
        return found
