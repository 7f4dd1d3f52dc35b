"""The v2 emulator's trash, transfers, events, friends, zips, mp4, OAuth device flow, faults
and command line, as raw HTTP."""

from __future__ import annotations

import base64
import functools
import io
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile

import pytest
import requests

from putiofs.emulator import Fault
from tests.support import polling
from tests.support.emulator_v2_http import STAMP, TOKEN, V2, failed, ok
from tests.support.scripted_faults import Scripted

#: Polling for the emulator's jobs: fails the test after 15 s.
wait_for = functools.partial(polling.wait_for, seconds=15.0, fail="gave up waiting")

pytest_plugins = ("tests.support.emulator_v2_http",)


# ---------------------------------------------------------------------------------- trash


def _trash(v2: V2, *names: str) -> list[int]:
    ids = [v2.child(0, name)["id"] for name in names]
    ok(v2.post("files/delete", data={"file_ids": ",".join(map(str, ids))}))
    return ids


def test_trash_list_continue_restore_delete_empty(v2):
    readme_id, music_id, pictures_id = _trash(v2, "README.txt", "Music", "Pictures")
    first = ok(v2.get("trash/list", params={"per_page": 2}))
    assert first["total"] == 3 and len(first["files"]) == 2 and first["cursor"]
    rest = ok(v2.post("trash/list/continue", data={"cursor": first["cursor"]}))
    assert len(rest["files"]) == 1 and rest["cursor"] is None
    trashed = {f["id"]: f for f in first["files"] + rest["files"]}
    assert set(trashed) == {readme_id, music_id, pictures_id}
    for item in trashed.values():
        assert item["folder_type"] == "REGULAR" and item["parent_id"] == 0
        assert STAMP.fullmatch(item["deleted_at"]) and STAMP.fullmatch(item["expiration_date"])
    assert first["trash_size"] == sum(f["size"] for f in trashed.values())
    failed(v2.post("trash/list/continue", data={"cursor": "bogus"}), 400)
    # Restore puts a folder back with everything in it.
    ok(v2.post("trash/restore", data={"file_ids": str(music_id)}))
    music = v2.child(0, "Music")
    assert music["id"] == music_id and {f["name"] for f in v2.listing(music_id)} >= {"Tones"}
    ok(v2.post("trash/delete", data={"file_ids": str(readme_id)}))
    assert {f["id"] for f in ok(v2.get("trash/list"))["files"]} == {pictures_id}
    failed(v2.post("trash/restore", data={"file_ids": str(readme_id)}), 404,
           "TRASH_FILE_NOT_FOUND")
    ok(v2.post("trash/empty"))
    assert ok(v2.get("trash/list"))["files"] == []
    assert ok(v2.get("account/info"))["info"]["trash_size"] == 0


def test_continue_without_per_page_keeps_the_page_size(v2_factory):
    """putio.py's continue calls send only ``cursor``: the pages stay the size first asked
    for (a ``per_page`` on the continue call wins)."""
    v2 = v2_factory(transfer_seconds=60)
    _trash(v2, "README.txt", "Music", "Pictures")
    first = ok(v2.get("trash/list", params={"per_page": 1}))
    second = ok(v2.post("trash/list/continue", data={"cursor": first["cursor"]}))
    assert len(second["files"]) == 1 and second["cursor"]
    last = ok(v2.post("trash/list/continue", params={"per_page": 5},
                      data={"cursor": second["cursor"]}))
    assert len(last["files"]) == 1 and last["cursor"] is None
    for i in range(3):
        ok(v2.post("transfers/add", data={"url": f"magnet:?xt=urn:btih:{i}&dn=t{i}"}))
    page = ok(v2.get("transfers/list", params={"per_page": 1}))
    rest = ok(v2.post("transfers/list/continue", data={"cursor": page["cursor"]}))
    assert len(rest["transfers"]) == 1 and rest["cursor"]


def test_restore_into_root_when_the_folder_is_gone(v2):
    documents = v2.child(0, "Documents")
    cafe = v2.child(documents["id"], "Café — notes.txt")
    ok(v2.post("files/delete", data={"file_ids": str(cafe["id"])}))
    ok(v2.post("files/delete", data={"file_ids": str(documents["id"])},
               params={"skip_trash": "true"}))
    ok(v2.post("trash/restore", data={"file_ids": str(cafe["id"])}))
    assert v2.child(0, "Café — notes.txt")["id"] == cafe["id"]


# ------------------------------------------------------------------------------ transfers


