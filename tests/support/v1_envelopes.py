"""What a v1 emulator answer spoken as raw HTTP must look like: the results of a success in
the documented envelope, or the envelope of an error with its message."""

from __future__ import annotations

import requests


def ok(resp: requests.Response) -> object:
    """The ``results`` of a successful answer, after checking the envelope."""
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert body["error"] in (None, False), body
    assert body["error_message"] is None
    assert isinstance(body["user_id"], int)
    return body["response"]["results"]


def failed(resp: requests.Response, message: str, status: int = 200) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error"] is True
    assert body["error_message"] == message
    assert body["response"] == {"results": []}
    return body
