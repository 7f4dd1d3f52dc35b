"""The emulator's fault injection hook, on the v1 emulator: one policy object consulted once
per request."""

from __future__ import annotations

import json
import time

import pytest
import requests

from putiofs.emulator import Fault
from tests.conftest import raw_call
from tests.support.scripted_faults import Scripted


def test_status_faults_are_envelopes_with_retry_after(emulator_factory):
    policy = Scripted({"files.list": Fault(status=429, retry_after=2),
                       "user.info": Fault(status=503)})
    server = emulator_factory(faults=policy)
    limited = raw_call(server, "files", "list")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    assert limited.json()["error"] is True
    assert raw_call(server, "user", "info").status_code == 503
    assert raw_call(server, "messages", "list").status_code == 200
    assert [(r.kind, r.name, r.method) for r in policy.seen] == [
        ("api", "files.list", "POST"), ("api", "user.info", "POST"),
        ("api", "messages.list", "POST")]
    assert all("demo" not in repr(r) for r in policy.seen)


def test_malformed_json_and_delay(emulator_factory):
    server = emulator_factory(faults=Scripted({"files.list": Fault(malformed_json=True,
                                                                   delay=0.2)}))
    started = time.monotonic()
    resp = raw_call(server, "files", "list")
    assert time.monotonic() - started >= 0.2
    assert resp.status_code == 200 and int(resp.headers["Content-Length"]) == len(resp.content)
    with pytest.raises(json.JSONDecodeError):
        json.loads(resp.content)


def test_mid_body_drop_on_data(emulator_factory):
    server = emulator_factory(faults=Scripted({"data": Fault(drop_after=1000)}))
    file_id = server.account.add_file("0", "x.bin", bytes(50_000))
    url = f"{server.root_url}/stream/{server.account.user_id}/{file_id}"
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(url, auth=("demo", "demo"), timeout=10)
    assert server.stats()["bytes_served"] == 1000
