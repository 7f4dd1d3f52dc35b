"""Our v2 client (:class:`putiofs.v2.V2Client`) and :class:`putiofs.v2.V2Backend` against the
real v2 emulator over loopback HTTP: every call the mount and the commands use, checked against
the emulator's own state, and the emulator's faults (5xx, 429 with ``x-ratelimit-reset``,
garbled and dropped answers) against our retries.

The retry policy is the production one's shape with short backoffs and a sleep that records
what it was asked to wait (a 429's wait is checked, not slept)."""

from __future__ import annotations

import functools
import io
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator

import pytest
import requests

from putiofs.api.errors import (
    AuthenticationError,
    BadRequestError,
    NameExistsError,
    NotFoundError,
    ServerError,
    TransportError,
)
from putiofs.emulator import EmulatorServer
from putiofs.emulator.account.state import ROOT_ID, Node
from putiofs.emulator.http.faults import Fault
from putiofs.front.account_view import AccountView
from putiofs.front.operations import PutioFS
from putiofs.front.options import MountOptions
from putiofs.net.retry import Backoff, RetryPolicy
from putiofs.v2 import V2Backend, V2Client, V2Wire
from tests.support import polling
from tests.support.scripted_faults import Queued
from tests.support.servers import from_fixture

#: Polling for the emulator's jobs: fails the test after 20 s.
wait_for = functools.partial(polling.wait_for, seconds=20.0,
                             fail="the emulator did not get there in time")

TOKEN = "client-token-5c0f"
ATTEMPTS = 4

pytestmark = pytest.mark.server(api="v2", token=TOKEN, transfer_seconds=0.3,
                                faults=from_fixture("faults"))


@pytest.fixture
def faults() -> Queued:
    return Queued()


@pytest.fixture
def waits() -> list[float]:
    """Every wait the retry policy asked for."""
    return []


@pytest.fixture
def make_client(server: EmulatorServer, waits: list[float]) -> Iterator[Callable[..., V2Client]]:
    clients: list[V2Client] = []

    def make(token: str | None = TOKEN) -> V2Client:
        policy = RetryPolicy(attempts=ATTEMPTS, backoff=Backoff(0.001, 0.01), max_time=60.0,
                             max_retry_after=65.0, sleep=waits.append)
        client = V2Client(V2Wire(token, base_url=server.base_url, retry=policy,
                                 timeout=(5.0, 10.0)))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.wire.close()


@pytest.fixture
def client(make_client: Callable[..., V2Client]) -> V2Client:
    return make_client()


@pytest.fixture
def backend(client: V2Client) -> V2Backend:
    return V2Backend(client)


def calls(server: EmulatorServer, name: str) -> int:
    return server.stats()["requests"].get(name, 0)


def folder(server: EmulatorServer, name: str, parent: int = ROOT_ID) -> Node:
    with server.account.lock:
        return server.account.create(parent, name, True)


def data_of(server: EmulatorServer, node_id: int) -> bytes:
    source = server.account.file_source(node_id)
    return b"".join(source.chunks(0, source.size - 1)) if source.size else b""


# -- listing, lookups, search -----------------------------------------------------------------

def test_list_folder_pages_through_several_pages(server: EmulatorServer,
                                                 backend: V2Backend) -> None:
    big = folder(server, "Big")
    for i in range(2500):
        server.account.put_file(big.id, f"item-{i:05d}.bin", i.to_bytes(2, "big"))
    server.reset_stats()
    entries = list(backend.list_folder(str(big.id)))
    assert [e.name for e in entries] == [f"item-{i:05d}.bin" for i in range(2500)]
    assert len({e.id for e in entries}) == 2500
    assert (calls(server, "files.list"), calls(server, "files.list_continue")) == (1, 2)
    node = server.account.nodes[int(entries[1234].id)]
    assert entries[1234].crc32 == f"{zlib.crc32(data_of(server, node.id)):08x}"
    assert entries[1234].parent_id == str(big.id)