def test_transfer_progresses_into_files_and_events(v2_factory):
    v2 = v2_factory(transfer_seconds=0.5)
    music = v2.child(0, "Music")
    added = ok(v2.post("transfers/add", data={"url": "http://example.com/a/song.mp3",
                                              "save_parent_id": music["id"]}))["transfer"]
    assert added["status"] in ("IN_QUEUE", "DOWNLOADING") and added["file_id"] is None
    assert (added["name"], added["save_parent_id"], added["type"]) == ("song.mp3",
                                                                      music["id"], "URL")
    assert STAMP.fullmatch(added["created_at"])

    def done() -> dict | None:
        transfer = ok(v2.get(f"transfers/{added['id']}"))["transfer"]
        return transfer if transfer["status"] == "COMPLETED" else None

    finished = wait_for(done)
    assert finished["percent_done"] == 100 and STAMP.fullmatch(finished["finished_at"])
    item = ok(v2.get(f"files/{finished['file_id']}"))["file"]
    assert (item["name"], item["parent_id"]) == ("song.mp3", music["id"])
    assert item["size"] == finished["size"] > 0
    events = ok(v2.get("events/list"))["events"]
    completed = next(e for e in events if e["type"] == "transfer_completed")
    assert completed["file_id"] == item["id"] and completed["transfer_name"] == "song.mp3"
    assert completed["source"] == "http://example.com/a/song.mp3"
    # Completed transfers stay listed until cleaned.
    listed = ok(v2.get("transfers/list"))
    assert [t["id"] for t in listed["transfers"]] == [added["id"]]
    assert ok(v2.get("transfers/count"))["count"] == 1
    assert ok(v2.post("transfers/clean"))["deleted_ids"] == [added["id"]]
    assert ok(v2.get("transfers/list"))["transfers"] == []


def test_failing_transfer_ends_in_error_and_can_be_retried(v2_factory):
    v2 = v2_factory(transfer_seconds=0.5)
    added = ok(v2.post("transfers/add", data={"url": "http://host.invalid/x.bin"}))["transfer"]

    def errored() -> dict | None:
        transfer = ok(v2.get(f"transfers/{added['id']}"))["transfer"]
        return transfer if transfer["status"] == "ERROR" else None

    failure = wait_for(errored)
    assert isinstance(failure["error_message"], str) and failure["error_message"]
    assert any(e["type"] == "transfer_error" for e in ok(v2.get("events/list"))["events"])
    retried = ok(v2.post("transfers/retry", data={"id": added["id"]}))["transfer"]
    assert retried["id"] == added["id"] and retried["finished_at"] is None
    wait_for(lambda: sum(e["type"] == "transfer_error"
                         for e in ok(v2.get("events/list"))["events"]) == 2)
    failed(v2.post("transfers/retry", data={"id": 999999}), 404)


def test_transfer_add_cancel_remove_and_paging(v2_factory):
    v2 = v2_factory(transfer_seconds=60)
    failed(v2.post("transfers/add", data={"url": ""}), 400, "EMPTY_URL")
    ids = [ok(v2.post("transfers/add", data={"url": f"magnet:?xt=urn:btih:{i}&dn=t{i}"}))
           ["transfer"]["id"] for i in range(3)]
    page = ok(v2.get("transfers/list", params={"per_page": 2}))
    assert len(page["transfers"]) == 2 and page["cursor"] and page["total"] == 3
    rest = ok(v2.post("transfers/list/continue", data={"cursor": page["cursor"]}))
    assert len(rest["transfers"]) == 1 and rest["cursor"] is None
    failed(v2.get("transfers/list", params={"per_page": 1001}), 400)
    ok(v2.post("transfers/cancel", data={"transfer_ids": f"{ids[0]},999999"}))
    ok(v2.post("transfers/cancel", data={"transfer_ids": str(ids[0])}))  # idempotent
    failed(v2.get(f"transfers/{ids[0]}"), 404)
    ok(v2.post("transfers/remove", data={"transfer_ids": str(ids[1])}))
    assert [t["id"] for t in ok(v2.get("transfers/list"))["transfers"]] == [ids[2]]
    ok(v2.post("transfers/remove", data={"remove_filter": "all"}))
    assert ok(v2.get("transfers/count"))["count"] == 0


# ----------------------------------------------------------------------- events, friends


