"""V1Backend: the filesystem's view of a put.io v1 account, against the emulator."""

from __future__ import annotations

import threading
import time

import pytest

from putiofs.api.backend import ROOT_ID, Entry, FolderRef, Quota
from putiofs.api.errors import BadRequestError, ConflictError, NotFoundError
from putiofs.config import Settings
from putiofs.v1.backend import V1Backend
from putiofs.v1.client import V1Client
from putiofs.v1.wire import V1Wire
from tests.support.servers import on_each_dialect

pytestmark = on_each_dialect


def make_backend(server) -> V1Backend:
    client = V1Client(V1Wire(Settings(server.base_url, "demo", "demo"), timeout=(2.0, 5.0),
                             retries=1, backoff=0.01))
    return V1Backend(client)


@pytest.fixture
def backend(server):
    backend = make_backend(server)
    yield backend
    backend.client.wire.close()


def test_list_folder_returns_entries_with_names_unmodified(backend, server):
    folder = server.account.add_folder("0", "lf")
    odd = server.account.add_file(folder, "a/b: c?.txt", data=b"12345")
    sub = server.account.add_folder(folder, "sub")
    entries = {e.id: e for e in backend.list_folder(folder)}
    assert set(entries) == {odd, sub}
    assert entries[odd] == Entry(
        id=odd, name="a/b: c?.txt", is_dir=False, size=5, parent_id=folder, type="text",
        download_url=entries[odd].download_url, stream_url=entries[odd].stream_url,
        screenshot_url=None, thumb_url=None)
    assert entries[odd].stream_url  # download_url where the server gives no stream_url
    assert entries[sub].is_dir and entries[sub].type == "folder"


def test_list_folder_many_pages(backend, server, monkeypatch):
    folder = server.account.add_folder("0", "big")
    for i in range(25):
        server.account.add_file(folder, f"{i}", data=b"")
    original = backend.client.iter_folder
    monkeypatch.setattr(backend.client, "iter_folder",
                        lambda folder_id: original(folder_id, page_size=10))
    assert len(list(backend.list_folder(folder))) == 25


def test_lookup(backend, server):
    file_id = server.account.add_file("0", "x.bin", data=b"xyz")
    entry = backend.lookup(file_id)
    assert (entry.name, entry.size, entry.parent_id, entry.is_dir) == ("x.bin", 3, "0", False)
    server.account.delete(file_id)
    with pytest.raises(NotFoundError):
        backend.lookup(file_id)


def test_root_lookup(backend):
    root = backend.lookup(ROOT_ID)
    assert root.is_dir and root.id == "0"


def test_folder_map(backend, server):
    top = server.account.add_folder("0", "fm")
    below = server.account.add_folder(top, "fm2")
    refs = set(backend.folder_map())
    assert FolderRef(top, "fm", "0") in refs
    assert FolderRef(below, "fm2", top) in refs
    assert all(r.id != "0" for r in refs)


def test_make_rename_move_delete(backend, server):
    made = backend.make_folder("0", "new folder")
    assert made.is_dir and made.parent_id == "0" and made.name == "new folder"
    file_id = server.account.add_file("0", "f.txt", data=b"f")
    renamed = backend.rename(file_id, "g.txt")
    assert renamed.name == "g.txt"
    moved = backend.move(file_id, made.id)
    assert moved.parent_id == made.id
    assert [e.id for e in backend.list_folder(made.id)] == [file_id]
    with pytest.raises(ConflictError):
        backend.move(made.id, made.id)
    backend.delete(made.id)
    assert server.account.item(file_id) is None


def test_move_with_a_name_moves_and_renames(backend, server):
    folder = server.account.add_folder("0", "into")
    file_id = server.account.add_file("0", "before.txt", data=b"b")
    moved = backend.move(file_id, folder, "after.txt")
    assert (moved.id, moved.parent_id, moved.name) == (file_id, folder, "after.txt")
    assert [(e.id, e.name) for e in backend.list_folder(folder)] == [(file_id, "after.txt")]


