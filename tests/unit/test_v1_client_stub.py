"""The client's envelope handling, error classes and retry policy, against a tiny stub server
on 127.0.0.1 (:mod:`tests.support.v1_stub`) that answers canned status/body sequences (no
emulator needed)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import pytest
from requests.adapters import HTTPAdapter

from putiofs.api.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from putiofs.api.services import SubscriptionFields
from putiofs.config import Settings
from putiofs.net.retry import parse_retry_after
from putiofs.v1.client import V1Client
from putiofs.v1.errors import classify_error
from putiofs.v1.wire import V1Wire
from tests.support.v1_stub import (
    API_KEY,
    API_SECRET,
    DOC_OK,
    V1Stub,
    fail,
    legacy_ok,
    ok,
)
from tests.support.v1_stub import Reply as Canned

pytest_plugins = ("tests.support.v1_stub",)


# -- the request ----------------------------------------------------------------------------

def test_request_is_a_post_with_secrets_only_in_the_body(stub, make_client):
    stub.queue(ok([{"id": "7", "name": "x", "is_dir": False, "parent_id": "0"}]))
    items = make_client().list_files("0", limit=5, orderby="name_asc")
    assert [i.id for i in items] == ["7"]
    (seen,) = stub.seen
    assert seen.method == "POST"
    assert seen.path == "/v1/files"
    assert seen.query == {"method": ["list"]}
    assert seen.headers["Accept"] == "application/json"
    assert seen.request == {"api_key": API_KEY, "api_secret": API_SECRET,
                            "params": {"parent_id": "0", "limit": 5, "orderby": "name_asc"}}
    for secret in (API_KEY, API_SECRET):
        assert secret not in seen.path
        assert all(secret not in str(v) for v in seen.headers.values())


def test_session_pool_mounted_for_http_and_https(make_client):
    client = make_client(pool_size=12)
    for prefix in ("http://x", "https://x"):
        adapter = client.wire.session.get_adapter(prefix)
        assert isinstance(adapter, HTTPAdapter)
        assert adapter._pool_maxsize == 12


def test_nothing_secret_in_debug_logs(stub, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    stub.queue(ok([]), fail("bad api_key " + API_KEY), Canned(drop=True))
    client = make_client(retries=0)
    client.list_files("0")
    with pytest.raises(AuthenticationError) as auth:
        client.info("1")
    with pytest.raises(TransportError) as transport:
        client.info("1")
    text = caplog.text + str(auth.value) + str(transport.value) + repr(client)
    assert "files.list" in caplog.text
    assert API_SECRET not in text
    assert API_KEY not in text


# -- envelope and error classification -----------------------------------------------------

def test_success_with_error_false_is_success(stub, make_client):
    stub.queue(legacy_ok([{"id": 3, "name": "n"}]))
    assert make_client().info(3).id == "3"


@pytest.mark.parametrize("status,message,expected", [
    (401, None, AuthenticationError),
    (403, "Forbidden", AuthenticationError),
    (200, "Invalid api_key or api_secret", AuthenticationError),
    (200, "Please login", AuthenticationError),
    (200, "Item not found", NotFoundError),
    (200, "No such file", NotFoundError),
    (200, "The item does not exist", NotFoundError),
    (200, "Cannot move a folder into its own subtree", ConflictError),
    (200, "Target is not a folder", ConflictError),
    (200, "You are not allowed to change this item", PermissionDeniedError),
    (200, "Missing parameter: id", BadRequestError),
    (200, "Something else entirely", BadRequestError),
    (404, "Unknown method: frobnicate", BadRequestError),
    (404, "Missing parameter: id", BadRequestError),
    (404, "Item not found", NotFoundError),
    (404, None, NotFoundError),
    (400, None, BadRequestError),
])
def test_error_classification(stub, make_client, status, message, expected):
    body = fail(message, status)[1] if message else b"<html>nope</html>"
    stub.queue(Canned(status=status, body=body))
    with pytest.raises(expected) as excinfo:
        make_client(retries=0).info("1")
    if message:
        assert excinfo.value.message == message
    assert excinfo.value.status == status
    assert type(excinfo.value) is expected


def test_classify_error_is_case_insensitive():
    assert isinstance(classify_error("ITEM NOT FOUND"), NotFoundError)
    assert isinstance(classify_error("Unauthorized"), AuthenticationError)


def test_error_without_message_uses_error_string(stub, make_client):
    stub.queue((200, {"error": "Item not found", "response": None}))
    with pytest.raises(NotFoundError, match="Item not found"):
        make_client().info("1")


@pytest.mark.parametrize("body", [b"<html>502 Bad Gateway</html>", b"[1, 2]", b'{"x": 1}',
                                  b'{"error": null, "response": [1]}', b""])
def test_invalid_envelope_is_server_error_without_echo(stub, make_client, body):
    stub.queue(*[Canned(body=body)] * 3)
    with pytest.raises(ServerError, match="not a valid put.io envelope") as excinfo:
        make_client(retries=2).info("1")
    assert "html" not in str(excinfo.value)
    assert len(stub.seen) == 3


def test_garbled_answer_retried_for_a_read(stub, make_client):
    stub.queue(Canned(body=b'{"error": null, "respo'), ok([{"id": "1"}]))
    assert make_client().info("1").id == "1"


def test_garbled_answer_to_a_create_is_not_retried(stub, make_client):
    stub.queue(Canned(body=b'{"error": null, "respo'), ok([{"id": "1"}]))
    with pytest.raises(ServerError):
        make_client().create_dir("x", "0")
    assert len(stub.seen) == 1


def test_secret_echoed_by_server_is_redacted(stub, make_client):
    stub.queue(fail(f"api_secret {API_SECRET} is wrong"))
    with pytest.raises(AuthenticationError) as excinfo:
        make_client().info("1")
    assert API_SECRET not in str(excinfo.value)
    assert "***" in str(excinfo.value)


def test_redirect_not_followed(stub, make_client):
    stub.queue(Canned(status=307, body=b"", headers={"Location": "http://127.0.0.1:9/steal"}))
    with pytest.raises(ServerError, match="redirect"):
        make_client().info("1")
    assert len(stub.seen) == 1


# -- retries --------------------------------------------------------------------------------

def test_503_then_success_retries_with_backoff(stub, make_client, fake_time):
    stub.queue(fail("busy", 503), fail("busy", 503), ok([{"id": "1"}]))
    assert make_client(backoff=0.5).info("1").id == "1"
    assert len(stub.seen) == 3
    assert fake_time.sleeps == [0.5, 1.0]  # rng pinned to 1.0: the full ceiling


def test_full_jitter_stays_under_the_ceiling(stub, make_client, fake_time):
    stub.queue(fail("busy", 500), fail("busy", 500), ok([{"id": "1"}]))
    make_client(backoff=1.0, rng=lambda: 0.25).info("1")
    assert fake_time.sleeps == [0.25, 0.5]


def test_persistent_500_gives_up_after_bounded_attempts(stub, make_client):
    stub.queue(*[fail("boom", 500)] * 10)
    with pytest.raises(ServerError, match="boom") as excinfo:
        make_client(retries=3).info("1")
    assert excinfo.value.status == 500
    assert len(stub.seen) == 4


def test_429_waits_at_least_retry_after(stub, make_client, fake_time):
    stub.queue(Canned(status=429, body=fail("slow down", 429)[1], headers={"Retry-After": "3"}),
               ok([{"id": "1"}]))
    assert make_client(backoff=0.1).info("1").id == "1"
    assert fake_time.sleeps == [3.0]


@pytest.mark.parametrize("limits", [{"max_retry_after": 200, "max_retry_time": 30},
                                    {"max_retry_after": 60, "max_retry_time": 300}])
def test_429_longer_than_we_wait_raises_with_retry_after(stub, make_client, fake_time, limits):
    stub.queue(Canned(status=429, body=b"", headers={"Retry-After": "120"}))
    with pytest.raises(RateLimitedError) as excinfo:
        make_client(**limits).info("1")
    assert excinfo.value.retry_after == 120
    assert fake_time.sleeps == []  # never earlier than the server asked
    assert len(stub.seen) == 1


def test_total_retry_time_is_bounded(stub, make_client, fake_time):
    stub.queue(*[fail("busy", 503)] * 10)
    with pytest.raises(ServerError):
        make_client(retries=10, backoff=4, max_backoff=4, max_retry_time=10).info("1")
    assert sum(fake_time.sleeps) <= 10
    assert len(stub.seen) == 3


def test_parse_retry_after_http_date():
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    headers = {"Retry-After": "Mon, 01 Jan 2024 12:00:30 GMT"}
    assert parse_retry_after(headers, now=now) == 30
    assert parse_retry_after({"Retry-After": "Mon, 01 Jan 2024 11:00:00 GMT"}, now=now) == 0
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None


def test_dropped_connection_then_success(stub, make_client, fake_time):
    stub.queue(Canned(drop=True), ok([{"id": "1"}]))
    assert make_client().info("1").id == "1"
    assert len(fake_time.sleeps) == 1


def test_dropped_connection_always_is_transport_error(stub, make_client):
    stub.queue(*[Canned(drop=True)] * 5)
    with pytest.raises(TransportError) as excinfo:
        make_client(retries=2).info("1")
    assert len(stub.seen) == 3
    assert API_SECRET not in str(excinfo.value)


def test_read_timeout_is_transport_error(stub, make_client):
    stub.queue(Canned(delay=1.0, body=DOC_OK))
    started = time.monotonic()
    with pytest.raises(TransportError, match="ReadTimeout"):
        make_client(retries=0, timeout=(1.0, 0.2)).info("1")
    assert time.monotonic() - started < 0.9


def test_connection_refused_is_transport_error(fake_time):
    server = V1Stub()
    url = server.base_url
    server.close()
    client = V1Client(V1Wire(Settings(url, API_KEY, API_SECRET), retries=1,
                             sleep=fake_time.sleep, clock=fake_time.clock))
    with pytest.raises(TransportError):
        client.user_info()
    assert len(fake_time.sleeps) == 1


@pytest.mark.parametrize("call", [
    lambda c: c.create_dir("new", "0"),
    lambda c: c.add_transfers(["http://example.invalid/a.iso"]),
    lambda c: c.create_subscription(SubscriptionFields("t", "http://example.invalid/rss")),
    lambda c: c.pause_subscription(5),
])
@pytest.mark.parametrize("failure", [
    Canned(status=503, body=fail("busy", 503)[1]),
    Canned(drop=True),
    Canned(status=429, body=b"", headers={"Retry-After": "1"}),
])
def test_calls_that_create_are_attempted_exactly_once(stub, make_client, fake_time, call,
                                                      failure):
    stub.queue(failure, ok([{"id": "1"}]))
    with pytest.raises((ServerError, TransportError, RateLimitedError)):
        call(make_client(dialect="doc"))
    assert len(stub.seen) == 1
    assert fake_time.sleeps == []


def test_repeated_delete_that_finds_it_gone_is_done(stub, make_client):
    stub.queue(Canned(drop=True), fail("Item not found"))
    make_client().delete("5")
    assert len(stub.seen) == 2


def test_first_delete_of_missing_item_is_not_found(stub, make_client):
    stub.queue(fail("Item not found"))
    with pytest.raises(NotFoundError):
        make_client().delete("5")


def test_rename_and_move_are_retried(stub, make_client):
    stub.queue(fail("x", 502), ok([{"id": "5", "name": "b"}]),
               Canned(drop=True), ok([{"id": "5", "parent_id": "9"}]))
    client = make_client()
    assert client.rename("5", "b").name == "b"
    assert client.move("5", "9").parent_id == "9"
    assert len(stub.seen) == 4


# -- dialects -------------------------------------------------------------------------------

def test_doc_dialect_detected_and_type_sent_as_name(stub, make_client):
    stub.queue(ok([{"user_id": 1, "user_name": "demo"}]), ok([]))
    client = make_client()
    assert client.wire.dialect is None
    client.list_files("0", type=3)
    assert client.wire.dialect == "doc"
    assert [s.query["method"][0] for s in stub.seen] == ["info", "list"]
    assert stub.seen[1].request["params"]["type"] == "movie"


def test_legacy_dialect_detected_and_type_sent_as_code(stub, make_client):
    stub.queue(legacy_ok([{"user_name": "demo"}]), legacy_ok([]))
    client = make_client()
    client.user_info()
    assert client.wire.dialect == "legacy"
    client.list_files("0", type="movie")
    assert stub.seen[1].request["params"]["type"] == 3
    assert len(stub.seen) == 2  # already known: no probe


def test_explicit_dialect_needs_no_probe(stub, make_client):
    stub.queue(ok([]), ok([]))
    make_client(dialect="legacy").list_files("0", type="audio")
    make_client(dialect="doc").analyze_urls(["http://a/b"])
    assert stub.seen[0].request["params"]["type"] == 2
    assert stub.seen[1].request["params"] == {"urls": ["http://a/b"]}


def test_unknown_type_refused_locally(stub, make_client):
    with pytest.raises(ValueError, match="unknown item type"):
        make_client(dialect="doc").list_files("0", type="hologram")
    assert stub.seen == []


def test_legacy_analyze_sends_links_and_reads_buckets(stub, make_client):
    stub.queue(legacy_ok({"items": {"singleurl": [{"url": "http://a/b", "name": "b"}],
                                    "error": [], "torrent": [], "multiparturl": []},
                          "disk_avail": "100", "bw_avail": "50"}))
    result = make_client(dialect="legacy").analyze_urls(["http://a/b"])
    assert stub.seen[0].request["params"] == {"links": ["http://a/b"]}
    assert [(u.bucket, u.url) for u in result.urls] == [("singleurl", "http://a/b")]
    assert result.disk_avail == 100


@pytest.mark.parametrize("results", [[{"token": "T1"}], {"token": "T1"},
                                     {"access_token": "T1"}, ["T1"], "T1"])
def test_acctoken_shapes(stub, make_client, results):
    stub.queue(ok(results))
    assert make_client().acctoken() == "T1"


def test_acctoken_missing_is_server_error(stub, make_client):
    stub.queue(ok([]))
    with pytest.raises(ServerError, match="no token"):
        make_client().acctoken()


def test_dirmap_nested_legacy_tree(stub, make_client):
    stub.queue(legacy_ok({"id": 0, "name": "root", "dirs": [
        {"id": 1, "name": "a", "dirs": [{"id": 2, "name": "b", "dirs": []}]}]}))
    nodes = make_client().dirmap()
    assert [(n.id, n.name, n.parent_id) for n in nodes] == [("1", "a", "0"), ("2", "b", "1")]


def test_extract_urls_shapes(stub, make_client):
    stub.queue(ok([{"url": "http://a/1"}, "http://a/2", {"nope": 1}]))
    assert make_client().extract_urls("see http://a/1") == ["http://a/1", "http://a/2"]


def test_iter_folder_pages_until_short_page(stub, make_client):
    stub.queue(ok([{"id": str(i)} for i in range(3)]),
               ok([{"id": str(i)} for i in range(2, 5)]),  # "2" repeated: folder changed
               ok([{"id": "9"}]))
    ids = [item.id for item in make_client().iter_folder("0", page_size=3)]
    assert ids == ["0", "1", "2", "3", "4", "9"]
    offsets = [s.request["params"].get("offset", 0) for s in stub.seen]
    assert offsets == [0, 3, 6]
    assert all(s.request["params"]["orderby"] == "id_asc" for s in stub.seen)


def test_subscription_params(stub, make_client):
    stub.queue(ok([{"id": 4, "name": "t", "paused": True}]), ok([{"id": 4}]))
    client = make_client()
    sub = client.create_subscription(SubscriptionFields(
        "t", "http://r/rss", do_filters=["jazz", "mp3"], parent_folder_id="12", paused=True))
    assert sub.id == 4 and sub.paused
    client.edit_subscription(4, SubscriptionFields(dont_filters="wav"))
    assert stub.seen[0].request["params"] == {
        "title": "t", "url": "http://r/rss", "do_filters": "jazz, mp3",
        "parent_folder_id": 12, "paused": True}
    assert stub.seen[1].request["params"] == {"dont_filters": "wav", "id": 4}


def test_a_name_with_bytes_that_are_not_utf8_does_not_fail_the_listing(stub, make_client):
    body = (b'{"user_id": 1, "error": null, "error_message": null, "response": {"results": ['
            b'{"id": "7", "name": "caf\xe9.txt", "is_dir": false, "size": "3", "parent_id": "0"},'
            b'{"id": "8", "name": "fine.txt", "is_dir": false, "size": "1", "parent_id": "0"}]}}')
    stub.queue(Canned(body=body))
    items = make_client().list_files("0")
    assert [i.name for i in items] == ["caf\ufffd.txt", "fine.txt"]
