"""The uploads status, for people and for other processes: records and ``status.json``.

``status.json`` (in the account's spool folder, next to ``pending/`` and ``recovered/``) is what
``putiofs uploads`` reads, with or without a running mount: ``{"version": 1, "updated": <unix
time>, "pid": <the mount's pid>, "uploads": [<UploadStatus as a dict>, ...]}``. A mount rewrites
it after each chunk an upload sends and about once a second while anything is pending, and once
more when nothing is; ``updated`` older than a few seconds means no mount is reporting (the
records are then what was pending when it stopped, still in the spool).

One source of truth: the uploader's snapshot (:meth:`putiofs.write.uploader.Uploads.snapshot`).
``/.putio/uploads`` renders it anew at every look, and an upload's progress only changes when a
chunk is done, which is when ``status.json`` is written: the two say the same at the same moment.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

STATUS_VERSION = 1
#: Its name in the account's spool folder.
STATUS_FILE = "status.json"
_writing = threading.Lock()


@dataclass
class UploadStatus:
    """One line of the uploads listing (``/.putio/uploads``, ``putiofs uploads``).

    ``state``: ``open`` (being written), ``queued``, ``uploading``, ``retrying`` (waiting after
    a failure; ``error`` says which), ``failed`` (a permanent failure, not retried by this
    mount; ``error`` says why), ``refused`` (a version a write was refused for, e.g. for
    lack of space: not uploaded, its data dropped; ``error`` says why), ``recovered`` (handed
    back: ``path`` is the file in the spool's ``recovered/`` folder). ``speed`` is bytes per
    second of the running upload.
    """

    path: str
    size: int
    bytes_done: int = 0
    speed: float = 0.0
    state: str = "queued"
    error: str | None = None


def write_status(target: Path, records: list[UploadStatus]) -> None:
    """``status.json``: ``{"version": 1, "updated": <unix time>, "pid": <mount pid>,
    "uploads": [UploadStatus as a dict, ...]}``, replaced atomically (0600). Threads of one
    mount write it one at a time (they share the temporary file)."""
    payload = {"version": STATUS_VERSION, "updated": time.time(), "pid": os.getpid(),
               "uploads": [asdict(record) for record in records]}
    temporary = target.with_suffix(".tmp")
    with _writing:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, json.dumps(payload).encode())
        finally:
            os.close(fd)
        os.replace(temporary, target)


def read_status(target: Path) -> list[UploadStatus]:
    """The records of a ``status.json`` (empty if there is none)."""
    found = read_status_written(target)
    return [] if found is None else found[1]


def read_status_written(target: Path) -> tuple[float, list[UploadStatus]] | None:
    """When a ``status.json`` was written (its ``updated``) and its records; None if there is
    none, or it cannot be read (``putiofs umount`` then keeps what it knew)."""
    try:
        payload = json.loads(target.read_text())
        updated = float(payload["updated"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    known = UploadStatus.__dataclass_fields__
    return updated, [UploadStatus(**{k: v for k, v in item.items() if k in known})
                     for item in payload.get("uploads", []) if isinstance(item, dict)]


def status_age(target: Path) -> float | None:
    """Seconds since a mount last wrote ``status.json`` (None if there is none)."""
    try:
        payload = json.loads(target.read_text())
        return max(0.0, time.time() - float(payload["updated"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