def test_events_page_newest_first_with_before(v2):
    for i in range(5):
        ok(v2.post("files/upload", files={"file": (f"e{i}.txt", b"e")}))
    first = ok(v2.get("events/list", params={"per_page": 2}))
    assert first["has_more"] is True
    assert [e["file_name"] for e in first["events"]] == ["e4.txt", "e3.txt"]
    ids = [e["id"] for e in first["events"]]
    assert ids == sorted(ids, reverse=True)
    for event in first["events"]:
        assert set(event) >= {"id", "type", "user_id", "created_at"}
        assert STAMP.fullmatch(event["created_at"])
    older = ok(v2.get("events/list", params={"per_page": 10, "before": ids[-1]}))
    assert [e["file_name"] for e in older["events"]] == ["e2.txt", "e1.txt", "e0.txt"]
    assert older["has_more"] is False
    failed(v2.get("events/list", params={"per_page": 0}), 400, "INVALID_PER_PAGE")
    ok(v2.post(f"events/delete/{ids[0]}"))
    assert ok(v2.get("events/list"))["events"][0]["id"] == ids[1]
    ok(v2.post("events/delete"))
    assert ok(v2.get("events/list"))["events"] == []


def test_friends_list(v2, v2_factory):
    friends = ok(v2.get("friends/list"))["friends"]
    assert [f["name"] for f in friends] == ["alice"]
    assert v2.child(0, "alice")["is_shared"] is True
    assert ok(v2_factory(demo=False).get("friends/list"))["friends"] == []


# ---------------------------------------------------------------------------- zips, mp4


def test_zip_finishes_and_serves_an_archive(v2_factory):
    v2 = v2_factory(transfer_seconds=0.3)
    music = v2.child(0, "Music")
    zip_id = ok(v2.post("zips/create", data={"file_ids": str(music["id"])}))["zip_id"]

    def done() -> dict | None:
        job = ok(v2.get(f"zips/{zip_id}"))
        return job if job["zip_status"] == "DONE" else None

    job = wait_for(done)
    assert job["size"] == music["size"] and job["missing_files"] == []
    archive = zipfile.ZipFile(io.BytesIO(requests.get(job["url"], timeout=10).content))
    assert sorted(archive.namelist()) == ["Music/AC/DC - Live.txt",
                                          "Music/Tones/tone-330hz.mp3"]
    assert [z["id"] for z in ok(v2.get("zips/list"))["zips"]] == [zip_id]
    failed(v2.get("zips/999999"), 404)


def test_mp4_conversion(v2_factory):
    v2 = v2_factory(transfer_seconds=0.3)
    clips = v2.child(v2.child(0, "Movies")["id"], "Demo Clips")
    video = v2.child(clips["id"], "Test Pattern (10s).mp4")
    assert ok(v2.get(f"files/{video['id']}/mp4"))["mp4"]["status"] == "NOT_AVAILABLE"
    failed(v2.get(f"files/{video['id']}/mp4/download"), 404, "MP4_NOT_FOUND")
    started = ok(v2.post(f"files/{video['id']}/mp4"))["mp4"]
    assert started["status"] in ("IN_QUEUE", "CONVERTING", "COMPLETED")
    wait_for(lambda: ok(v2.get(f"files/{video['id']}/mp4"))["mp4"]["status"] == "COMPLETED")
    assert v2.child(clips["id"], "Test Pattern (10s).mp4")["is_mp4_available"] is True
    assert v2.get(f"files/{video['id']}/mp4/stream").status_code == 302
    failed(v2.get(f"files/{clips['id']}/mp4"), 400, "NotFile")
    failed(v2.post(f"files/{v2.child(0, 'README.txt')['id']}/mp4"), 400, "INVALID_MEDIA")


# ---------------------------------------------------------------------------------- OAuth


def test_device_code_flow(v2):
    code_answer = ok(v2.get("oauth2/oob/code", headers={},
                            params={"app_id": "8993", "client_name": "test"}))
    code = code_answer["code"]
    assert isinstance(code, str) and code and isinstance(code_answer["qr_code_url"], str)
    assert ok(v2.get(f"oauth2/oob/code/{code}", headers={}))["oauth_token"] is None
    approve = requests.post(f"{v2.server.root_url}/_emulator/approve", params={"code": code},
                            timeout=10)
    assert approve.status_code == 200
    token = ok(v2.get(f"oauth2/oob/code/{code}", headers={}))["oauth_token"]
    assert token and token != TOKEN
    ok(v2.get("files/list", headers={"Authorization": f"token {token}"}))
    failed(v2.get("oauth2/oob/code/NOSUCH", headers={}), 404)
    assert requests.post(f"{v2.server.root_url}/_emulator/approve", params={"code": "NOSUCH"},
                         timeout=10).status_code == 404


