"""``POST files/extract`` (start unpacking archives: ``user_file_ids`` or a listing's
``cursor``, optional ``password``) and ``GET files/extract`` (every job, oldest first), both
answering ``{extractions: [...]}``; the jobs are :mod:`~putiofs.emulator.v2.webapp.extract`'s.

Every id is checked before a job starts: a missing item 404, a folder or a file that is not a
zip, tar or rar archive by its name 400 ``NOT_AN_ARCHIVE``."""

from __future__ import annotations

from typing import Any

from putiofs.emulator.v2.files_api import node_of, selected_ids
from putiofs.emulator.v2.request import Request, Routes
from putiofs.emulator.v2.webapp.extract import Extraction, is_archive
from putiofs.emulator.v2.wire import bad_request, ok, stamp

route = Routes()


def extraction_object(request: Request, job: Extraction) -> dict[str, Any]:
    extractions = request.api.web.extractions
    return {"id": job.id, "name": job.name, "user_file_id": job.file_id,
            "status": job.status, "message": job.message,
            "percent_done": extractions.percent(job), "num_parts": 1,
            "folder_id": job.folder_id, "files_count": len(job.files),
            "created_at": stamp(job.created)}


@route("GET POST", r"files/extract", "files.extract")
def files_extract(request: Request) -> dict[str, Any]:
    extractions = request.api.web.extractions
    if request.method == "GET":
        return ok(extractions=[extraction_object(request, job)
                               for job in extractions.jobs.values()])
    ids = selected_ids(request, "user_file_ids")
    if not ids:
        raise bad_request("Missing user_file_ids")
    nodes = [node_of(request, i) for i in ids]
    for node in nodes:
        if node.is_dir or not is_archive(node.name):
            raise bad_request(f"Not an archive: {node.name}", "NOT_AN_ARCHIVE")
    password = request.params.text("password")
    jobs = [extractions.start(node, password) for node in nodes]
    return ok(extractions=[extraction_object(request, job) for job in jobs])
