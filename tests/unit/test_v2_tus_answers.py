"""What the TUS create sends and how its answers are read, against a stub that answers exactly
what each test says (:mod:`tests.support.v2_stub`): the metadata, a relative ``Location``, a
``Location`` on another host, and the errors put.io may answer."""

from __future__ import annotations

import base64
import io

import pytest

from putiofs.api.backend import UploadTicket
from putiofs.api.errors import (
    BadRequestError,
    PermissionDeniedError,
    QuotaExceededError,
    ServerError,
    UploadOffsetError,
)
from putiofs.v2 import V2Backend
from tests.support.v2_stub import TOKEN, Reply, V2Stub, error

pytest_plugins = ("tests.support.v2_stub",)


@pytest.fixture
def backend(make_client, stub: V2Stub) -> V2Backend:
    # the stub serves everything under /v2: uploads go to <origin>/v2/files/
    return V2Backend(make_client(), upload_url=stub.base_url)


def metadata_of(header: str) -> dict[str, str]:
    pairs = (pair.split(" ") for pair in header.split(","))
    return {key: base64.b64decode(value).decode() for key, value in pairs}


def test_create_sends_name_parent_no_torrent_and_whole_seconds(backend: V2Backend,
                                                                stub: V2Stub) -> None:
    stub.on("POST", "/files/", Reply(status=201, body=b"", content_type=None,
                                     headers={"Location": "/v2/files/up-1"}))
    ticket = backend.upload_begin("42", "naïve, report.pdf", 1234, 1_700_000_000.999)
    assert ticket.url == f"{stub.base_url}/files/up-1"   # relative Location, resolved
    assert ticket.size == 1234
    [seen] = stub.requests("POST", "/files/")
    assert seen.headers["Tus-Resumable"] == "1.0.0"
    assert seen.headers["Upload-Length"] == "1234"
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
    assert metadata_of(seen.headers["Upload-Metadata"]) == {
        "name": "naïve, report.pdf", "parent_id": "42", "no-torrent": "true",
        "updated-at": "2023-11-14T22:13:20Z"}
    assert seen.body == b""


def test_no_time_sends_no_updated_at(backend: V2Backend, stub: V2Stub) -> None:
    stub.on("POST", "/files/", Reply(status=201, body=b"", content_type=None,
                                     headers={"Location": f"{stub.base_url}/files/up-2"}))
    backend.upload_begin("0", "x", 1, None)
    [seen] = stub.requests("POST", "/files/")
    assert "updated-at" not in metadata_of(seen.headers["Upload-Metadata"])


def test_a_location_on_another_host_is_refused_and_not_retried(backend: V2Backend,
                                                               stub: V2Stub) -> None:
    stub.on("POST", "/files/", Reply(status=201, body=b"", content_type=None,
                                     headers={"Location": "https://elsewhere.example/files/u"}))
    with pytest.raises(BadRequestError) as refused:
        backend.upload_begin("0", "x", 1, None)
    assert "elsewhere.example/files/u" not in str(refused.value)
    assert len(stub.requests("POST", "/files/")) == 1


def test_a_created_answer_without_location_is_a_server_error(backend: V2Backend,
                                                             stub: V2Stub) -> None:
    stub.on("POST", "/files/", Reply(status=201, body=b"", content_type=None))
    with pytest.raises(ServerError):
        backend.upload_begin("0", "x", 1, None)


@pytest.mark.parametrize("reply", [
    error(413, "NOT_ENOUGH_DISK_SPACE", "Not enough disk space"),
    error(400, "DISK_QUOTA_EXCEEDED"),
    error(403, "NO_SPACE_LEFT"),
    Reply(status=413, body=b"<html>too large</html>", content_type="text/html"),
], ids=["413", "400-quota-type", "403-space-type", "413-no-envelope"])
def test_put_ios_ways_of_saying_the_disk_is_full(backend: V2Backend, stub: V2Stub,
                                                 reply: Reply) -> None:
    stub.on("POST", "/files/", reply)
    with pytest.raises(QuotaExceededError):
        backend.upload_begin("0", "big.bin", 10**12, None)


def test_an_inactive_account_stays_an_inactive_account(backend: V2Backend,
                                                       stub: V2Stub) -> None:
    stub.on("POST", "/files/", error(402, "PAYMENT_REQUIRED"))
    with pytest.raises(PermissionDeniedError) as refused:
        backend.upload_begin("0", "x", 1, None)
    assert "inactive" in str(refused.value)


@pytest.mark.parametrize("status", [409, 423])
def test_a_patch_refused_as_conflicting_or_locked_is_an_offset_error(backend: V2Backend,
                                                                     stub: V2Stub,
                                                                     status: int) -> None:
    """409 (the emulator, TUS itself) and 423 Locked (tusd, while it still holds an earlier
    PATCH) both mean: ask the offset, and go on or wait."""
    stub.on("PATCH", "/files/up-1", error(status, "Conflict"))
    ticket = UploadTicket(url=f"{stub.base_url}/files/up-1", size=10)
    with pytest.raises(UploadOffsetError):
        backend.upload_send(ticket, 0, io.BytesIO(b"0123456789"), 10)