def test_an_authenticated_device_approves_a_code(v2):
    code = ok(v2.get("oauth2/oob/code", headers={}))["code"]
    failed(v2.post("oauth2/oob/code", headers={}, data={"code": code}), 401)
    assert ok(v2.post("oauth2/oob/code", data={"code": code}))["app"]["id"]
    assert ok(v2.get(f"oauth2/oob/code/{code}", headers={}))["oauth_token"]


def test_validate_and_logout(v2):
    valid = ok(v2.get("oauth2/validate", headers={}, params={"oauth_token": TOKEN}))
    assert valid["result"] is True and valid["user_id"] == v2.account.user_id
    assert isinstance(valid["token_id"], int) and valid["token_scope"] == "default"
    invalid = ok(v2.get("oauth2/validate", headers={"Authorization": "Bearer nope"}))
    assert invalid["result"] is False and invalid["user_id"] is None
    ok(v2.post("oauth/grants/logout"))
    failed(v2.get("files/list"), 401)
    assert ok(v2.get("oauth2/validate"))["result"] is False


# --------------------------------------------------------------------------------- faults


def test_status_faults_are_v2_envelopes_with_rate_limit_headers(v2_factory):
    policy = Scripted({"files.list": Fault(status=429, retry_after=2),
                       "account.info": Fault(status=503),
                       "data": Fault(drop_after=10)})
    v2 = v2_factory(faults=policy)
    limited = v2.get("files/list")
    failed(limited, 429)
    assert limited.headers["Retry-After"] == "2"
    assert int(limited.headers["x-ratelimit-reset"]) >= int(time.time())
    failed(v2.get("account/info"), 503)
    readme = v2.child(0, "README.txt")
    url = ok(v2.get(f"files/{readme['id']}/url"))["url"]
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(url, timeout=10).content  # noqa: B018 - the body is cut after 10 bytes
    assert ("api", "files.child", "GET") in [(r.kind, r.name, r.method) for r in policy.seen]
    assert all(TOKEN not in repr(r) for r in policy.seen)


# ---------------------------------------------------------------------------- command line


def test_command_serves_v2_with_the_token_from_the_environment():
    env = dict(os.environ, PUTIO_TOKEN="env-token")
    proc = subprocess.Popen([sys.executable, "-m", "putiofs.emulator", "--api", "v2", "--demo",
                             "--port", "0"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        assert "v2 emulator listening on" in lines[0]
        url = next(line.split("=", 1)[1].strip() for line in lines
                   if line.startswith("PUTIO_API_URL="))
        assert url.endswith("/v2") and "PUTIO_TOKEN=env-token\n" in lines
        ok(requests.get(f"{url}/files/list", headers={"Authorization": "Bearer env-token"},
                        timeout=10))
        failed(requests.get(f"{url}/files/list",
                            headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10), 401)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_command_prints_every_setting_a_mount_needs_and_its_upload_url_takes_uploads():
    """The PUTIO_* lines, exported as printed, are all a writable mount needs: without
    PUTIO_UPLOAD_URL its writes would go to upload.put.io."""
    proc = subprocess.Popen([sys.executable, "-m", "putiofs.emulator", "--api", "v2",
                             "--port", "0"], env=dict(os.environ, PUTIO_TOKEN=TOKEN),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    give_up = threading.Timer(20, proc.kill)  # a missing line ends the read, not the suite
    give_up.start()
    try:
        assert proc.stdout is not None
        settings: dict[str, str] = {}
        while "PUTIO_UPLOAD_URL" not in settings and len(settings) < 10:
            line = proc.stdout.readline()
            assert line, "the emulator stopped printing before PUTIO_UPLOAD_URL"
            name, _, value = line.strip().partition("=")
            if name.startswith("PUTIO_"):
                settings[name] = value
        assert set(settings) == {"PUTIO_API_URL", "PUTIO_TOKEN", "PUTIO_SOCKET_URL",
                                 "PUTIO_UPLOAD_URL"}
        name = base64.b64encode(b"empty.txt").decode()
        created = requests.post(f"{settings['PUTIO_UPLOAD_URL']}/files/", timeout=10, headers={
            "Authorization": f"token {TOKEN}", "Tus-Resumable": "1.0.0", "Upload-Length": "0",
            "Upload-Metadata": f"name {name}"})
        assert created.status_code == 201, created.text
        listed = ok(requests.get(f"{settings['PUTIO_API_URL']}/files/list", timeout=10,
                                 headers={"Authorization": f"Bearer {TOKEN}"}))
        assert "empty.txt" in [f["name"] for f in listed["files"]]
    finally:
        give_up.cancel()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
