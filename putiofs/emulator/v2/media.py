"""MP4 conversions and zip archives: jobs that finish ``transfer_seconds`` after they start."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from putiofs.emulator.account.state import ROOT_ID

if TYPE_CHECKING:
    from putiofs.emulator.account.state import Account, Node
    from putiofs.emulator.http.httpd import Handler


def progress(account: Account, started: float) -> int:
    """Percent done of a job started at ``started``: 100 once ``transfer_seconds`` passed."""
    seconds = account.transfer_seconds
    if seconds <= 0:
        return 100
    return max(0, min(100, int(100 * (account.clock() - started) / seconds)))


class Mp4:
    """Per-file MP4 conversions: NOT_AVAILABLE until started, then IN_QUEUE for the first 10%
    of the time, CONVERTING, and COMPLETED (the mp4 has the original's size and bytes)."""

    def __init__(self, account: Account) -> None:
        self._account = account
        self._started: dict[int, float] = {}

    def status(self, node: Node) -> dict[str, Any]:
        started = self._started.get(node.id)
        if started is None or node.is_dir or node.type != "movie":
            return {"id": node.id, "status": "NOT_AVAILABLE"}
        percent = progress(self._account, started)
        if percent >= 100:
            return {"id": node.id, "status": "COMPLETED", "percent_done": 100,
                    "size": node.size}
        if percent < 10:
            return {"id": node.id, "status": "IN_QUEUE", "percent_done": 0}
        return {"id": node.id, "status": "CONVERTING", "percent_done": percent}

    def start(self, node: Node) -> None:
        self._started.setdefault(node.id, self._account.clock())

    def delete(self, node: Node) -> None:
        self._started.pop(node.id, None)


@dataclass
class Zip:
    id: int
    file_ids: list[int]
    created: float
    missing: list[int]
    #: Set when the zip was cancelled (then CANCELLED until retried).
    cancelled: bool = False


class Zips:
    """Zip archives of some files and folders: NEW, PROCESSING, then DONE with a storage URL
    serving a real (stored, uncompressed) zip of what the items hold when it is fetched;
    CANCELLED when stopped before that, until retried."""

    def __init__(self, account: Account) -> None:
        self._account = account
        self._zips: dict[int, Zip] = {}
        self._next_id = 9100

    def create(self, file_ids: list[int]) -> Zip:
        account = self._account
        missing = [i for i in file_ids if i not in account.nodes or i == ROOT_ID]
        job = Zip(self._next_id, [i for i in file_ids if i not in missing], account.clock(),
                  missing)
        self._next_id += 1
        self._zips[job.id] = job
        return job

    def get(self, zip_id: int) -> Zip | None:
        return self._zips.get(zip_id)

    def all(self) -> list[Zip]:
        return sorted(self._zips.values(), key=lambda z: z.id)

    def cancel(self, job: Zip) -> None:
        job.cancelled = True

    def retry(self, job: Zip) -> None:
        """A cancelled zip starts over (NEW, then PROCESSING and DONE as a new one)."""
        if job.cancelled:
            job.cancelled, job.created = False, self._account.clock()

    def status(self, job: Zip) -> str:
        if job.cancelled:
            return "CANCELLED"
        percent = progress(self._account, job.created)
        if percent >= 100:
            return "DONE"
        return "NEW" if percent < 10 else "PROCESSING"

    def created(self, zip_id: int) -> float:
        return self._zips[zip_id].created

    def size(self, job: Zip) -> int:
        account = self._account
        return sum(account.size_of(account.nodes[i]) for i in job.file_ids if i in account.nodes)

    def archive(self, zip_id: int) -> bytes | None:
        """The zip's bytes, or None when there is no such finished zip."""
        account = self._account
        with account.lock:
            job = self._zips.get(zip_id)
            if job is None or self.status(job) != "DONE":
                return None
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
                for item_id in job.file_ids:
                    node = account.nodes.get(item_id)
                    if node is None:
                        continue
                    for path, member in self._members(node):
                        source = account.file_source(member.id)
                        archive.writestr(path, b"".join(source.chunks(0, source.size - 1)))
            return out.getvalue()

    def _members(self, top: Node) -> list[tuple[str, Node]]:
        found, stack = [], [(top.name, top)]
        while stack:
            path, node = stack.pop()
            if not node.is_dir:
                found.append((path, node))
                continue
            for child_id in node.children:
                child = self._account.nodes[child_id]
                stack.append((f"{path}/{child.name}", child))
        return found


class Screenshots:
    """Video screenshots, as put.io's ``screenshot`` field points at (a JPEG on put.io's
    image host, fetched without credentials): every video's is one frame of the demo video
    (``demo_data/screenshot.jpg``, 320x240, taken once with ffmpeg), since the emulator
    decodes no video. Served at ``/screenshots/<id>.jpg`` while the item is a video."""

    PREFIX = "screenshots"

    def __init__(self, account: Account) -> None:
        self._account = account
        self.image = resources.files("putiofs.emulator").joinpath(
            "demo_data/screenshot.jpg").read_bytes()

    def url_for(self, root_url: str, node: Node) -> str | None:
        """The item's ``screenshot`` URL: videos only, None for anything else."""
        if node.is_dir or node.type != "movie":
            return None
        return f"{root_url}/{self.PREFIX}/{node.id}.jpg"

    def serve(self, handler: Handler, path: str) -> None:
        handler.read_body()
        match = re.fullmatch(rf"/{self.PREFIX}/(\d+)\.jpg", path)
        with self._account.lock:
            node = self._account.nodes.get(int(match.group(1))) if match else None
            shown = node is not None and not node.is_dir and node.type == "movie"
        if not shown:
            handler.send_json(404, {"error_type": "NotFound", "status": "ERROR",
                                    "status_code": 404, "error_message": "Not found"})
            return
        handler.started = True
        handler.send_response(200)
        handler.send_header("Content-Type", "image/jpeg")
        handler.send_header("Content-Length", str(len(self.image)))
        handler.send_header("Cache-Control", "max-age=86400")
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(self.image)
