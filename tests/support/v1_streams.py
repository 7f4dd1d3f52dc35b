"""The v1 emulator's stream URLs as the mount hands them to a reader: a file's download URL
from its listing, and the account token that makes it a stream URL (renewed on refresh)."""

from __future__ import annotations

from tests.conftest import raw_call


def fresh_token(server) -> str:
    results = raw_call(server, "user", "acctoken").json()["response"]["results"]
    return results["token"] if isinstance(results, dict) else results[0]["token"]


def download_url(server, name: str) -> str:
    items = raw_call(server, "files", "list", {"parent_id": "0"}).json()["response"]["results"]
    return next(i for i in items if i["name"] == name)["download_url"]


class TokenProvider:
    """The URL provider the mount gives a reader: a cached token, a new one on refresh."""

    def __init__(self, server, base: str, token: str | None = None) -> None:
        self.server = server
        self.base = base
        self.token = token or fresh_token(server)
        self.refreshes = 0

    def __call__(self, refresh: bool) -> str:
        if refresh:
            self.refreshes += 1
            self.token = fresh_token(self.server)
        return f"{self.base}/atk/{self.token}"
