"""The v2 Backend's upload primitives (TUS create, PATCH, HEAD, DELETE) and times (touch)
against the real v2 emulator over loopback: the bytes put.io ends up with (read back through
the new item's storage URL and through put.io's own Python SDK, which checks the CRC-32),
resuming after a dropped, refused or conflicting PATCH, the quota, the item's time, and no
secret in errors or logs. The emulator's TUS faults are queued per request
(:class:`tests.support.scripted_faults.Queued`, names ``upload.tus_post`` / ``_patch`` /
``_head``)."""

from __future__ import annotations

import dataclasses
import errno
import io
import json
import logging
import os
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from putiofs.api.backend import Entry, UploadTicket
from putiofs.api.errors import (
    NotFoundError,
    NotSupportedError,
    QuotaExceededError,
    ServerError,
    TransportError,
    UploadOffsetError,
)
from putiofs.emulator import EmulatorServer
from putiofs.emulator.account.state import ROOT_ID
from putiofs.emulator.http.faults import Fault
from putiofs.front.errno_map import errno_for
from putiofs.logs import redact
from putiofs.net.retry import Backoff, RetryPolicy, is_temporary
from putiofs.v2 import V2Backend, V2Client, V2Wire
from putiofs.v2.tus import UPLOAD_READ_SIZE, UploadSourceError
from tests.support.realclients import putio_sdk
from tests.support.scripted_faults import Queued
from tests.support.servers import from_fixture

TOKEN = "upload-token-7d2a9c"
MTIME = 1_600_000_000.75   # 2020-09-13T12:26:40Z and a fraction: put.io keeps whole seconds

pytestmark = pytest.mark.server(api="v2", token=TOKEN, faults=from_fixture("faults"))


@pytest.fixture
def faults() -> Queued:
    return Queued()


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def make_backend(server: EmulatorServer, waits: list[float]) -> Iterator[Callable[[], V2Backend]]:
    clients: list[V2Client] = []

    def make() -> V2Backend:
        policy = RetryPolicy(attempts=4, backoff=Backoff(0.001, 0.01), max_time=60.0,
                             sleep=waits.append)
        client = V2Client(V2Wire(TOKEN, base_url=server.base_url, retry=policy,
                                 timeout=(5.0, 10.0)))
        clients.append(client)
        return V2Backend(client, upload_url=server.root_url)

    yield make
    for client in clients:
        client.wire.close()


@pytest.fixture
def backend(make_backend: Callable[[], V2Backend]) -> V2Backend:
    return make_backend()


@pytest.fixture
def folder(server: EmulatorServer) -> str:
    with server.account.lock:
        return str(server.account.create(ROOT_ID, "Uploads", True).id)


def patches(server: EmulatorServer) -> int:
    return server.stats()["requests"].get("upload.tus_patch", 0)


def read_back(backend: V2Backend, entry: Entry) -> bytes:
    """The item's bytes as put.io serves them, through its storage URL."""
    if entry.size == 0:
        return b""
    answer = requests.get(backend.stream_url(entry), timeout=10)
    assert answer.status_code == 200
    return answer.content


def send_all(backend: V2Backend, ticket: UploadTicket, source: io.BytesIO, offset: int,
             chunk: int) -> Entry:
    """Send from ``offset`` to the end in chunks of ``chunk`` bytes; the final entry."""
    while True:
        source.seek(offset)
        length = min(chunk, ticket.size - offset)
        progress = backend.upload_send(ticket, offset, source, length)
        assert progress.offset == offset + length
        if progress.entry is not None:
            assert progress.offset == ticket.size
            return progress.entry
        offset = progress.offset


