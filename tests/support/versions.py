"""What the mount tests need to know about put.io's two API versions, in one place.

The real-mount suite runs each test that means the same thing on both versions once per
version (the ``api_version`` fixture of ``tests/conftest.py``, test ids ``[v1]`` / ``[v2]``).
Where the versions legitimately differ, the test branches its *expectation* with a one-line
reason; what it needs for that lives here: the emulator's call names, the option that makes
download links expire, and the emulator's API spoken directly (:func:`api_of`), so a test can
check what put.io itself says whichever version it runs on.

A test that only makes sense on one version says so with :func:`api_only` (the other
version's run is skipped with that reason, or, for a test not parametrised by version, the
marker names the one version it covers). A known product defect on one version is
:func:`fails_on` (that version's run is a strict xfail with the reason).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

API_VERSIONS = ("v1", "v2")
#: The OAuth token of every v2 emulator the version-parametrised tests start.
V2_TOKEN = "v2-test-token-0123456789"

#: The emulator's names (``/_emulator/stats``) of the calls that change the tree, by version,
#: to version-free names: v1 ``files?method=create_dir`` is v2 ``/files/create-folder``.
_CHANGE_CALLS = {
    "v1": {"files.create_dir": "mkdir", "files.rename": "rename", "files.move": "move",
           "files.delete": "delete"},
    "v2": {"files.create_folder": "mkdir", "files.rename": "rename", "files.move": "move",
           "files.delete": "delete"},
}


def api_only(version: str, reason: str) -> pytest.MarkDecorator:
    """Mark a test as meaningful on one API version only, and why."""
    if version not in API_VERSIONS:
        raise ValueError(f"unknown API version {version!r}")
    return pytest.mark.api_only(version, reason=reason)


def fails_on(version: str, reason: str) -> pytest.MarkDecorator:
    """A known product defect on one API version: that version's run is
    ``xfail(strict=True)`` with ``reason`` (so it turns red the day the defect is fixed)."""
    if version not in API_VERSIONS:
        raise ValueError(f"unknown API version {version!r}")
    return pytest.mark.fails_on(version, reason=reason)


#: put.io v2 refuses ``rename`` to a name a sibling has (NAME_ALREADY_EXIST), and the mount
#: replaces a target by moving and renaming the source first, then deleting the old target.

def version_of(server: Any) -> str:
    """"v1" or "v2": the API an emulator speaks (a stub server without options: v1)."""
    return getattr(getattr(server, "options", None), "api", "v1")


def changes(server: Any) -> dict[str, int]:
    """Tree changes the emulator served since its stats were reset, by version-free name
    (``mkdir``, ``rename``, ``move``, ``delete``); calls not made are left out."""
    names = _CHANGE_CALLS[version_of(server)]
    counted = server.stats()["requests"]
    return {names[call]: n for call, n in counted.items() if call in names and n}


def call_name(version: str, change: str) -> str:
    """The emulator's name of a tree change (``mkdir``, ``rename``, ``move``, ``delete``)."""
    return next(call for call, name in _CHANGE_CALLS[version].items() if name == change)


def link_expiry(version: str, seconds: float) -> dict[str, float]:
    """Emulator options that make download links expire after ``seconds``: v1's account-wide
    stream token (``token_ttl``), v2's per-file storage URLs (``url_ttl``)."""
    return {"token_ttl": seconds} if version == "v1" else {"url_ttl": seconds}


class V1Api:
    """The v1 emulator spoken directly: ``files?method=...`` with the key and secret."""

    def __init__(self, server: Any) -> None:
        self.server = server

    def call(self, service: str, method: str, **params: Any) -> Any:
        from tests.conftest import raw_call

        answer = raw_call(self.server, service, method, params)
        assert answer.status_code == 200, answer.text
        envelope = answer.json()
        assert not envelope.get("error"), envelope
        return envelope["response"]["results"]

    def create_folder(self, parent_id: str, name: str) -> str:
        return str(self.call("files", "create_dir", name=name, parent_id=parent_id)[0]["id"])

    def search_ids(self, query: str) -> list[str]:
        return sorted(str(item["id"]) for item in self.call("files", "search", query=query))

    def disk(self) -> tuple[int, int] | None:
        """(size, available) in bytes as ``user?method=info`` says, None where it does not
        (the doc dialect)."""
        info = self.call("user", "info")[0]
        if "disk_quota" not in info:
            return None
        return int(info["disk_quota"]), int(info["disk_quota_available"])


class V2Api:
    """The v2 emulator spoken directly: ``/v2/...`` with its OAuth token."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.base = server.base_url
        self.headers = {"Authorization": f"Bearer {server.options.token}"}

    def get(self, path: str, **params: Any) -> dict:
        answer = requests.get(self.base + path, params=params, headers=self.headers, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def post(self, path: str, **form: Any) -> dict:
        answer = requests.post(self.base + path, data=form, headers=self.headers, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def create_folder(self, parent_id: str, name: str) -> str:
        return str(self.post("/files/create-folder", name=name, parent_id=parent_id)
                   ["file"]["id"])

    def search_ids(self, query: str) -> list[str]:
        return sorted(str(f["id"]) for f in self.get("/files/search", query=query,
                                                     per_page=1000)["files"])

    def disk(self) -> tuple[int, int]:
        disk = self.get("/account/info")["info"]["disk"]
        return int(disk["size"]), int(disk["avail"])

    def children(self, folder_id: int) -> list[dict]:
        return self.get("/files/list", parent_id=folder_id, per_page=1000)["files"]

    def walk(self, folder_id: int = 0, path: str = "") -> Iterator[tuple[str, dict]]:
        """(mount path, file object) of every item: put.io's '/' in a name shown as '∕'."""
        for item in self.children(folder_id):
            here = f"{path}/{item['name'].replace('/', chr(0x2215))}"
            yield here, item
            if item["content_type"] == "application/x-directory":
                yield from self.walk(item["id"], here)

    def find(self, folder_id: int, name: str) -> dict | None:
        return next((f for f in self.children(folder_id) if f["name"] == name), None)


def api_of(server: Any) -> V1Api | V2Api:
    """The emulator's own API, whichever version it speaks."""
    return V2Api(server) if version_of(server) == "v2" else V1Api(server)
