"""Sharing the account's files with friends: ``files/share``, ``files/shared``,
``files/{id}/shared-with``, ``files/{id}/unshare`` (the shape is decided in the package
docstring; the reference names these routes and nothing more)."""

from __future__ import annotations

from typing import Any

from putiofs.emulator.account.state import ROOT_ID
from putiofs.emulator.v2.files_api import selected_ids
from putiofs.emulator.v2.request import Request, Routes
from putiofs.emulator.v2.shares import EVERYONE, FileShares
from putiofs.emulator.v2.wire import bad_request, not_found, ok

route = Routes()


def _live(request: Request) -> dict[int, FileShares]:
    """The shares of files in the account now: a trashed item's are not listed (they are
    again once it is restored); ids are never reused, so a purged item's stay unseen."""
    nodes = request.account.nodes
    return {i: shares for i, shares in request.api.shares.files.items() if i in nodes}


@route("POST", r"files/share", "files.share")
def files_share(request: Request) -> dict[str, Any]:
    """``file_ids`` (required) with ``friends``: ``everyone`` or comma-joined friend names.
    Everything is checked before anything is shared."""
    ids = selected_ids(request)
    if not ids:
        raise bad_request("Missing file_ids")
    wanted = (request.params.text("friends") or "").strip()
    if not wanted:
        raise bad_request("Missing friends")
    names: list[str] | None = None
    if wanted.lower() != EVERYONE:
        names = [n.strip() for n in wanted.split(",") if n.strip()]
        known = {f.name for f in request.account.friends}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise bad_request(f"Not a friend: {unknown[0]}", "FRIEND_NOT_FOUND")
    for file_id in ids:
        if file_id == ROOT_ID:
            raise bad_request("The root folder cannot be shared", "CANNOT_SHARE_ROOT")
        if file_id not in request.account.nodes:
            raise not_found("File not found")
    for file_id in ids:
        request.api.shares.share(file_id, names)
    return ok()


@route("GET", r"files/shared", "files.shared")
def files_shared(request: Request) -> dict[str, Any]:
    nodes = request.account.nodes
    shared = [{"file_id": file_id, "file_name": nodes[file_id].name,
               "shared_with": EVERYONE if shares.everyone else len(shares.friends)}
              for file_id, shares in sorted(_live(request).items())
              if shares.everyone or shares.friends]
    return ok(shared=shared)


def _file_shares(request: Request) -> FileShares:
    file_id = request.path_id()
    if file_id not in request.account.nodes:
        raise not_found("File not found")
    return _live(request).get(file_id) or FileShares()


@route("GET", r"files/(?P<id>\d+)/shared-with", "files.shared_with")
def files_shared_with(request: Request) -> dict[str, Any]:
    shares = _file_shares(request)
    return {"shared-with": [{"share_id": share_id, "user_name": name, "user_avatar_url": None}
                            for share_id, name in sorted(shares.friends.items())],
            "status": "OK"}


@route("POST", r"files/(?P<id>\d+)/unshare", "files.unshare")
def files_unshare(request: Request) -> dict[str, Any]:
    """``shares``: ``everyone`` (stop sharing the file at all) or comma-joined share ids."""
    shares = _file_shares(request)
    wanted = (request.params.text("shares") or "").strip()
    if not wanted:
        raise bad_request("Missing shares")
    if wanted.lower() == EVERYONE:
        request.api.shares.files.pop(request.path_id(), None)
        return ok()
    ids = request.params.ids("shares") or []
    if any(i not in shares.friends for i in ids):
        raise not_found("Share not found", "SHARE_NOT_FOUND")
    for share_id in ids:
        del shares.friends[share_id]
    return ok()