def test_entries_carry_the_emulators_times_sizes_and_checksums(server: EmulatorServer,
                                                               backend: V2Backend) -> None:
    account = server.account
    with account.lock:
        for node in account.nodes.values():
            node.updated = 1_500_000_000 + node.id * 3_661
    for entry in backend.list_folder("0"):
        node = account.nodes[int(entry.id)]
        assert (entry.name, entry.is_dir, entry.size) == (node.name, node.is_dir,
                                                          account.size_of(node))
        assert entry.mtime == 1_500_000_000 + node.id * 3_661
        assert entry.ctime == int(node.created)
        assert entry.crc32 == (None if node.is_dir else account.crc32_of(node))
    looked_up = backend.lookup("4")
    assert (looked_up.name, looked_up.parent_id, looked_up.size) == (
        "Test Pattern (10s).mp4", str(account.nodes[4].parent_id), account.nodes[4].size)
    with pytest.raises(NotFoundError):
        backend.lookup("987654")


def test_child_by_name(server: EmulatorServer, client: V2Client) -> None:
    documents = next(n for n in server.account.nodes.values() if n.name == "Documents")
    found = client.child(documents.id, "Café — notes.txt")
    assert server.account.nodes[int(found.id)].name == "Café — notes.txt"
    # two items share "notes.txt": the emulator answers the newest
    twins = [c for c in documents.children if server.account.nodes[c].name == "notes.txt"]
    assert len(twins) == 2 and client.child(documents.id, "notes.txt").id == str(max(twins))
    with pytest.raises(NotFoundError):
        client.child(documents.id, "no such name")


def test_search_pages_too(server: EmulatorServer, client: V2Client) -> None:
    haystack = folder(server, "Haystack")
    for i in range(1100):
        server.account.put_file(haystack.id, f"needle {i}.txt", b"")
    server.reset_stats()
    found = list(client.search("needle"))
    assert sorted(f.name for f in found) == sorted(f"needle {i}.txt" for i in range(1100))
    assert calls(server, "files.search_continue") == 1
    assert [f.name for f in client.search("Pattern")] == ["Test Pattern (10s).mp4"]


# -- changing the tree ------------------------------------------------------------------------

def test_make_folder_rename_and_name_clashes(server: EmulatorServer, backend: V2Backend) -> None:
    made = backend.make_folder("0", "Made")
    node = server.account.nodes[int(made.id)]
    assert (node.name, node.parent_id, node.is_dir) == ("Made", ROOT_ID, True)
    with pytest.raises(NameExistsError):
        backend.make_folder("0", "Made")
    assert [n.name for n in server.account.nodes.values()].count("Made") == 1

    renamed = backend.rename(made.id, "Renamed")
    assert renamed.name == node.name == "Renamed"
    with pytest.raises(NameExistsError):
        backend.rename(made.id, "Movies")
    assert node.name == "Renamed"


def test_move_with_a_name_is_one_call(server: EmulatorServer, backend: V2Backend) -> None:
    target = folder(server, "Target")
    readme = server.account.nodes[1]
    updated = readme.updated
    server.reset_stats()
    moved = backend.move("1", str(target.id), "read me.txt")
    assert (readme.parent_id, readme.name) == (target.id, "read me.txt")
    assert (moved.parent_id, moved.name) == (str(target.id), "read me.txt")
    assert calls(server, "files.move") == 1
    assert readme.updated == updated
    back = backend.move("1", "0")  # the batch form, without a name
    assert (readme.parent_id, back.name) == (ROOT_ID, "read me.txt")


def test_a_rename_into_another_folder_with_a_new_name_is_one_move_call_from_the_mount(
        server: EmulatorServer, backend: V2Backend) -> None:
    target = folder(server, "Into")
    with server.account.lock:
        item = server.account.put_file(ROOT_ID, "before.txt", b"bytes")
    ops = PutioFS(AccountView(backend, MountOptions(cache_ttl=30)))
    ops.readdir("/Into", None)
    server.reset_stats()
    ops.rename("/before.txt", "/Into/after.txt")
    node = server.account.nodes[item.id]
    assert (node.parent_id, node.name) == (target.id, "after.txt")
    assert calls(server, "files.move") == 1 and calls(server, "files.rename") == 0
    assert ops.getattr("/Into/after.txt")["st_size"] == 5
    assert "before.txt" not in ops.readdir("/", None)


