"""The v2 emulator's realtime websocket, spoken to with the websockets library: the token
first, 4001 on a bad one, a frame for each change made through the API, and the test hooks."""

from __future__ import annotations

import contextlib
import json
import time

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.support.versions import V2Api

TOKEN = "realtime-token-0123456789"

pytestmark = pytest.mark.server(api="v2", token=TOKEN, transfer_seconds=1.0)


def frames(ws, count: int, seconds: float = 5.0) -> list[dict]:
    got = []
    while len(got) < count:
        got.append(json.loads(ws.recv(timeout=seconds)))
    return got


def _clients(server) -> int:
    return requests.get(f"{server.root_url}/_emulator/socket", timeout=5).json()["clients"]


@contextlib.contextmanager
def listening(server):
    """A websocket registered for the account's frames. The server may be another test's too:
    its clients must be gone first, or theirs would count as this one's registration (and
    the frames sent before this one registers would be lost)."""
    for _ in range(100):
        if not _clients(server):
            break
        time.sleep(0.05)
    with connect(server.socket_url) as ws:
        ws.send(TOKEN)
        for _ in range(100):
            if _clients(server):
                yield ws
                return
            time.sleep(0.05)
        raise AssertionError("not registered")


def test_a_bad_token_is_closed_with_4001(server):
    with connect(server.socket_url) as ws:
        ws.send("not-the-token")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd.code == 4001


def test_another_path_is_404(server):
    with pytest.raises(InvalidStatus) as refused, \
            connect(server.socket_url.replace("/websocket", "/other")):
        pass
    assert refused.value.response.status_code == 404


def test_changes_through_the_api_arrive_as_file_frames_with_the_file_object(server):
    """Each change waits for its frame: changes of an item deleted before the feed sends
    them are not sent (its delete is), so three changes in a row may be one frame."""
    api = V2Api(server)
    with listening(server) as ws:
        folder = api.create_folder("0", "Live")
        got = frames(ws, 1)
        api.post("/files/rename", file_id=folder, name="Lively")
        got += frames(ws, 1)
        api.post("/files/delete", file_ids=folder)
        got += frames(ws, 1)
    assert [f["type"] for f in got] == ["file_create", "file_update", "file_delete"]
    assert {f["value"]["id"] for f in got} == {int(folder)}
    assert got[1]["value"]["name"] == "Lively" and got[1]["value"]["parent_id"] == 0
    assert got[2]["value"]["name"] == "Lively"
    assert got[0]["value"]["content_type"] == "application/x-directory"


def test_a_transfer_reports_create_updates_and_its_file(server):
    api = V2Api(server)
    with listening(server) as ws:
        api.post("/transfers/add", url="http://example.com/file.iso")
        seen = []
        while not any(f["type"] == "transfer_update" and f["value"]["status"] == "COMPLETED"
                      for f in seen):
            seen.extend(frames(ws, 1))
    kinds = [f["type"] for f in seen]
    assert kinds[0] == "transfer_create" and "transfers_count" in kinds
    assert any(f["type"] == "file_create" and f["value"]["name"] == "file.iso" for f in seen)


def test_hooks_drop_lose_and_refuse(server):
    api = V2Api(server)
    with listening(server) as ws:
        requests.post(f"{server.root_url}/_emulator/socket/lose", params={"count": 1},
                      timeout=5).raise_for_status()
        api.create_folder("0", "Lost")
        api.create_folder("0", "Kept")
        assert [f["value"]["name"] for f in frames(ws, 1)] == ["Kept"]
        requests.post(f"{server.root_url}/_emulator/socket/refuse", params={"seconds": 30},
                      timeout=5).raise_for_status()
        dropped = requests.post(f"{server.root_url}/_emulator/socket/drop", timeout=5).json()
        assert dropped["dropped"] == 1
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    with pytest.raises(InvalidStatus) as refused, connect(server.socket_url):
        pass
    assert refused.value.response.status_code == 503
    assert requests.get(f"{server.root_url}/_emulator/socket", timeout=5).json()["lost"] == 1
