"""Every client method against a running emulator, in both the doc and the legacy dialect.

The emulator is written from the spec and shares no code with the client, so these tests
check the wire format from both ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests

from putiofs.api.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    ServerError,
)
from putiofs.api.services import SubscriptionFields
from putiofs.config import Settings
from putiofs.emulator import Fault, Faults, RequestInfo
from putiofs.v1.client import V1Client
from putiofs.v1.models import Item
from putiofs.v1.wire import V1Wire
from tests.support.servers import on_each_dialect

pytestmark = on_each_dialect


@contextmanager
def make_client(server, api_key="demo", api_secret="demo", **kwargs) -> Iterator[V1Client]:
    options = {"timeout": (2.0, 5.0), "retries": 1, "backoff": 0.01}
    options.update(kwargs)
    with V1Wire(Settings(server.base_url, api_key, api_secret), **options) as wire:
        yield V1Client(wire)


@pytest.fixture
def client(server):
    with make_client(server) as c:
        yield c


def children(client: V1Client, folder_id: str) -> dict[str, Item]:
    return {item.name: item for item in client.iter_folder(folder_id)}


def test_dialect_detected_automatically(client, dialect):
    assert client.wire.dialect is None
    assert client.wire.detect_dialect() == dialect


def test_secrets_travel_only_in_a_post_body(emulator_factory, dialect):
    server = emulator_factory(dialect=dialect, api_key="KEY-1a2b3c", api_secret="SECRET-4d5e6f")
    sent: list[requests.PreparedRequest] = []
    with make_client(server, "KEY-1a2b3c", "SECRET-4d5e6f") as client:
        client.wire.session.hooks["response"].append(lambda r, *a, **k: sent.append(r.request))
        client.list_files("0")
        client.user_info()
    assert [r.method for r in sent] == ["POST", "POST"]
    for prepared in sent:
        assert "KEY-1a2b3c" not in prepared.url and "SECRET-4d5e6f" not in prepared.url
        assert "SECRET-4d5e6f" in prepared.body
    assert server.stats()["requests"] == {"files.list": 1, "user.info": 1}


def test_bad_credentials(server):
    with make_client(server, api_secret="wrong") as client:
        with pytest.raises(AuthenticationError, match="api_key or api_secret"):
            client.list_files("0")
        with pytest.raises(AuthenticationError):
            client.user_info()
    assert server.stats()["requests"]["files.list"] == 1  # not retried


def test_unknown_id_is_not_found(client):
    for call in (lambda: client.info("987654"), lambda: client.rename("987654", "x"),
                 lambda: client.move("987654", "0"), lambda: client.delete("987654"),
                 lambda: client.list_files("987654")):
        with pytest.raises(NotFoundError):
            call()


def test_missing_parameter_and_unknown_method_are_bad_requests(client):
    with pytest.raises(BadRequestError, match="Missing parameter: id") as excinfo:
        client.wire.call("files", "info", {})
    assert not isinstance(excinfo.value, ConflictError)
    with pytest.raises(BadRequestError, match="Unknown method"):
        client.wire.call("files", "frobnicate")
    with pytest.raises(BadRequestError, match="Unknown service"):
        client.wire.call("nothing", "list")


def test_folder_lifecycle(client, server):
    parent = client.create_dir("Work / in progress", "0")
    assert parent.is_dir and parent.name == "Work / in progress" and parent.parent_id == "0"
    child = client.create_dir("inner", parent.id)
    same_name = client.create_dir("inner", parent.id)  # names may repeat, as on put.io
    assert same_name.id != child.id
    assert client.info(child.id).parent_id == parent.id

    renamed = client.rename(child.id, "renamed")
    assert renamed.name == "renamed" and client.info(child.id).name == "renamed"

    moved = client.move(child.id, "0")
    assert moved.parent_id == "0"
    assert {i.id for i in client.iter_folder("0")} >= {parent.id, child.id}

    client.delete(parent.id)
    with pytest.raises(NotFoundError):
        client.info(same_name.id)  # deleting a folder deletes its subtree
    assert server.account.item(child.id) is not None


def test_move_into_own_subtree_is_conflict(client, server):
    top = server.account.add_folder("0", "top")
    below = server.account.add_folder(top, "below")
    a_file = server.account.add_file("0", "f.txt", data=b"x")
    with pytest.raises(ConflictError):
        client.move(top, below)
    with pytest.raises(ConflictError):
        client.move(top, top)
    with pytest.raises(ConflictError):
        client.move(below, a_file)
    assert server.account.item(below)["parent_id"] == top


def test_pagination_across_pages(client, server):
    folder = server.account.add_folder("0", "many")
    ids = {server.account.add_file(folder, f"f{i:03}.txt", data=b"x") for i in range(45)}
    server.reset_stats()
    seen = [item.id for item in client.iter_folder(folder, page_size=10)]
    assert sorted(seen) == sorted(ids)
    assert len(seen) == 45
    assert server.stats()["requests"] == {"files.list": 5}

    page = client.list_files(folder, offset=40, limit=10, orderby="name_asc")
    assert [i.name for i in page] == [f"f{i:03}.txt" for i in range(40, 45)]
    assert len(client.list_files(folder)) == 20  # the spec's default limit


def test_iter_folder_exact_multiple_of_page_size(client, server):
    folder = server.account.add_folder("0", "twenty")
    for i in range(20):
        server.account.add_file(folder, f"{i}", data=b"")
    assert len(list(client.iter_folder(folder, page_size=10))) == 20


def test_type_filter(client, server, dialect):
    folder = server.account.add_folder("0", "mixed")
    movie = server.account.add_file(folder, "clip.mp4", data=b"m")
    server.account.add_file(folder, "notes.txt", data=b"t")
    sub = server.account.add_folder(folder, "sub")
    assert [i.id for i in client.list_files(folder, type="movie")] == [movie]
    assert [i.id for i in client.list_files(folder, type=3)] == [movie]
    assert [i.id for i in client.list_files(folder, type="folder")] == [sub]
    assert client.wire.dialect == dialect


def test_item_attributes(client, server, dialect):
    data = b"hello world"
    file_id = server.account.add_file("0", "hello.txt", data=data)
    item = client.info(file_id)
    assert (item.id, item.name, item.size, item.is_dir, item.parent_id) == (
        file_id, "hello.txt", len(data), False, "0")
    assert item.type == "text"
    assert item.download_url
    if dialect == "legacy":
        assert item.stream_url
    else:
        assert item.stream_url is None


def test_search(client, server):
    folder = server.account.add_folder("0", "deep")
    found = server.account.add_file(folder, "needle-in-haystack.txt", data=b"")
    assert [i.id for i in client.search("NEEDLE-in")] == [found]
    assert client.search("no-such-name-anywhere") == []


def test_search_operators_on_legacy(legacy_emulator):
    account = legacy_emulator.account
    account.add_file("0", "zz-song.mp3", data=b"a")
    account.add_file("0", "zz-song.txt", data=b"b")
    with make_client(legacy_emulator) as client:
        assert [i.name for i in client.search("zz-song ext:mp3")] == ["zz-song.mp3"]


def test_dirmap_flattened(client, server):
    top = server.account.add_folder("0", "dm-top")
    below = server.account.add_folder(top, "dm-below")
    server.account.add_file(below, "not-a-folder.txt", data=b"")
    nodes = {n.id: n for n in client.dirmap()}
    assert "0" not in nodes
    assert (nodes[top].name, nodes[top].parent_id) == ("dm-top", "0")
    assert (nodes[below].name, nodes[below].parent_id) == ("dm-below", top)
    expected = {
        item_id for item_id in map(str, server.account.nodes)
        if item_id != "0" and server.account.item(item_id)["is_dir"]
    }
    assert set(nodes) == expected


def test_acctoken_stream_with_range(client, server):
    data = bytes(range(256)) * 10
    file_id = server.account.add_file("0", "bytes.bin", data=data)
    item = client.info(file_id)
    token = client.acctoken()
    assert token and token != client.acctoken()  # a fresh one each call
    base = item.stream_url or item.download_url
    response = client.wire.session.get(f"{base}/atk/{token}", headers={"Range": "bytes=100-199"},
                                  timeout=5)
    assert response.status_code == 206
    assert response.content == data[100:200]
    assert response.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    refused = client.wire.session.get(f"{base}/atk/not-a-token", timeout=5)
    assert refused.status_code == 401


def test_transfers_add_list_cancel(emulator_factory, dialect):
    server = emulator_factory(dialect=dialect, transfer_seconds=60)
    with make_client(server) as client:
        added = client.add_transfers(["http://example.com/big.iso", "http://nowhere.invalid/x"])
        by_name = {t.name: t for t in added}
        assert by_name["big.iso"].status == "Waiting"
        assert by_name["big.iso"].percent_done == 0
        assert by_name["x"].is_error and by_name["x"].id is None
        listed = {t.name: t for t in client.list_transfers()}
        assert listed["big.iso"].id == by_name["big.iso"].id
        client.cancel_transfer(by_name["big.iso"].id)
        assert "big.iso" not in {t.name for t in client.list_transfers()}
        with pytest.raises(NotFoundError):
            client.cancel_transfer(by_name["big.iso"].id)
    assert server.stats()["requests"]["transfers.add"] == 1


def test_completed_transfer_posts_a_message(emulator_factory, dialect):
    server = emulator_factory(dialect=dialect, transfer_seconds=0)
    with make_client(server) as client:
        assert client.list_messages() == []
        client.add_transfers(["http://example.com/song.mp3"])
        (done,) = client.list_transfers()
        assert (done.status, done.percent_done) == ("Completed", 100)
        (message,) = client.list_messages()
        assert message.file_name == "song.mp3"
        assert message.hidden is False
        assert isinstance(message.id, int)
        assert "song.mp3" in {i.name for i in client.iter_folder("0")}
        client.delete_message(message.id)
        assert client.list_messages() == []
        with pytest.raises(NotFoundError):
            client.delete_message(message.id)


def test_demo_messages(client):
    messages = client.list_messages()
    assert {m.file_name for m in messages} == {"Test Pattern (10s).mp4", "tone-330hz.mp3"}


def test_subscriptions_lifecycle(client, server):
    folder = server.account.add_folder("0", "feeds")
    before = {s.id for s in client.list_subscriptions()}
    sub = client.create_subscription(SubscriptionFields(
        "Jazz", "http://example.com/rss.xml", do_filters=["jazz", "mp3"], dont_filters="wav",
        parent_folder_id=folder, paused=False))
    assert sub.id not in before
    assert (sub.name, sub.url, sub.do_filters, sub.dont_filters) == (
        "Jazz", "http://example.com/rss.xml", "jazz, mp3", "wav")
    assert sub.parent_folder_id == int(folder)
    assert sub.paused is False
    assert sub.id in {s.id for s in client.list_subscriptions()}

    edited = client.edit_subscription(sub.id, SubscriptionFields(title="Jazz FM", paused=True))
    assert (edited.name, edited.paused, edited.url) == ("Jazz FM", True, sub.url)
    toggled = client.pause_subscription(sub.id)
    assert toggled is not None and toggled.paused is False
    assert client.subscription_info(sub.id).paused is False

    client.delete_subscription(sub.id)
    with pytest.raises(NotFoundError):
        client.subscription_info(sub.id)
    assert {s.id for s in client.list_subscriptions()} == before
    assert server.stats()["requests"]["subscriptions.create"] == 1


def test_subscription_create_missing_url_is_bad_request(client):
    with pytest.raises(BadRequestError, match="url"):
        client.wire.call("subscriptions", "create", {"title": "x"}, repeatable=False)


def test_urls_analyze_and_extract(client, dialect):
    result = client.analyze_urls([
        "http://example.com/movie.mp4",
        "http://nowhere.invalid/y.zip",
        "http://r.example.com/ab.part1.rar",
        "http://r.example.com/ab.part2.rar",
    ])
    by_url = {u.url: u for u in result.urls if u.url}
    good = by_url["http://example.com/movie.mp4"]
    assert good.error is None and good.name == "movie.mp4" and good.file_size > 0
    assert good.dltype == 3 and good.human_size
    assert by_url["http://nowhere.invalid/y.zip"].error
    (multi,) = [u for u in result.urls if u.urls]
    assert multi.urls == ("http://r.example.com/ab.part1.rar",
                          "http://r.example.com/ab.part2.rar")
    if dialect == "legacy":
        assert result.disk_avail is not None
        assert {u.bucket for u in result.urls} == {"singleurl", "error", "multiparturl"}
    text = "get http://a.example.com/1.mp4 and ftp://b.example.com/2.iso, twice: " \
           "http://a.example.com/1.mp4"
    assert client.extract_urls(text) == ["http://a.example.com/1.mp4",
                                         "ftp://b.example.com/2.iso"]


def test_user_info_and_friends(client, server, dialect):
    user = client.user_info()
    assert user.user_name == "demo"
    assert user.user_id == server.account.user_id
    if dialect == "legacy":
        assert user.disk_quota and user.disk_quota_available is not None
        assert user.disk_quota_available <= user.disk_quota
        assert user.friends_count == 1
    else:
        assert user.disk_quota is None
    (friend,) = client.friends()
    assert friend.name and friend.dir_id
    shared = client.list_files(friend.dir_id)
    assert [i.name for i in shared] == ["holiday plans.txt"]


class FirstCallsFail(Faults):
    """The first ``count`` API calls named ``name`` get ``fault``; everything else is served."""

    def __init__(self, name: str, fault: Fault, count: int = 1) -> None:
        self.name, self.fault, self.left = name, fault, count

    def choose(self, request: RequestInfo) -> Fault | None:
        if request.kind == "api" and request.name == self.name and self.left > 0:
            self.left -= 1
            return self.fault
        return None


@pytest.mark.parametrize("fault", [Fault(status=503), Fault(status=500),
                                   Fault(malformed_json=True), Fault(drop_after=10),
                                   Fault(status=429, retry_after=1)])
def test_emulator_faults_retried_for_reads(emulator_factory, dialect, fault):
    server = emulator_factory(dialect=dialect, demo=True,
                              faults=FirstCallsFail("files.list", fault, count=2))
    sleeps: list[float] = []
    with make_client(server, retries=3, sleep=sleeps.append) as client:
        assert "Movies" in {i.name for i in client.list_files("0")}
    assert server.stats()["requests"]["files.list"] == 3
    assert len(sleeps) == 2
    if fault.retry_after:
        assert min(sleeps) >= 1


@pytest.mark.parametrize("fault,error", [(Fault(status=503), ServerError),
                                         (Fault(status=429, retry_after=1), RateLimitedError)])
def test_emulator_faults_not_retried_for_creates(emulator_factory, fault, error):
    server = emulator_factory(faults=FirstCallsFail("files.create_dir", fault))
    with make_client(server, retries=3, sleep=lambda s: None) as client:
        with pytest.raises(error):
            client.create_dir("once", "0")
        assert server.stats()["requests"]["files.create_dir"] == 1
        assert "once" not in {i.name for i in client.iter_folder("0")}
