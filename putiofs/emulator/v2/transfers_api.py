"""The transfers endpoints: list/continue, count, get, add, cancel, clean, retry, remove."""

from __future__ import annotations

from typing import Any

from putiofs.emulator.account.records import Transfer
from putiofs.emulator.v2.render import transfer_object
from putiofs.emulator.v2.request import Request, Routes
from putiofs.emulator.v2.wire import MAX_PER_PAGE, bad_request, not_found, ok, per_page

_FINISHED = ("completed", "error")


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
    return ok(transfers=_objects(request, first), cursor=token)


@route("GET", r"transfers/count", "transfers.count")
def transfers_count(request: Request) -> dict[str, Any]:
    return ok(count=len(request.account.transfers))


@route("POST", r"transfers/add", "transfers.add")
def transfers_add(request: Request) -> dict[str, Any]:
    params = request.params
    url = (params.text("url") or "").strip()
    if not url:
        raise bad_request("Empty URL", "EMPTY_URL")
    parent_id = params.integer("save_parent_id")
    if parent_id is None or parent_id < 0:
        parent_id = request.api.default_folder
    parent = request.account.nodes.get(parent_id)
    if parent is None or not parent.is_dir:
        raise not_found("Folder not found")
    transfer = request.account.transfers.add(url, parent_id)
    transfer.callback_url = params.text("callback_url")
    return ok(transfer=transfer_object(request.api, transfer))


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