def test_move_failures_are_errors(server: EmulatorServer, backend: V2Backend,
                                  client: V2Client) -> None:
    outer = folder(server, "Outer")
    inner = folder(server, "Inner", outer.id)
    with pytest.raises(BadRequestError):
        backend.move(str(outer.id), str(inner.id))
    with pytest.raises(BadRequestError):
        backend.move(str(outer.id), str(inner.id), "Renamed")
    assert server.account.nodes[outer.id].parent_id == ROOT_ID
    failures = client.move_many([outer.id, 987654, 1], inner.id)
    assert sorted((f.id, f.status_code) for f in failures) == [
        (str(outer.id), 400), ("987654", 404)]
    assert server.account.nodes[1].parent_id == inner.id


def test_delete_to_the_trash_and_past_it(server: EmulatorServer, backend: V2Backend,
                                         client: V2Client) -> None:
    account = server.account
    kept = folder(server, "To the trash")
    gone = account.put_file(ROOT_ID, "gone.bin", b"gone")
    assert backend.capabilities.trash is True
    backend.delete(str(kept.id))
    assert kept.id not in account.nodes and kept.id in account.trash.records
    result = client.delete([gone.id], skip_trash=True)
    assert result.skipped == 0
    assert gone.id not in account.nodes and gone.id not in account.trash.records
    with pytest.raises(NotFoundError):
        backend.delete(str(gone.id))


def test_touch_and_copy(server: EmulatorServer, client: V2Client) -> None:
    account = server.account
    client.touch([1, 4], 1_234_567_890.9)
    assert account.nodes[1].updated == account.nodes[4].updated == 1_234_567_890
    target = folder(server, "Copies")
    copy = client.copy(4, target.id, "copy.mp4")
    node = account.nodes[int(copy.id)]
    assert (node.parent_id, node.name, copy.size) == (target.id, "copy.mp4", account.nodes[4].size)
    assert data_of(server, node.id) == data_of(server, 4)
    with pytest.raises(NameExistsError):
        client.copy(4, target.id, "copy.mp4")


# -- reading ----------------------------------------------------------------------------------

def test_stream_url_serves_ranges_and_is_reused(server: EmulatorServer,
                                                client: V2Client) -> None:
    backend = V2Backend(client, url_refresh_interval=0.0)
    entry = backend.lookup("4")
    data = data_of(server, 4)
    server.reset_stats()
    url = backend.stream_url(entry)
    answer = backend.http_session.get(url, headers={"Range": "bytes=1000-1999"}, timeout=10)
    assert answer.status_code == 206
    assert answer.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
    assert answer.content == data[1000:2000]
    tail = backend.http_session.get(url, headers={"Range": f"bytes={len(data) - 10}-"},
                                    timeout=10)
    assert tail.content == data[-10:]
    assert backend.stream_url(entry) == url
    assert calls(server, "files.url") == 1
    fresh = backend.stream_url(entry, refresh_token=True)
    assert backend.http_session.get(fresh, timeout=10).content == data
    assert calls(server, "files.url") == 2
    with pytest.raises(BadRequestError):
        backend.stream_url(backend.lookup("2"))


def test_an_expired_storage_url_is_refused_and_replaced(
        emulator_factory: Callable[..., EmulatorServer]) -> None:
    server = emulator_factory(api="v2", demo=True, token=TOKEN, url_ttl=0.5)
    with V2Wire(TOKEN, base_url=server.base_url) as wire:
        backend = V2Backend(V2Client(wire), url_refresh_interval=0.0)
        entry = backend.lookup("1")
        url = backend.stream_url(entry)
        time.sleep(0.6)
        assert requests.get(url, timeout=10).status_code == 403
        fresh = backend.stream_url(entry, refresh_token=True)
        assert requests.get(fresh, timeout=10).content == data_of(server, 1)


# -- the account and sign-in ------------------------------------------------------------------

def test_account_quota_and_capabilities(server: EmulatorServer, backend: V2Backend,
                                        client: V2Client) -> None:
    account = server.account
    info = client.account_info()
    assert (info.disk_size, info.disk_used) == (account.disk_size, account.disk_used())
    quota = backend.quota()
    assert quota is not None
    assert (quota.total, quota.available) == (account.disk_size,
                                              account.disk_size - account.disk_used())
    assert backend.capabilities.trash is True
    account.trash_enabled = False
    backend.quota()  # refreshes the account, and with it whether deletes go to the trash
    assert backend.capabilities.trash is False
    assert backend.capabilities.folder_map is False


