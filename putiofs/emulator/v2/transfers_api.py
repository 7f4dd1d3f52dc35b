"""The transfers endpoints: list/continue, count, get, add, add-multi, cancel, clean, retry,
reannounce, remove."""

from __future__ import annotations

import json
from typing import Any

from putiofs.emulator.account.records import Transfer
from putiofs.emulator.v2.render import transfer_object
from putiofs.emulator.v2.request import Request, Routes
from putiofs.emulator.v2.wire import MAX_PER_PAGE, V2Error, bad_request, not_found, ok, per_page

_FINISHED = ("completed", "error")
#: The most URLs one ``transfers/add-multi`` takes.
MAX_MULTI = 100


route = Routes()


def _transfer(request: Request, transfer_id: int | None) -> Transfer:
    transfer = request.account.transfers.get(transfer_id) if transfer_id is not None else None
    if transfer is None:
        raise not_found("Transfer not found", "TRANSFER_NOT_FOUND")
    return transfer


def _objects(request: Request, ids: list[int]) -> list[dict[str, Any]]:
    transfers = request.account.transfers
    return [transfer_object(request.api, transfers[i]) for i in ids if i in transfers]


@route("GET", r"transfers/list", "transfers.list")
def transfers_list(request: Request) -> dict[str, Any]:
    """Newest first; without ``per_page`` every transfer (older clients do not page)."""
    ids = sorted(request.account.transfers, reverse=True)
    size = len(ids) or 1
    if request.params.raw("per_page") is not None:
        size = per_page(request.params, MAX_PER_PAGE, clamp=False)
    first, cursor = request.api.cursors.page("transfers", ids, size)
    return ok(transfers=_objects(request, first), cursor=cursor, total=len(ids))


@route("POST", r"transfers/list/continue", "transfers.list_continue")
def transfers_continue(request: Request) -> dict[str, Any]:
    first, token = request.api.cursors.resume("transfers", request.params,
                                              request.account.transfers, MAX_PER_PAGE,
                                              clamp=False)
    return ok(transfers=_objects(request, first), cursor=token,
              total=len(request.account.transfers))


@route("GET", r"transfers/count", "transfers.count")
def transfers_count(request: Request) -> dict[str, Any]:
    return ok(count=len(request.account.transfers))


def _add(request: Request, url: str, parent_id: int | None,
         callback_url: str | None) -> Transfer:
    """A new transfer; 400 ``EMPTY_URL``, or ``INVALID_URL`` for a link with blanks or control
    characters in it (no URL has them), 404 for a missing folder."""
    url = url.strip()
    if not url:
        raise bad_request("Empty URL", "EMPTY_URL")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise bad_request("Invalid URL", "INVALID_URL")
    if parent_id is None or parent_id < 0:
        parent_id = request.api.default_folder
    parent = request.account.nodes.get(parent_id)
    if parent is None or not parent.is_dir:
        raise not_found("Folder not found")
    transfer = request.account.transfers.add(url, parent_id)
    transfer.callback_url = callback_url
    return transfer


@route("POST", r"transfers/add", "transfers.add")
def transfers_add(request: Request) -> dict[str, Any]:
    params = request.params
    transfer = _add(request, params.text("url") or "", params.integer("save_parent_id"),
                    params.text("callback_url"))
    return ok(transfer=transfer_object(request.api, transfer))


@route("POST", r"transfers/add-multi", "transfers.add_multi")
def transfers_add_multi(request: Request) -> dict[str, Any]:
    """``urls``: a JSON array (as text, or a JSON body's list) of ``{url, save_parent_id?,
    callback_url?}``, or of plain URL strings. Each is added on its own: a failing one is an
    entry of ``errors`` (``{url, error_type, status_code}``) and the others still start. More
    than :data:`MAX_MULTI` URLs: 403 ``TOO_MANY_URLS``, nothing added."""
    raw = request.params.raw("urls")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise bad_request("Invalid urls") from None
    if not isinstance(raw, list) or not raw:
        raise bad_request("Missing urls")
    if len(raw) > MAX_MULTI:
        raise V2Error(403, "TOO_MANY_URLS", f"At most {MAX_MULTI} URLs at once")
    transfers, errors = [], []
    for entry in raw:
        item = {"url": entry} if isinstance(entry, str) else entry
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            errors.append({"url": None, "error_type": "INVALID_URL", "status_code": 400})
            continue
        parent = item.get("save_parent_id")
        callback = item.get("callback_url")
        try:
            if parent is not None and (isinstance(parent, bool) or not str(parent).isdigit()):
                raise bad_request("Invalid save_parent_id")
            transfer = _add(request, item["url"], None if parent is None else int(parent),
                            callback if isinstance(callback, str) else None)
        except V2Error as exc:
            errors.append({"url": item["url"], "error_type": exc.error_type,
                           "status_code": exc.status})
            continue
        transfers.append(transfer_object(request.api, transfer))
    return ok(transfers=transfers, errors=errors)


@route("POST", r"transfers/cancel", "transfers.cancel")
def transfers_cancel(request: Request) -> dict[str, Any]:
    """Idempotent: an unknown id is no error."""
    for transfer_id in request.params.ids("transfer_ids") or []:
        request.account.transfers.pop(transfer_id, None)
    return ok()


@route("POST", r"transfers/clean", "transfers.clean")
def transfers_clean(request: Request) -> dict[str, Any]:
    """Remove finished (completed or failed) transfers: all, or those of ``transfer_ids``."""
    account = request.account
    wanted = request.params.ids("transfer_ids")
    candidates = account.transfers if wanted is None else \
        [i for i in wanted if i in account.transfers]
    deleted = [i for i in candidates
               if account.transfers.phase(account.transfers[i])[0] in _FINISHED]
    for transfer_id in deleted:
        del account.transfers[transfer_id]
    return ok(deleted_ids=sorted(deleted))


@route("POST", r"transfers/retry", "transfers.retry")
def transfers_retry(request: Request) -> dict[str, Any]:
    transfer = _transfer(request, request.params.integer("id"))
    if request.account.transfers.phase(transfer)[0] == "error":
        request.account.transfers.restart(transfer)
    return ok(transfer=transfer_object(request.api, transfer))


@route("POST", r"transfers/reannounce", "transfers.reannounce")
def transfers_reannounce(request: Request) -> dict[str, Any]:
    """Ask a torrent's trackers for peers again: nothing changes here (the emulator has no
    swarm), but the transfer must exist (404) and be a torrent (400 ``NOT_A_TORRENT``)."""
    transfer = _transfer(request, request.params.integer("id"))
    if transfer_object(request.api, transfer)["type"] != "TORRENT":
        raise bad_request("Not a torrent", "NOT_A_TORRENT")
    return ok()


@route("POST", r"transfers/remove", "transfers.remove")
def transfers_remove(request: Request) -> dict[str, Any]:
    account = request.account
    how = request.params.text("remove_filter")
    ids = request.params.ids("transfer_ids")
    if how == "all":
        ids = list(account.transfers)
    elif how == "completed":
        ids = [i for i, t in account.transfers.items()
               if account.transfers.phase(t)[0] == "completed"]
    elif how is not None:
        raise bad_request("Invalid remove_filter")
    if ids is None:
        raise bad_request("Missing transfer_ids")
    for transfer_id in ids:
        account.transfers.pop(transfer_id, None)
    return ok()


@route("GET", r"transfers/(?P<id>\d+)", "transfers.get")
def transfers_get(request: Request) -> dict[str, Any]:
    return ok(transfer=transfer_object(request.api, _transfer(request, request.path_id())))