class RecordingFile(io.BytesIO):
    """A file object that records the size of every read asked of it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.reads.append(-1 if size is None else size)
        return super().read(size)


# -- whole uploads ----------------------------------------------------------------------------

def test_an_upload_in_several_chunks_gives_the_item_with_the_same_bytes(
        backend: V2Backend, server: EmulatorServer, folder: str) -> None:
    data = os.urandom(3 * 100_000 + 17)
    ticket = backend.upload_begin(folder, "several chunks.bin", len(data), MTIME)
    assert ticket.size == len(data) and ticket.url.startswith(f"{server.root_url}/files/")
    source = io.BytesIO(data)
    first = backend.upload_send(ticket, 0, source, 100_000)
    assert (first.offset, first.entry) == (100_000, None)
    assert backend.upload_offset(ticket) == 100_000
    entry = send_all(backend, ticket, source, 100_000, 100_000)
    assert patches(server) == 4
    assert (entry.name, entry.parent_id, entry.size, entry.is_dir) == (
        "several chunks.bin", folder, len(data), False)
    assert entry.crc32 == f"{zlib.crc32(data):08x}"
    assert read_back(backend, entry) == data
    assert backend.lookup(entry.id) == entry


def test_a_patch_streams_its_body_in_blocks_and_reads_no_further(
        backend: V2Backend, folder: str) -> None:
    data = os.urandom(3 * UPLOAD_READ_SIZE + 5)
    ticket = backend.upload_begin(folder, "streamed.bin", len(data), None)
    source = RecordingFile(data + b"not part of the upload")
    length = 2 * UPLOAD_READ_SIZE + 3
    assert backend.upload_send(ticket, 0, source, length).offset == length
    assert source.tell() == length
    assert source.reads and max(source.reads) <= UPLOAD_READ_SIZE
    entry = send_all(backend, ticket, io.BytesIO(data), length, len(data))
    assert read_back(backend, entry) == data


def test_an_empty_file_takes_one_empty_patch(backend: V2Backend, server: EmulatorServer,
                                             folder: str) -> None:
    ticket = backend.upload_begin(folder, "empty.txt", 0, MTIME)
    progress = backend.upload_send(ticket, 0, io.BytesIO(b""), 0)
    assert progress.offset == 0 and progress.entry is not None
    assert (progress.entry.name, progress.entry.size) == ("empty.txt", 0)
    assert progress.entry.crc32 == "00000000"
    assert [e.name for e in backend.list_folder(folder)] == ["empty.txt"]


def test_the_time_given_at_the_start_is_the_items_time(backend: V2Backend, folder: str) -> None:
    data = b"dated"
    ticket = backend.upload_begin(folder, "dated.txt", len(data), MTIME)
    entry = backend.upload_send(ticket, 0, io.BytesIO(data), len(data)).entry
    assert entry is not None and entry.mtime == float(int(MTIME))
    assert backend.lookup(entry.id).mtime == float(int(MTIME))


def test_a_torrent_file_stays_a_file(backend: V2Backend, server: EmulatorServer,
                                     folder: str) -> None:
    data = b"d8:announce35:http://tracker.invalid/announce4:infod4:name4:testee"
    ticket = backend.upload_begin(folder, "linux.torrent", len(data), None)
    entry = backend.upload_send(ticket, 0, io.BytesIO(data), len(data)).entry
    assert entry is not None and entry.name == "linux.torrent" and not entry.is_dir
    assert read_back(backend, entry) == data
    with server.account.lock:
        assert not server.account.transfers


def test_a_ticket_saved_as_json_resumes_with_another_client(
        make_backend: Callable[[], V2Backend], folder: str) -> None:
    """The uploader keeps the ticket in its spool manifest; the next mount resumes it."""
    data = os.urandom(50_000)
    first = make_backend()
    ticket = first.upload_begin(folder, "resumed later.bin", len(data), MTIME)
    first.upload_send(ticket, 0, io.BytesIO(data), 20_000)
    saved = json.dumps(dataclasses.asdict(ticket))
    later = make_backend()
    again = UploadTicket(**json.loads(saved))
    offset = later.upload_offset(again)
    assert offset == 20_000
    entry = send_all(later, again, io.BytesIO(data), offset, len(data))
    assert read_back(later, entry) == data


def test_put_ios_own_sdk_downloads_the_upload_with_a_matching_crc32(
        backend: V2Backend, server: EmulatorServer, folder: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    putiopy = pytest.importorskip("putiopy", reason="put.io's Python SDK is not installed")
    verified: list[bool] = []
    original = putiopy._File._verify_file

    def recording(self: Any, filepath: str) -> bool:
        verified.append(original(self, filepath))
        return verified[-1]

    monkeypatch.setattr(putiopy._File, "_verify_file", recording)
    data = os.urandom(300_000)
    ticket = backend.upload_begin(folder, "for the sdk.bin", len(data), MTIME)
    entry = send_all(backend, ticket, io.BytesIO(data), 0, 128 * 1024)
    with putio_sdk(server.base_url, TOKEN) as sdk:
        item = sdk.File.get(int(entry.id))
        assert (item.name, item.size, item.crc32) == ("for the sdk.bin", len(data),
                                                      f"{zlib.crc32(data):08x}")
        item.download(str(tmp_path), save_as="back.bin")
    assert (tmp_path / "back.bin").read_bytes() == data
    assert verified == [True]


# -- failures and resuming --------------------------------------------------------------------

def test_a_dropped_patch_resumes_where_the_server_says(
        backend: V2Backend, server: EmulatorServer, faults: Queued, folder: str) -> None:
    data = os.urandom(200_000)
    ticket = backend.upload_begin(folder, "dropped.bin", len(data), None)
    faults.queue("upload.tus_patch", Fault(drop_after=70_000))
    with pytest.raises(TransportError) as dropped:
        backend.upload_send(ticket, 0, io.BytesIO(data), len(data))
    assert is_temporary(dropped.value)
    assert patches(server) == 1   # never repeated inside: the caller resumes
    offset = backend.upload_offset(ticket)
    assert offset == 70_000
    entry = send_all(backend, ticket, io.BytesIO(data), offset, len(data))
    assert read_back(backend, entry) == data


def test_an_offset_conflict_is_an_upload_offset_error_and_the_upload_goes_on(
        backend: V2Backend, faults: Queued, folder: str) -> None:
    data = os.urandom(30_000)
    ticket = backend.upload_begin(folder, "conflict.bin", len(data), None)
    backend.upload_send(ticket, 0, io.BytesIO(data), 10_000)
    # a PATCH at an offset the server is not at (a lost answer made the caller think so)
    with pytest.raises(UploadOffsetError):
        backend.upload_send(ticket, 0, io.BytesIO(data), 10_000)
    # and one the server refuses as a conflict although the offset is right
    faults.queue("upload.tus_patch", Fault(status=409))
    with pytest.raises(UploadOffsetError):
        backend.upload_send(ticket, 10_000, io.BytesIO(data[10_000:]), 10_000)
    offset = backend.upload_offset(ticket)
    assert offset == 10_000
    entry = send_all(backend, ticket, io.BytesIO(data), offset, len(data))
    assert read_back(backend, entry) == data


def test_a_5xx_on_a_patch_is_temporary_and_not_repeated(
        backend: V2Backend, server: EmulatorServer, faults: Queued, folder: str) -> None:
    # larger than socket buffers: the answer must arrive while the body is still going out
    data = os.urandom(6 * 1024 * 1024)
    ticket = backend.upload_begin(folder, "five hundred.bin", len(data), None)
    faults.queue("upload.tus_patch", Fault(status=503))
    with pytest.raises(ServerError) as refused:
        backend.upload_send(ticket, 0, io.BytesIO(data), len(data))
    assert is_temporary(refused.value) and refused.value.status == 503
    assert patches(server) == 1
    assert backend.upload_offset(ticket) == 0
    entry = send_all(backend, ticket, io.BytesIO(data), 0, len(data))
    assert read_back(backend, entry) == data


def test_create_head_and_touch_are_repeated_after_a_5xx(
        backend: V2Backend, server: EmulatorServer, faults: Queued, folder: str,
        waits: list[float]) -> None:
    faults.queue("upload.tus_post", Fault(status=500))
    faults.queue("upload.tus_head", Fault(status=503))
    faults.queue("files.touch", Fault(status=502))
    ticket = backend.upload_begin(folder, "retried.txt", 3, None)
    assert backend.upload_offset(ticket) == 0
    entry = backend.upload_send(ticket, 0, io.BytesIO(b"abc"), 3).entry
    assert entry is not None
    backend.set_mtime(entry.id, MTIME)
    assert backend.lookup(entry.id).mtime == float(int(MTIME))
    assert len(waits) == 3
    # the emulator holds one upload of that name, not two
    assert [e.name for e in backend.list_folder(folder)] == ["retried.txt"]


def test_an_upload_beyond_the_quota_is_quota_exceeded(
        emulator_factory: Callable[..., EmulatorServer], waits: list[float]) -> None:
    server = emulator_factory(api="v2", demo=False, token=TOKEN, disk_size=100_000)
    policy = RetryPolicy(attempts=4, backoff=Backoff(0.001, 0.01), sleep=waits.append)
    with V2Wire(TOKEN, base_url=server.base_url, retry=policy) as wire:
        backend = V2Backend(V2Client(wire), upload_url=server.root_url)
        with pytest.raises(QuotaExceededError) as refused:
            backend.upload_begin(ROOT_ID, "too big.bin", 100_001, None)
        assert errno_for(refused.value) == errno.ENOSPC
        # the space goes away while an upload is under way: its next PATCH is refused
        ticket = backend.upload_begin(ROOT_ID, "fits.bin", 60_000, None)
        backend.upload_send(ticket, 0, io.BytesIO(b"x" * 20_000), 20_000)
        with server.account.lock:
            server.account.disk_size = 50_000
        with pytest.raises(QuotaExceededError):
            backend.upload_send(ticket, 20_000, io.BytesIO(b"x" * 40_000), 40_000)
        assert backend.upload_offset(ticket) == 20_000
        with server.account.lock:
            server.account.disk_size = 100_000
        entry = backend.upload_send(ticket, 20_000, io.BytesIO(b"y" * 40_000), 40_000).entry
        assert entry is not None and entry.size == 60_000
    assert waits == []   # a quota refusal is not retried


def test_a_source_that_ends_early_is_a_local_error_not_a_transport_one(
        backend: V2Backend, folder: str) -> None:
    ticket = backend.upload_begin(folder, "short.bin", 1000, None)
    with pytest.raises(UploadSourceError) as short:
        backend.upload_send(ticket, 0, io.BytesIO(b"only 20 bytes here.."), 1000)
    assert not is_temporary(short.value) and errno_for(short.value) == errno.EIO


def test_an_aborted_upload_is_gone(backend: V2Backend, folder: str) -> None:
    ticket = backend.upload_begin(folder, "aborted.bin", 10, None)
    backend.upload_send(ticket, 0, io.BytesIO(b"01234"), 5)
    backend.upload_abort(ticket)
    with pytest.raises(NotFoundError):
        backend.upload_offset(ticket)
    with pytest.raises(NotFoundError):
        backend.upload_send(ticket, 5, io.BytesIO(b"56789"), 5)
    backend.upload_abort(ticket)   # forgotten already: nothing to do
    assert list(backend.list_folder(folder)) == []


def test_a_ticket_for_another_upload_host_is_not_sent_the_token(backend: V2Backend) -> None:
    stranger = UploadTicket(url="http://203.0.113.9:1/files/abc", size=10)
    with pytest.raises(NotFoundError):
        backend.upload_offset(stranger)
    with pytest.raises(NotFoundError):
        backend.upload_send(stranger, 0, io.BytesIO(b"0123456789"), 10)
    backend.upload_abort(stranger)


def test_no_upload_url_or_token_in_errors_or_log_lines(
        backend: V2Backend, faults: Queued, folder: str,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)   # urllib3 logs each request line at debug level
    data = os.urandom(20_000)
    ticket = backend.upload_begin(folder, "secret-free.bin", len(data), None)
    upload_id = ticket.url.rsplit("/", 1)[-1]
    errors: list[Exception] = []
    faults.queue("upload.tus_patch", Fault(drop_after=100))
    for attempt in (lambda: backend.upload_send(ticket, 0, io.BytesIO(data), len(data)),
                    lambda: backend.upload_send(ticket, 0, io.BytesIO(data), len(data)),
                    lambda: backend.upload_abort(ticket),
                    lambda: backend.upload_offset(ticket)):
        try:
            attempt()
        except (TransportError, UploadOffsetError, NotFoundError) as exc:
            errors.append(exc)
    assert [type(e) for e in errors] == [TransportError, UploadOffsetError, NotFoundError]
    lines = [redact(r.getMessage()) for r in caplog.records]
    assert any("PATCH" in line for line in lines)   # urllib3's request lines were there
    for text in [str(e) for e in errors] + lines:
        assert upload_id not in text and TOKEN not in text, text


def test_quota_exceeded_is_enospc_at_the_mount(tmp_path: Path) -> None:
    from putiofs.front.account_view import AccountView
    from putiofs.front.operations import PutioFS
    from putiofs.front.options import MountOptions
    from tests.support.fake_backend import FakeBackend

    fake = FakeBackend()
    ops = PutioFS(AccountView(fake, MountOptions(cache_ttl=30)))
    ops.readdir("/", None)
    fake.fail_with = QuotaExceededError("TUS create: put.io has no room for this upload")
    with pytest.raises(OSError) as refused:
        ops.mkdir("/new", 0o755)
    assert refused.value.errno == errno.ENOSPC


# -- times ------------------------------------------------------------------------------------

def test_set_mtime_on_a_file_and_a_folder_shows_in_lookup(
        backend: V2Backend, server: EmulatorServer, folder: str) -> None:
    readme = next(e for e in backend.list_folder(ROOT_ID) if e.name == "README.txt")
    backend.set_mtime(readme.id, 1_234_567_890.9)
    assert backend.lookup(readme.id).mtime == 1_234_567_890.0
    backend.set_mtime(folder, 1_500_000_000)
    assert backend.lookup(folder).mtime == 1_500_000_000.0
    assert backend.lookup(readme.id).size == readme.size   # only the time changed


def test_v2_says_it_writes_and_sets_times(backend: V2Backend) -> None:
    assert backend.capabilities.write_contents and backend.capabilities.set_times


def test_v1_has_neither_uploads_nor_times(emulator_factory: Callable[..., EmulatorServer]) -> None:
    from putiofs.config import Settings
    from putiofs.connect import connect

    server = emulator_factory(demo=True)
    settings = Settings(api_url=server.base_url, api_key=server.options.api_key,
                        api_secret=server.options.api_secret)
    with connect(settings) as connection:
        v1 = connection.backend
        assert not v1.capabilities.write_contents and not v1.capabilities.set_times
        ticket = UploadTicket(url=f"{server.root_url}/files/x", size=1)
        for call in (lambda: v1.upload_begin(ROOT_ID, "x", 1, None),
                     lambda: v1.upload_offset(ticket),
                     lambda: v1.upload_send(ticket, 0, io.BytesIO(b"x"), 1),
                     lambda: v1.upload_abort(ticket),
                     lambda: v1.set_mtime("1", MTIME)):
            with pytest.raises(NotSupportedError):
                call()
