"""The v2 client on the wire, against a stub server: what it sends, how it reads answers and
errors, when it retries and waits, paging, the call deadline, and that secrets stay secret."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler

import pytest

from putiofs.api.errors import (
    AuthenticationError,
    BadRequestError,
    BusyError,
    InvalidNameError,
    NameExistsError,
    NameTooLongError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from putiofs.logs import redact
from putiofs.net import deadline
from putiofs.net.http import DeadlineSession, WatchedAdapter
from putiofs.net.retry import RetryPolicy
from putiofs.v2.client import V2Client
from putiofs.v2.wire import V2Wire
from tests.support.serving import serve
from tests.support.v2_stub import TOKEN, WALL, Reply, error, file_json, ok

pytest_plugins = ("tests.support.v2_stub",)


# -- what goes on the wire ------------------------------------------------------------------

def test_token_goes_in_a_bearer_header_only(stub, make_client):
    stub.on("GET", "/files/7", ok(file=file_json(7, "a.txt")))
    assert make_client().get_file("7").name == "a.txt"
    (seen,) = stub.seen
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["Accept"] == "application/json"
    assert TOKEN not in seen.path and TOKEN not in str(seen.query)


def test_token_is_not_a_session_header(make_client):
    """Stream reads share the session: the token must not travel to storage hosts."""
    client = make_client()
    assert all(TOKEN not in str(v) for v in client.wire.session.headers.values())


def test_writes_are_form_encoded_with_csv_ids(stub, make_client):
    stub.on("POST", "/files/create-folder", ok(file=file_json(9, "new", folder=True)))
    stub.on("POST", "/files/delete", ok(cursor=None, skipped=0))
    stub.on("POST", "/files/move", ok(errors=[]))
    client = make_client()
    folder = client.create_folder("0", "new")
    assert folder.is_dir and folder.id == "9"
    client.delete(["3", 4, "5"], skip_trash=True)
    client.move("3", "9", name="renamed")
    create, delete, move = stub.seen
    assert create.form == {"name": "new", "parent_id": "0"}
    assert delete.form == {"file_ids": "3,4,5"}
    assert delete.query == {"skip_nonexistents": "1", "skip_trash": "1"}
    assert move.form == {"file_id": "3", "parent_id": "9", "name": "renamed"}


def test_move_without_a_name_uses_the_batch_form(stub, make_client):
    stub.on("POST", "/files/move", ok(errors=[]))
    make_client().move("3", "9")
    assert stub.seen[0].form == {"file_ids": "3", "parent_id": "9"}


def test_touch_sends_whole_seconds_in_utc(stub, make_client):
    stub.on("POST", "/files/touch", ok())
    make_client().touch(["5"], 1641092645.9)
    assert stub.seen[0].form == {"file_ids": "5", "updated_at": "2022-01-02T03:04:05Z"}


def test_session_is_the_deadline_session_that_pools_and_never_retries_at_the_adapter():
    with V2Wire("T", pool_size=12) as wire:
        assert isinstance(wire.session, DeadlineSession)
        for prefix in ("http://x", "https://x"):
            adapter = wire.session.get_adapter(prefix)
            assert isinstance(adapter, WatchedAdapter)
            assert adapter._pool_maxsize == 12
            assert adapter.max_retries.total == 0


def test_a_trickling_answer_ends_by_the_policy_s_time_limit():
    """Each call is bounded as a whole by the retry policy's max_time, even outside a FUSE
    call's deadline: a server sending one byte every 0.2 s for ever is cut off (its socket
    timeout alone would never fire), and the call fails instead of hanging."""
    stop = threading.Event()

    class Trickle(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # a kept-alive connection, as put.io's

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                while not stop.wait(0.2):
                    self.wfile.write(b" ")
                    self.wfile.flush()
            except OSError:
                pass

        def log_message(self, *args):
            pass

    outcome: list[BaseException] = []
    policy = RetryPolicy(attempts=1, max_time=1.0)
    with serve(Trickle) as server, V2Wire("T", base_url=server.base, retry=policy,
                                          timeout=(5.0, 5.0)) as wire:
        client = V2Client(wire)

        def call() -> None:
            try:
                client.account_info()
            except BaseException as exc:  # noqa: BLE001 - handed to the test thread
                outcome.append(exc)

        worker = threading.Thread(target=call, daemon=True)
        worker.start()
        worker.join(30)  # a hang detector, not a timing assertion: the bound is 1 s
        stop.set()
        assert not worker.is_alive(), "the call did not end"
    assert len(outcome) == 1 and isinstance(outcome[0], TransportError)


# -- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("reply,expected", [
    (error(401, "Unauthorized"), AuthenticationError),
    (error(401, "invalid_scope"), AuthenticationError),
    (error(403, "Forbidden"), AuthenticationError),
    (error(402, "PAYMENT_REQUIRED"), PermissionDeniedError),
    (error(404, "NOT_FOUND"), NotFoundError),
    (Reply(status=404, body=b"<html>nginx</html>", content_type="text/html"), BadRequestError),
    (error(400, "NAME_ALREADY_EXIST", "Name already exist"), NameExistsError),
    (error(400, "EMPTY_NAME"), InvalidNameError),
    (error(400, "SLASH_IN_NAME"), InvalidNameError),
    (error(400, "INVALID_NAME"), InvalidNameError),
    (error(400, "NAME_TOO_LONG"), NameTooLongError),
    (error(400, "SEARCH_TOO_LONG_QUERY"), BadRequestError),
    (error(500, "INTERNAL"), ServerError),
    (Reply(status=502, body=b"<html>bad gateway</html>", content_type="text/html"),
     ServerError),
    (Reply(status=302, body=b"", headers={"Location": "/elsewhere"}), ServerError),
    (Reply(body=b"<html>captive portal</html>", content_type="text/html"), ServerError),
    (Reply(body={"file": {"id": 1}}), ServerError),  # no "status": "OK"
    (Reply(body=[1, 2]), ServerError),
    (Reply(body={**error(404, "NOT_FOUND").body, "status_code": 404}), NotFoundError),
])
def test_error_mapping(stub, make_client, reply, expected):
    stub.on("GET", "/files/1", reply)
    with pytest.raises(expected) as raised:
        make_client(attempts=1).get_file("1")
    assert type(raised.value) is expected


def test_name_exists_is_a_bad_request_and_keeps_the_message(stub, make_client):
    stub.on("POST", "/files/create-folder", error(400, "NAME_ALREADY_EXIST", "Name already exist"))
    with pytest.raises(NameExistsError) as raised:
        make_client().create_folder("0", "taken")
    assert isinstance(raised.value, BadRequestError)
    assert "Name already exist" in str(raised.value) and raised.value.status == 400


def test_inactive_account_says_so(stub, make_client):
    stub.on("GET", "/files/1/url", error(402, "PAYMENT_REQUIRED", "Payment required"))
    with pytest.raises(PermissionDeniedError, match="account is inactive"):
        make_client().file_url("1")


def test_json_with_a_charset_is_still_json(stub, make_client):
    stub.on("GET", "/files/1", Reply(body=ok(file=file_json(1, "x")).body,
                                     content_type="application/json; charset=utf-8"))
    assert make_client().get_file("1").name == "x"


def test_a_dropped_connection_is_a_transport_error(stub, make_client):
    stub.on("GET", "/files/1", Reply(drop=True))
    with pytest.raises(TransportError):
        make_client(attempts=2).get_file("1")
    assert len(stub.seen) == 2


# -- retries --------------------------------------------------------------------------------

def test_server_errors_are_retried(stub, make_client, fake_time):
    stub.on("GET", "/files/1", error(500, "X"), Reply(status=503, body=b"", content_type=None),
            ok(file=file_json(1, "x")))
    assert make_client().get_file("1").name == "x"
    assert len(stub.seen) == 3
    assert fake_time.sleeps == [0.5, 1.0]


def test_trash_lock_timeout_is_retried(stub, make_client):
    stub.on("POST", "/files/delete", error(400, "TRASH_LOCK_TIMEOUT"), ok(cursor=None, skipped=0))
    assert make_client().delete(["1"]).skipped == 0
    assert len(stub.seen) == 2


def test_busy_until_out_of_attempts_is_a_busy_error(stub, make_client):
    stub.on("POST", "/trash/empty", error(400, "TRASH_LOCK_TIMEOUT"))
    with pytest.raises(BusyError):
        make_client(attempts=3).empty_trash()
    assert len(stub.seen) == 3


@pytest.mark.parametrize("call,method,path", [
    (lambda c: c.create_folder("0", "x"), "POST", "/files/create-folder"),
    (lambda c: c.copy("1", "0"), "POST", "/files/copy"),
    (lambda c: c.add_transfer("magnet:?xt=urn:btih:abc"), "POST", "/transfers/add"),
    (lambda c: c.retry_transfer("5"), "POST", "/transfers/retry"),
    (lambda c: c.create_zip(["1"]), "POST", "/zips/create"),
    (lambda c: c.logout(), "POST", "/oauth/grants/logout"),
])
@pytest.mark.parametrize("failure", [Reply(status=500, body=b"", content_type=None),
                                     Reply(drop=True)])
def test_calls_that_create_are_attempted_once(stub, make_client, call, method, path, failure):
    stub.on(method, path, failure)
    with pytest.raises((ServerError, TransportError)):
        call(make_client())
    assert len(stub.seen) == 1


def test_repeated_rename_that_finds_its_own_name_is_done(stub, make_client):
    """The first attempt renamed (answer lost); the repeat sees the name taken by itself."""
    stub.on("POST", "/files/rename", Reply(drop=True), error(400, "NAME_ALREADY_EXIST"))
    stub.on("GET", "/files/5", ok(file=file_json(5, "new name")))
    assert make_client().rename("5", "new name") is None
    assert [s.path for s in stub.seen] == ["/v2/files/rename", "/v2/files/rename",
                                           "/v2/files/5"]


def test_rename_onto_another_items_name_is_name_exists(stub, make_client):
    stub.on("POST", "/files/rename", Reply(drop=True), error(400, "NAME_ALREADY_EXIST"))
    stub.on("GET", "/files/5", ok(file=file_json(5, "old name")))
    with pytest.raises(NameExistsError):
        make_client().rename("5", "new name")


def test_first_attempt_name_exists_is_not_second_guessed(stub, make_client):
    stub.on("POST", "/files/rename", error(400, "NAME_ALREADY_EXIST"))
    with pytest.raises(NameExistsError):
        make_client().rename("5", "new name")
    assert len(stub.seen) == 1


def test_single_move_raises_its_per_item_error(stub, make_client):
    stub.on("POST", "/files/move", ok(errors=[{"error_type": "NAME_ALREADY_EXIST", "id": 3,
                                               "name": "x", "status_code": 400}]))
    with pytest.raises(NameExistsError):
        make_client().move("3", "9", name="x")


def test_batch_move_reports_per_item_failures(stub, make_client):
    stub.on("POST", "/files/move", ok(errors=[{"error_type": "NOT_FOUND", "id": 4,
                                               "name": None, "status_code": 404}]))
    (failure,) = make_client().move_many(["3", "4"], "9")
    assert (failure.id, failure.error_type, failure.status_code) == ("4", "NOT_FOUND", 404)
    assert stub.seen[0].form == {"file_ids": "3,4", "parent_id": "9"}


def test_delete_reports_skipped_and_whether_it_was_repeated(stub, make_client):
    stub.on("POST", "/files/delete", ok(cursor=None, skipped=1))
    assert make_client().delete("8").skipped == 1
    assert not make_client().delete("8").repeated
    stub.on("POST", "/files/delete", Reply(drop=True), ok(cursor=None, skipped=1))
    assert make_client().delete("8").repeated


# -- 429 ------------------------------------------------------------------------------------

def test_rate_limit_waits_until_the_reset_plus_one_second(stub, make_client, fake_time):
    stub.on("GET", "/files/1",
            error(429, "RATE_LIMIT", **{"x-ratelimit-reset": str(int(WALL) + 20),
                                        "Retry-After": "3"}),
            ok(file=file_json(1, "x")))
    assert make_client().get_file("1").name == "x"
    assert fake_time.sleeps == [21.0]


def test_rate_limit_without_reset_honours_retry_after(stub, make_client, fake_time):
    stub.on("GET", "/files/1", error(429, "RATE_LIMIT", **{"Retry-After": "7"}),
            ok(file=file_json(1, "x")))
    make_client().get_file("1")
    assert fake_time.sleeps == [7.0]


def test_rate_limit_without_any_hint_waits_a_minute(stub, make_client, fake_time):
    stub.on("GET", "/files/1", Reply(status=429, body=b"slow down", content_type="text/plain"),
            ok(file=file_json(1, "x")))
    make_client().get_file("1")
    assert fake_time.sleeps == [60.0]


def test_rate_limit_longer_than_we_wait_fails_at_once(stub, make_client, fake_time):
    stub.on("GET", "/files/1", error(429, "RATE_LIMIT",
                                     **{"x-ratelimit-reset": str(int(WALL) + 600)}))
    with pytest.raises(RateLimitedError) as raised:
        make_client().get_file("1")
    assert raised.value.retry_after == 601.0
    assert len(stub.seen) == 1 and fake_time.sleeps == []


# -- paging ---------------------------------------------------------------------------------

@pytest.mark.parametrize("last_cursor", [None, "", "absent"])
def test_listing_follows_cursors_until_the_last_page(stub, make_client, last_cursor):
    last = {"files": [file_json(5, "e")]}
    if last_cursor != "absent":
        last["cursor"] = last_cursor
    stub.on("GET", "/files/list", ok(files=[file_json(1, "a"), file_json(2, "b")],
                                     parent=file_json(0, "root", folder=True), cursor="c1"))
    stub.on("POST", "/files/list/continue",
            ok(files=[file_json(3, "c"), file_json(2, "b")], cursor="c2"), ok(**last))
    names = [f.name for f in make_client().list_folder("0")]
    assert names == ["a", "b", "c", "e"]
    first, second, third = stub.seen
    assert first.query == {"parent_id": "0", "hidden": "1", "per_page": "1000"}
    assert second.form == {"cursor": "c1"} and third.form == {"cursor": "c2"}
    assert second.query == third.query == {"per_page": "1000"}


def test_a_repeated_cursor_is_an_error_not_a_loop(stub, make_client):
    stub.on("GET", "/files/list", ok(files=[], cursor="same"))
    stub.on("POST", "/files/list/continue", ok(files=[], cursor="same"))
    with pytest.raises(ServerError, match="repeated a cursor"):
        list(make_client().list_folder("0"))


def test_search_pages_through_its_own_continue(stub, make_client):
    stub.on("GET", "/files/search", ok(files=[file_json(1, "a")], cursor="s1", total=2))
    stub.on("POST", "/files/search/continue", ok(files=[file_json(2, "b")], cursor=None))
    assert [f.id for f in make_client().search("a b")] == ["1", "2"]
    assert stub.seen[0].query == {"query": "a b", "per_page": "1000"}


def test_trash_and_transfers_page_too(stub, make_client):
    stub.on("GET", "/trash/list", ok(files=[{**file_json(1, "a"),
                                             "deleted_at": "2024-05-03T00:00:00"}], cursor="t"))
    stub.on("POST", "/trash/list/continue", ok(files=[file_json(2, "b")], cursor=None))
    stub.on("GET", "/transfers/list", ok(transfers=[{"id": 1, "status": "DOWNLOADING"}],
                                         cursor="x"))
    stub.on("POST", "/transfers/list/continue", ok(transfers=[{"id": 2, "status": "ERROR"}],
                                                   cursor=None))
    client = make_client()
    trash = list(client.list_trash())
    assert [t.file.name for t in trash] == ["a", "b"]
    assert trash[0].deleted_at == 1714694400.0
    assert [(t.id, t.is_error) for t in client.list_transfers()] == [("1", False),
                                                                    ("2", True)]


def test_an_impossible_size_is_refused_without_retrying(stub, make_client):
    stub.on("GET", "/files/list", ok(files=[file_json(1, "a", size=-5)], cursor=None))
    with pytest.raises(ServerError, match="size"):
        list(make_client().list_folder("0"))
    assert len(stub.seen) == 1


# -- the deadline ---------------------------------------------------------------------------

def test_a_slow_answer_ends_at_the_callers_deadline(stub, make_client):
    stub.on("GET", "/files/1", Reply(delay=3.0, body=ok(file=file_json(1, "x")).body))
    client = make_client(timeout=(30.0, 30.0))
    with deadline.within(0.3), pytest.raises(TransportError):
        client.get_file("1")
    assert len(stub.seen) == 1  # no retry past the deadline


def test_nothing_is_sent_once_the_deadline_has_passed(stub, make_client):
    client = make_client()
    with deadline.within(0.0), pytest.raises(TransportError, match="out of time"):
        client.get_file("1")
    assert stub.seen == []


# -- sign-in and account --------------------------------------------------------------------

def test_device_flow(stub, make_client):
    stub.on("GET", "/oauth2/oob/code", ok(code="PUTIO1", qr_code_url="https://x/qr"))
    stub.on("GET", "/oauth2/oob/code/PUTIO1", ok(oauth_token=None),
            ok(oauth_token="new-token-123456"))
    client = make_client(token=None)
    code = client.device_code(8993, "putiofs")
    assert code.link == "https://app.put.io/link?code=PUTIO1"
    assert client.device_token(code.code) is None
    assert client.device_token(code.code) == "new-token-123456"
    assert stub.seen[0].query == {"app_id": "8993", "client_name": "putiofs"}
    assert all("Authorization" not in s.headers for s in stub.seen)
    assert "new-token-123456" not in redact("got new-token-123456")


def test_device_code_expired(stub, make_client):
    stub.on("GET", "/oauth2/oob/code/OLD", error(404, "NOT_FOUND"))
    with pytest.raises(NotFoundError, match="expired"):
        make_client(token=None).device_token("OLD")


def test_validate_and_account_info(stub, make_client):
    stub.on("GET", "/oauth2/validate", ok(result=True, token_id=4, token_scope="default",
                                          user_id=77))
    stub.on("GET", "/account/info", ok(info={
        "user_id": 77, "username": "demo", "account_status": "active",
        "disk": {"avail": 700, "size": 2000, "used": 1300}, "trash_size": 5,
        "settings": {"trash_enabled": True, "default_download_folder": 0}}))
    client = make_client()
    assert client.validate_token().valid
    info = client.account_info()
    assert (info.disk_size, info.disk_used, info.disk_avail) == (2000, 1300, 700)
    assert info.trash_enabled and info.username == "demo"


def test_a_refused_token_is_not_valid(stub, make_client):
    stub.on("GET", "/oauth2/validate", ok(result=False, token_id=None, token_scope=None,
                                          user_id=None))
    assert not make_client().validate_token().valid


# -- secrets --------------------------------------------------------------------------------

def test_secrets_stay_out_of_errors_and_logs(stub, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    signed = "http://127.0.0.1:1/download/5?u=SIGNED-abcdef0123456789"
    stub.on("GET", "/files/5/url", ok(url=signed))
    stub.on("GET", "/files/6", error(401, "invalid_scope", f"token {TOKEN} refused"))
    stub.on("GET", "/files/7", Reply(drop=True))
    client = make_client(attempts=1)
    assert client.file_url("5") == signed
    with pytest.raises(AuthenticationError) as auth:
        client.get_file("6")
    with pytest.raises(TransportError) as transport:
        client.get_file("7")
    logging.getLogger("test").debug("stream %s", signed)
    text = "\n".join([str(auth.value), str(transport.value), repr(client)])
    logged = "\n".join(redact(r.getMessage()) for r in caplog.records)
    for secret in (TOKEN, "SIGNED-abcdef0123456789"):
        assert secret not in text
        assert secret not in logged
    # urllib3 logs the path and query without the host: masked too
    assert "SIGNED" not in redact('"GET /download/5?u=SIGNED-abcdef0123456789 HTTP/1.1" 206')


def test_zip_url_is_registered_as_a_secret(stub, make_client):
    stub.on("GET", "/zips/3", ok(id=3, zip_status="DONE", size=10,
                                 url="https://zips.example/z/3?sig=ZIPSECRET-987654321",
                                 missing_files=[]))
    found = make_client().get_zip("3")
    assert found.status == "DONE" and found.size == 10
    assert "ZIPSECRET" not in repr(found)
    assert "ZIPSECRET" not in redact(f"got {found.url}")


def test_a_pending_device_code_stays_out_of_error_messages(stub, make_client):
    stub.on("GET", "/oauth2/oob/code/CODE-7f3a9b", Reply(status=500, body=b"", content_type=None))
    with pytest.raises(ServerError) as raised:
        make_client(token=None, attempts=1).device_token("CODE-7f3a9b")
    assert "CODE-7f3a9b" not in str(raised.value)
    assert "/oauth2/oob/code/<code>" in str(raised.value)
