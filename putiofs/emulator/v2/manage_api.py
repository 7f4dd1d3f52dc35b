"""The trash (list/continue, restore, delete, empty) and zips (create, get, list, retry,
cancel)."""

from __future__ import annotations

from typing import Any

from putiofs.emulator.v2.files_api import selected_ids
from putiofs.emulator.v2.media import Zip
from putiofs.emulator.v2.render import trash_object
from putiofs.emulator.v2.request import Request, Routes
from putiofs.emulator.v2.wire import DEFAULT_PER_PAGE, bad_request, not_found, ok, per_page, stamp

route = Routes()

# ---------------------------------------------------------------------------------- trash


def _trash_files(request: Request, ids: list[int]) -> list[dict[str, Any]]:
    records = request.account.trash.records
    return [trash_object(request.api, records[i]) for i in ids if i in records]


@route("GET", r"trash/list", "trash.list")
def trash_list(request: Request) -> dict[str, Any]:
    trash = request.account.trash
    ids = [record.node.id for record in trash.listing()]
    size = per_page(request.params, DEFAULT_PER_PAGE, clamp=True)
    first, cursor = request.api.cursors.page("trash", ids, size)
    return ok(files=_trash_files(request, first), cursor=cursor, total=len(ids),
              trash_size=trash.size())


@route("POST", r"trash/list/continue", "trash.list_continue")
def trash_continue(request: Request) -> dict[str, Any]:
    first, token = request.api.cursors.resume("trash", request.params,
                                              request.account.trash.records, DEFAULT_PER_PAGE,
                                              clamp=True)
    return ok(files=_trash_files(request, first), cursor=token)


def _selected(request: Request) -> list[int]:
    """``file_ids``, or every item a trash listing ``cursor`` has yet to show."""
    ids = request.params.ids("file_ids")
    if ids is None and request.params.raw("cursor") is not None:
        ids = list(request.api.cursors.take("trash", request.params.raw("cursor")).ids)
    if not ids:
        raise bad_request("Missing file_ids")
    unknown = [i for i in ids if i not in request.account.trash.records]
    if unknown:
        raise not_found("File not found in trash", "TRASH_FILE_NOT_FOUND")
    return ids


@route("POST", r"trash/restore", "trash.restore")
def trash_restore(request: Request) -> dict[str, Any]:
    for item_id in _selected(request):
        request.account.trash.restore(item_id)
    request.account.forget_sizes()
    return ok()


@route("POST", r"trash/delete", "trash.delete")
def trash_delete(request: Request) -> dict[str, Any]:
    for item_id in _selected(request):
        request.account.trash.purge(item_id)
    return ok()


@route("POST", r"trash/empty", "trash.empty")
def trash_empty(request: Request) -> dict[str, Any]:
    request.account.trash.empty()
    return ok()


# ----------------------------------------------------------------------------------- zips


def _zip_object(request: Request, job: Zip) -> dict[str, Any]:
    zips = request.api.zips
    status = zips.status(job)
    done = status == "DONE"
    return {"id": job.id, "created_at": stamp(job.created),
            "size": zips.size(job) if done else None, "zip_status": status,
            "url": request.api.storage.zip_url(job.id) if done else None,
            "missing_files": job.missing}


@route("POST", r"zips/create", "zips.create")
def zips_create(request: Request) -> dict[str, Any]:
    ids = selected_ids(request)
    if not ids:
        raise bad_request("Missing file_ids")
    job = request.api.zips.create(ids)
    return ok(zip_id=job.id)


@route("GET", r"zips/list", "zips.list")
def zips_list(request: Request) -> dict[str, Any]:
    return ok(zips=[_zip_object(request, job) for job in request.api.zips.all()])


@route("GET", r"zips/(?P<id>\d+)", "zips.get")
def zips_get(request: Request) -> dict[str, Any]:
    """A flat object (``zip_status`` is the job's, ``status`` the envelope's "OK")."""
    job = request.api.zips.get(request.path_id())
    if job is None:
        raise not_found("Zip not found")
    return ok(**_zip_object(request, job))


def _zip(request: Request) -> Zip:
    job = request.api.zips.get(request.path_id())
    if job is None:
        raise not_found("Zip not found")
    return job


@route("GET POST", r"zips/(?P<id>\d+)/retry", "zips.retry")
def zips_retry(request: Request) -> dict[str, Any]:
    """Start a cancelled or failed zip again (NEW, then as a new one); a zip under way or done
    is left as it is. Answers the zip."""
    job = _zip(request)
    request.api.zips.retry(job)
    return ok(zip=_zip_object(request, job))


@route("GET POST", r"zips/(?P<id>\d+)/cancel", "zips.cancel")
def zips_cancel(request: Request) -> dict[str, Any]:
    """Stop a zip that is not done yet: ``zip_status`` CANCELLED, no URL. A done zip cannot
    be cancelled (400 ``ZIP_ALREADY_DONE``)."""
    job = _zip(request)
    if request.api.zips.status(job) == "DONE":
        raise bad_request("The zip is done already", "ZIP_ALREADY_DONE")
    request.api.zips.cancel(job)
    return ok(zip=_zip_object(request, job))