def test_a_rename_failing_after_the_move_moves_the_item_back(backend, server, monkeypatch):
    folder = server.account.add_folder("0", "away")
    file_id = server.account.add_file("0", "stays.txt", data=b"s")

    def refuse(item_id, name):
        raise BadRequestError("refused")

    monkeypatch.setattr(backend.client, "rename", refuse)
    with pytest.raises(BadRequestError):
        backend.move(file_id, folder, "renamed.txt")
    entry = backend.lookup(file_id)
    assert (entry.parent_id, entry.name) == ("0", "stays.txt")
    assert list(backend.list_folder(folder)) == []


def test_when_the_move_back_fails_too_the_rename_s_error_is_raised_and_logged(
        backend, server, monkeypatch, caplog):
    folder = server.account.add_folder("0", "stuck")
    file_id = server.account.add_file("0", "lost.txt", data=b"l")
    original_move = backend.client.move
    moves: list[str] = []

    def move_once(item_id, parent_id):
        moves.append(parent_id)
        if len(moves) > 1:
            raise ConflictError("no way back")
        return original_move(item_id, parent_id)

    def refuse(item_id, name):
        raise BadRequestError("refused")

    monkeypatch.setattr(backend.client, "move", move_once)
    monkeypatch.setattr(backend.client, "rename", refuse)
    with pytest.raises(BadRequestError):
        backend.move(file_id, folder, "renamed.txt")
    assert moves == [folder, "0"]
    assert backend.lookup(file_id).parent_id == folder
    assert "neither renamed nor moved back" in caplog.text


def test_stream_url_serves_bytes_with_range(backend, server):
    data = b"0123456789" * 100
    entry = backend.lookup(server.account.add_file("0", "d.bin", data=data))
    url = backend.stream_url(entry)
    assert "/atk/" in url
    response = backend.http_session.get(url, headers={"Range": "bytes=990-"}, timeout=5)
    assert response.status_code == 206
    assert response.content == data[990:]
    assert backend.stream_url(entry) == url  # the token is cached
    assert server.stats()["requests"].get("user.acctoken") == 1


def test_stream_url_of_a_folder_is_refused(backend):
    with pytest.raises(BadRequestError):
        backend.stream_url(backend.lookup("0"))


def test_expired_token_refreshed_on_request(emulator_factory, dialect):
    server = emulator_factory(dialect=dialect, token_ttl=0.3)
    backend = make_backend(server)
    entry = backend.lookup(server.account.add_file("0", "e.bin", data=b"abc"))
    old = backend.stream_url(entry)
    time.sleep(0.4)
    assert backend.http_session.get(old, timeout=5).status_code == 403
    new = backend.stream_url(entry, refresh_token=True)
    assert new != old
    assert backend.http_session.get(new, timeout=5).content == b"abc"
    backend.client.wire.close()


def test_quota(backend, dialect):
    quota = backend.quota()
    if dialect == "legacy":
        assert isinstance(quota, Quota)
        assert 0 < quota.available <= quota.total
    else:
        assert quota is None


def test_http_session_is_the_clients_pool(backend):
    assert backend.http_session is backend.client.wire.session


class CountingClient:
    """Just enough of a client to count acctoken calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def acctoken(self) -> str:
        with self.lock:
            self.calls += 1
            n = self.calls
        time.sleep(0.01)
        return f"token{n}"


ENTRY = Entry(id="1", name="f", is_dir=False, size=1, parent_id="0",
              stream_url="http://127.0.0.1:1/stream/1")


def run_threads(backend: V1Backend, refresh: bool, count: int = 8) -> set[str]:
    urls: list[str] = []

    def read() -> None:
        urls.append(backend.stream_url(ENTRY, refresh_token=refresh))

    threads = [threading.Thread(target=read) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(urls) == count
    return set(urls)


def test_token_fetched_once_by_many_threads_and_refreshed_once():
    client = CountingClient()
    now = [100.0]
    backend = V1Backend(client, clock=lambda: now[0])  # type: ignore[arg-type]
    assert run_threads(backend, refresh=False) == {"http://127.0.0.1:1/stream/1/atk/token1"}
    assert client.calls == 1
    assert run_threads(backend, refresh=True) == {"http://127.0.0.1:1/stream/1/atk/token1"}
    assert client.calls == 1  # a token fetched a moment ago is not replaced
    now[0] += 5
    assert run_threads(backend, refresh=True) == {"http://127.0.0.1:1/stream/1/atk/token2"}
    assert client.calls == 2  # eight readers refused at once: one new token for all
