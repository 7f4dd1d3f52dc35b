"""The v2 emulator's uploads: TUS at /files/ (as rclone, go-putio and tus.py speak it) and
multipart at /v2/files/upload, the disk quota, and the upload history event."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterator

import pytest
import requests

from putiofs.emulator.http.faults import Fault
from tests.support.emulator_v2_http import AUTH, TOKEN, V2, failed, ok
from tests.support.scripted_faults import Queued

pytest_plugins = ("tests.support.emulator_v2_http",)


def metadata(**values: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}"
                    for key, value in values.items())


def create(v2: V2, length: int, **meta: str) -> requests.Response:
    headers = {**AUTH, "Tus-Resumable": "1.0.0", "Upload-Length": str(length),
               "Upload-Metadata": metadata(**meta)}
    return requests.post(f"{v2.server.root_url}/files/", headers=headers, timeout=10)


def patch(location: str, offset: int, body: bytes | Iterator[bytes]) -> requests.Response:
    headers = {**AUTH, "Tus-Resumable": "1.0.0", "Upload-Offset": str(offset),
               "Content-Type": "application/offset+octet-stream"}
    return requests.patch(location, headers=headers, data=body, timeout=10)


def offset_of(location: str) -> int:
    head = requests.head(location, headers=AUTH, timeout=10)
    assert head.status_code == 200
    return int(head.headers["Upload-Offset"])


def test_tus_upload_in_chunks_with_content_length(v2):
    data = bytes(range(256)) * 100
    music = v2.child(0, "Music")
    created = create(v2, len(data), name="song.mp3", parent_id=str(music["id"]),
                     filename="song.mp3")
    assert created.status_code == 201, created.text
    location = created.headers["Location"]
    assert location.startswith(f"{v2.server.root_url}/files/")
    first = patch(location, 0, data[:10000])
    assert first.status_code == 204 and first.headers["Upload-Offset"] == "10000"
    assert "Putio-File-Id" not in first.headers
    assert offset_of(location) == 10000
    last = patch(location, 10000, data[10000:])
    assert last.status_code == 204, last.text
    assert last.headers["Upload-Offset"] == str(len(data))
    assert last.headers["Putio-File-Crc32"] == f"{zlib.crc32(data):08x}"
    file_id = int(last.headers["Putio-File-Id"])
    # rclone then fetches the metadata by id.
    item = ok(v2.get(f"files/{file_id}"))["file"]
    assert (item["name"], item["parent_id"], item["size"]) == ("song.mp3", music["id"],
                                                               len(data))
    assert item["crc32"] == last.headers["Putio-File-Crc32"]
    assert v2.account.file_bytes(str(file_id)) == data


def test_tus_chunked_patch_bodies_and_updated_at(v2):
    """rclone streams each PATCH with Transfer-Encoding: chunked (no Content-Length)."""
    data = b"chunked body " * 5000
    created = create(v2, len(data), name="rclone.bin", parent_id="0", **{
        "no-torrent": "true", "updated-at": "2023-04-05T06:07:08.123456789Z"})
    location = created.headers["Location"]

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(data), 7000):
            yield data[start:start + 7000]

    done = patch(location, 0, pieces())
    assert done.status_code == 204, done.text
    file_id = int(done.headers["Putio-File-Id"])
    assert v2.account.file_bytes(str(file_id)) == data
    item = ok(v2.get(f"files/{file_id}"))["file"]
    assert item["updated_at"] == "2023-04-05T06:07:08"


def test_tus_offset_mismatch_is_409_and_resumes_after_head(v2):
    data = b"0123456789" * 100
    location = create(v2, len(data), name="resume.txt", parent_id="0").headers["Location"]
    assert patch(location, 0, data[:300]).status_code == 204
    conflict = patch(location, 100, data[100:])
    assert conflict.status_code == 409
    failed(conflict, 409)
    resumed_at = offset_of(location)
    assert resumed_at == 300
    done = patch(location, resumed_at, data[resumed_at:])
    assert done.status_code == 204
    assert v2.account.file_bytes(done.headers["Putio-File-Id"]) == data
    too_much = create(v2, 3, name="short.txt", parent_id="0").headers["Location"]
    failed(patch(too_much, 0, b"four"), 400)


def test_tus_zero_length_completes_at_create_and_takes_one_empty_patch(v2):
    created = create(v2, 0, name="empty.txt", parent_id="0", filename="empty.txt")
    assert created.status_code == 201
    # tus.py sends no PATCH at all: the file exists already.
    file_id = created.headers["Putio-File-Id"]
    assert created.headers["Putio-File-Crc32"] == "00000000"
    assert v2.child(0, "empty.txt")["id"] == int(file_id)
    # rclone sends one empty PATCH and needs Putio-File-Id from it.
    again = patch(created.headers["Location"], 0, b"")
    assert again.status_code == 204 and again.headers["Putio-File-Id"] == file_id
    assert len([f for f in v2.listing() if f["name"] == "empty.txt"]) == 1


def test_tus_delete_aborts_and_auth_is_required(v2):
    location = create(v2, 10, name="aborted.txt", parent_id="0").headers["Location"]
    assert requests.delete(location, headers=AUTH, timeout=10).status_code == 204
    assert requests.head(location, headers=AUTH, timeout=10).status_code == 404
    failed(patch(location, 0, b"0123456789"), 404)
    assert all(f["name"] != "aborted.txt" for f in v2.listing())
    refused = requests.post(f"{v2.server.root_url}/files/", headers={"Upload-Length": "1"},
                            timeout=10)
    failed(refused, 401)


def test_tus_create_errors(v2):
    failed(create(v2, 5, name="", parent_id="0"), 400, "EMPTY_NAME")
    failed(create(v2, 5, name="a/b", parent_id="0"), 400, "SLASH_IN_NAME")
    failed(create(v2, 5, name="x", parent_id="999999"), 404)
    no_length = requests.post(f"{v2.server.root_url}/files/",
                              headers={**AUTH, "Upload-Metadata": metadata(name="x")},
                              timeout=10)
    failed(no_length, 400)


def test_overwrite_metadata_replaces_same_named_files(v2):
    readme = v2.child(0, "README.txt")
    location = create(v2, 3, name="README.txt", parent_id="0",
                      overwrite="true").headers["Location"]
    done = patch(location, 0, b"new")
    assert int(done.headers["Putio-File-Id"]) != readme["id"]
    assert [f["size"] for f in v2.listing() if f["name"] == "README.txt"] == [3]


def test_duplicate_names_by_upload_are_allowed(v2):
    for _ in range(2):
        location = create(v2, 1, name="twin.txt", parent_id="0").headers["Location"]
        assert patch(location, 0, b"x").status_code == 204
    assert len([f for f in v2.listing() if f["name"] == "twin.txt"]) == 2


def test_uploads_beyond_the_disk_quota_fail(v2_factory):
    v2 = v2_factory(demo=False, disk_size=1000)
    failed(create(v2, 1001, name="big.bin", parent_id="0"), 413, "NOT_ENOUGH_DISK_SPACE")
    location = create(v2, 600, name="first.bin", parent_id="0").headers["Location"]
    # The 600 bytes promised to the first upload count until it ends.
    failed(create(v2, 600, name="second.bin", parent_id="0"), 413, "NOT_ENOUGH_DISK_SPACE")
    assert patch(location, 0, b"x" * 600).status_code == 204
    info = ok(v2.get("account/info"))["info"]
    assert info["disk"] == {"avail": 400, "size": 1000, "used": 600}
    multipart = requests.post(f"{v2.server.base_url}/files/upload", headers=AUTH,
                              files={"file": ("m.bin", b"y" * 401)}, timeout=10)
    failed(multipart, 413, "NOT_ENOUGH_DISK_SPACE")


def test_multipart_upload(v2):
    music = v2.child(0, "Music")
    # The TypeScript SDK authenticates the multipart upload by query parameter only.
    resp = requests.post(f"{v2.server.base_url}/files/upload", params={"oauth_token": TOKEN},
                         data={"parent_id": str(music["id"]), "filename": "renamed.txt"},
                         files={"file": ("original.txt", b"multipart bytes")}, timeout=10)
    item = ok(resp)["file"]
    assert (item["name"], item["parent_id"], item["size"]) == ("renamed.txt", music["id"], 15)
    assert v2.account.file_bytes(str(item["id"])) == b"multipart bytes"
    plain = ok(requests.post(f"{v2.server.base_url}/files/upload", headers=AUTH,
                             files={"file": ("plain.txt", b"abc")}, timeout=10))["file"]
    assert plain["parent_id"] == 0 and plain["crc32"] == f"{zlib.crc32(b'abc'):08x}"
    failed(requests.post(f"{v2.server.base_url}/files/upload", headers=AUTH,
                         data={"parent_id": "0"}, files={"other": ("x", b"x")}, timeout=10),
           400)
    failed(requests.post(f"{v2.server.base_url}/files/upload",
                         files={"file": ("x", b"x")}, timeout=10), 401)


def test_multipart_torrent_becomes_a_transfer(v2):
    resp = requests.post(f"{v2.server.base_url}/files/upload", headers=AUTH,
                         files={"file": ("linux.iso.torrent", b"d8:announce...e")}, timeout=10)
    transfer = ok(resp)["transfer"]
    assert transfer["name"] == "linux.iso" and transfer["type"] == "TORRENT"
    assert ok(v2.get(f"transfers/{transfer['id']}"))["transfer"]["id"] == transfer["id"]


def test_uploads_post_history_events(v2):
    location = create(v2, 2, name="evented.txt", parent_id="0").headers["Location"]
    file_id = int(patch(location, 0, b"ev").headers["Putio-File-Id"])
    events = ok(v2.get("events/list"))["events"]
    newest = events[0]
    assert newest["type"] == "upload" and newest["file_id"] == file_id
    assert (newest["file_name"], newest["file_size"]) == ("evented.txt", 2)


def test_tus_faults_injected_per_request(v2_factory):
    """A dropped PATCH keeps the bytes that arrived (HEAD reports them, as TUS servers do); an
    injected 409 names the real offset; status faults answer after reading the body."""
    faults = Queued()
    v2 = v2_factory(faults=faults)
    data = bytes(range(256)) * 40
    location = create(v2, len(data), name="faulty.bin", parent_id="0").headers["Location"]
    faults.queue("upload.tus_patch", Fault(drop_after=3000))
    with pytest.raises(requests.ConnectionError):
        patch(location, 0, data)
    assert offset_of(location) == 3000
    faults.queue("upload.tus_patch", Fault(status=409), Fault(status=503))
    conflict = patch(location, 3000, data[3000:])
    failed(conflict, 409)
    assert conflict.headers["Upload-Offset"] == "3000"
    failed(patch(location, 3000, data[3000:]), 503)
    assert offset_of(location) == 3000
    done = patch(location, 3000, data[3000:])
    assert v2.account.file_bytes(done.headers["Putio-File-Id"]) == data


def test_a_patch_is_refused_once_the_space_went_away(v2_factory):
    v2 = v2_factory(demo=False, disk_size=1000)
    location = create(v2, 800, name="shrinking.bin", parent_id="0").headers["Location"]
    assert patch(location, 0, b"a" * 300).status_code == 204
    with v2.account.lock:
        v2.account.disk_size = 700
    failed(patch(location, 300, b"b" * 500), 413, "NOT_ENOUGH_DISK_SPACE")
    assert offset_of(location) == 300
    with v2.account.lock:
        v2.account.disk_size = 1000
    assert patch(location, 300, b"b" * 500).status_code == 204