def test_validate_device_flow_and_logout(server: EmulatorServer,
                                         make_client: Callable[..., V2Client]) -> None:
    assert make_client().validate_token().valid
    assert not make_client("not-a-token").validate_token().valid
    with pytest.raises(AuthenticationError):
        make_client("not-a-token").account_info()

    anonymous = make_client(None)
    code = anonymous.device_code(8993, "putiofs tests")
    assert anonymous.device_token(code.code) is None
    requests.post(f"{server.root_url}/_emulator/approve", params={"code": code.code},
                  timeout=10).raise_for_status()
    token = anonymous.device_token(code.code)
    assert token
    signed_in = make_client(token)
    assert signed_in.account_info().username == server.account.user_name
    signed_in.logout()
    assert not signed_in.validate_token().valid
    with pytest.raises(NotFoundError):
        anonymous.device_token("NOSUCH")


# -- the services beside files ----------------------------------------------------------------

def test_transfers_events_and_friends(server: EmulatorServer, client: V2Client) -> None:
    downloads = folder(server, "Downloads")
    done = client.add_transfer("http://example.com/big.iso", save_parent_id=downloads.id)
    cancelled = client.add_transfer("http://example.com/other.iso")
    failing = client.add_transfer("http://broken.invalid/x.iso")
    assert {t.id for t in client.list_transfers()} == {done.id, cancelled.id, failing.id}
    client.cancel_transfers([cancelled.id])
    assert {t.id for t in client.list_transfers()} == {done.id, failing.id}

    finished = wait_for(lambda: (t := client.get_transfer(done.id)).status == "COMPLETED" and t)
    assert server.account.nodes[int(finished.file_id)].parent_id == downloads.id
    broken = wait_for(lambda: (t := client.get_transfer(failing.id)).is_error and t)
    assert broken.error_message
    assert client.retry_transfer(failing.id).status in ("IN_QUEUE", "DOWNLOADING")
    wait_for(lambda: client.get_transfer(failing.id).is_error)
    assert sorted(client.clean_transfers()) == sorted([done.id, failing.id])
    assert client.list_transfers() == []

    events = client.list_events().events
    assert any(e.type == "transfer_completed" and e.file_id == finished.file_id for e in events)
    assert [f.name for f in client.list_friends()] == [f.name for f in server.account.friends]


def test_trash_restore_delete_and_empty(server: EmulatorServer, client: V2Client) -> None:
    account = server.account
    restored = account.put_file(ROOT_ID, "restore me.txt", b"back\n")
    purged = account.put_file(ROOT_ID, "purge me.txt", b"gone\n")
    emptied = account.put_file(ROOT_ID, "empty me.txt", b"gone too\n")
    client.delete([restored.id, purged.id, emptied.id])
    assert {item.file.id for item in client.list_trash()} == {
        str(restored.id), str(purged.id), str(emptied.id)}
    client.restore_from_trash([restored.id])
    assert account.nodes[restored.id].parent_id == ROOT_ID
    assert data_of(server, restored.id) == b"back\n"
    client.delete_from_trash([purged.id])
    assert {item.file.id for item in client.list_trash()} == {str(emptied.id)}
    client.empty_trash()
    assert list(client.list_trash()) == []


def test_zips(server: EmulatorServer, client: V2Client) -> None:
    zip_id = client.create_zip([1, 4])
    ready = wait_for(lambda: (z := client.get_zip(zip_id)).url and z)
    archive = zipfile.ZipFile(io.BytesIO(requests.get(ready.url, timeout=10).content))
    contents = {name.rsplit("/", 1)[-1]: archive.read(name) for name in archive.namelist()}
    assert contents == {"README.txt": data_of(server, 1),
                        "Test Pattern (10s).mp4": data_of(server, 4)}


