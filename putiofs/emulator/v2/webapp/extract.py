"""Archive extraction: put.io unpacks a zip or tar archive of the account on its side.

A job is ``NEW`` for the first 10% of ``transfer_seconds``, ``EXTRACTING`` until they passed,
then ``DONE``: the archive's members are in a new folder beside it, named after the archive
without its extension (a free name: `` (2)`` and on when taken). Zip (stored or deflated, with
a ZipCrypto ``password`` when encrypted) and tar (plain, gzip, bzip2, xz) are unpacked with
Python's standard library. Anything else, RAR included (no free-software RAR reader is at hand),
a wrong or missing password and a damaged archive end in ``ERROR`` with a ``message``; nothing
is added then. Members' paths are kept (folders created as needed); absolute paths and ``..``
are refused, as any safe unpacker does."""

from __future__ import annotations

import io
import tarfile
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from putiofs.emulator.v2.media import progress

if TYPE_CHECKING:
    from putiofs.emulator.account.state import Account, Node

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz",
                    ".rar")


class ExtractError(Exception):
    """Why an archive could not be unpacked (the job's ``message``)."""


@dataclass
class Extraction:
    id: int
    file_id: int
    name: str
    created: float
    password: str | None
    status: str = "NEW"
    message: str | None = None
    #: The folder the members went to, once DONE.
    folder_id: int | None = None
    files: list[int] = field(default_factory=list)


def folder_name(archive: str) -> str:
    lower = archive.lower()
    for suffix in sorted(ARCHIVE_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix) and len(archive) > len(suffix):
            return archive[: -len(suffix)]
    return archive.rpartition(".")[0] or archive


def is_archive(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def members(data: bytes, name: str, password: str | None) -> list[tuple[str, bytes]]:
    """``(path, bytes)`` of every file in the archive; :class:`ExtractError` when it cannot be
    unpacked."""
    lower = name.lower()
    try:
        if lower.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                pwd = password.encode() if password else None
                return [(info.filename, archive.read(info, pwd=pwd))
                        for info in archive.infolist() if not info.is_dir()]
        if lower.endswith(".rar"):
            raise ExtractError("RAR archives are not unpacked by the emulator")
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            found = []
            for info in archive.getmembers():
                if info.isfile():
                    handle = archive.extractfile(info)
                    found.append((info.name, handle.read() if handle else b""))
            return found
    except RuntimeError as exc:  # zipfile: encrypted without (or with a wrong) password
        raise ExtractError("Wrong or missing password" if "password" in str(exc).lower()
                           else str(exc)) from None
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise ExtractError(f"Cannot read the archive: {exc}") from None


def _parts(path: str) -> list[str]:
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if path.startswith("/") or ".." in parts or not parts:
        raise ExtractError(f"Unsafe member path: {path}")
    return parts


class Extractions:
    """Every extraction job of the account, oldest first."""

    def __init__(self, account: Account) -> None:
        self._account = account
        self.jobs: dict[int, Extraction] = {}
        self._next_id = 7300

    def start(self, node: Node, password: str | None) -> Extraction:
        job = Extraction(self._next_id, node.id, node.name, self._account.clock(), password)
        self._next_id += 1
        self.jobs[job.id] = job
        return job

    def percent(self, job: Extraction) -> int:
        return 100 if job.status in ("DONE", "ERROR") else progress(self._account, job.created)

    def advance(self) -> None:
        """Move every job on to now; a job that is due unpacks its archive (under the lock)."""
        for job in self.jobs.values():
            if job.status in ("DONE", "ERROR"):
                continue
            percent = progress(self._account, job.created)
            if percent < 100:
                job.status = "NEW" if percent < 10 else "EXTRACTING"
                continue
            try:
                self._unpack(job)
                job.status = "DONE"
            except ExtractError as exc:
                job.status, job.message = "ERROR", str(exc)

    def _unpack(self, job: Extraction) -> None:
        account = self._account
        node = account.nodes.get(job.file_id)
        if node is None or node.is_dir:
            raise ExtractError("The archive is gone")
        source = account.file_source(node.id)
        data = b"".join(source.chunks(0, source.size - 1)) if source.size else b""
        found = members(data, node.name, job.password)
        paths = [(_parts(path), body) for path, body in found]
        parent = account.nodes[node.parent_id]
        taken = {account.nodes[c].name for c in parent.children}
        base, name, n = folder_name(node.name), folder_name(node.name), 2
        while name in taken:
            name, n = f"{base} ({n})", n + 1
        top = account.create(parent.id, name, True)
        job.folder_id = top.id
        folders: dict[tuple[str, ...], int] = {(): top.id}
        for parts, body in paths:
            for depth in range(1, len(parts)):
                key = tuple(parts[:depth])
                if key not in folders:
                    folders[key] = account.create(folders[key[:-1]], parts[depth - 1], True).id
            job.files.append(account.put_file(folders[tuple(parts[:-1])], parts[-1], body).id)