def test_mp4_conversion(client: V2Client) -> None:
    assert client.mp4_status(4).status == "NOT_AVAILABLE"
    assert client.start_mp4(4).status in ("IN_QUEUE", "CONVERTING", "COMPLETED")
    with pytest.raises(BadRequestError):
        client.start_mp4(1)  # not a video


# -- faults and retries -----------------------------------------------------------------------

def test_server_errors_are_retried(server: EmulatorServer, faults: Queued,
                                   backend: V2Backend, waits: list[float]) -> None:
    faults.queue("files.list", Fault(status=500), Fault(status=503))
    assert {e.name for e in backend.list_folder("0")} >= {"Movies", "README.txt"}
    assert calls(server, "files.list") == 3 and len(waits) == 2


def test_server_errors_past_the_attempts_fail(server: EmulatorServer, faults: Queued,
                                              backend: V2Backend) -> None:
    faults.queue("files.get", *[Fault(status=503)] * (ATTEMPTS + 1))
    with pytest.raises(ServerError):
        backend.lookup("1")
    assert calls(server, "files.get") == ATTEMPTS


def test_rate_limit_waits_until_the_reset(server: EmulatorServer, faults: Queued,
                                          client: V2Client, waits: list[float]) -> None:
    faults.queue("files.get", Fault(status=429, retry_after=3))
    before = time.time()
    assert client.get_file(1).name == "README.txt"
    after = time.time()
    # the emulator sent x-ratelimit-reset = its now + 3 (whole seconds); we wait until then + 1
    [wait] = waits
    assert int(before) + 4 - after <= wait <= int(after) + 4 - before


def test_garbled_answers_are_retried(server: EmulatorServer, faults: Queued,
                                     client: V2Client) -> None:
    faults.queue("account.info", Fault(malformed_json=True))
    assert client.account_info().username == server.account.user_name
    assert calls(server, "account.info") == 2


def test_a_dropped_answer_to_a_rename_is_found_done(server: EmulatorServer,
                                                    faults: Queued,
                                                    backend: V2Backend) -> None:
    """The rename happened, its answer was lost: the repeat finds the name taken by the item
    itself and counts as done."""
    faults.queue("files.rename", Fault(drop_after=0))
    assert backend.rename("1", "renamed.txt").name == "renamed.txt"
    assert server.account.nodes[1].name == "renamed.txt"
    assert calls(server, "files.rename") == 2


def test_a_dropped_answer_to_a_move_is_found_done(server: EmulatorServer,
                                                  faults: Queued,
                                                  backend: V2Backend) -> None:
    target = folder(server, "Target")
    faults.queue("files.move", Fault(drop_after=0))
    moved = backend.move("1", str(target.id), "moved.txt")
    assert (moved.parent_id, moved.name) == (str(target.id), "moved.txt")
    assert calls(server, "files.move") == 2


def test_a_dropped_answer_to_a_delete_is_done(server: EmulatorServer, faults: Queued,
                                              backend: V2Backend) -> None:
    faults.queue("files.delete", Fault(drop_after=0))
    backend.delete("1")  # the repeat finds it gone: skipped, but not "not found"
    assert 1 in server.account.trash.records
    assert calls(server, "files.delete") == 2


def test_a_dropped_answer_to_create_folder_is_not_repeated(server: EmulatorServer,
                                                           faults: Queued,
                                                           backend: V2Backend) -> None:
    faults.queue("files.create_folder", Fault(drop_after=0))
    with pytest.raises(TransportError):
        backend.make_folder("0", "Once")
    assert calls(server, "files.create_folder") == 1
    assert [n.name for n in server.account.nodes.values()].count("Once") == 1


def test_an_entrys_download_url_redirects_to_the_bytes(server: EmulatorServer,
                                                       backend: V2Backend) -> None:
    """``user.putio.download_url``: the API's /download address, usable with the token."""
    entry = backend.lookup("1")
    assert entry.download_url == f"{server.base_url}/files/1/download"
    answer = requests.get(entry.download_url, headers={"Authorization": f"Bearer {TOKEN}"},
                          timeout=10)
    assert answer.history[0].status_code == 302
    assert answer.content == data_of(server, 1)
    assert requests.get(entry.download_url, timeout=10,
                        allow_redirects=False).status_code == 401
