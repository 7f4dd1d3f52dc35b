"""``putiofs transfers watch`` follows put.io's realtime transfer events instead of polling:
with a poll interval of an hour it still sees a transfer through to Completed."""

from __future__ import annotations

import pytest
import requests

from tests.support.commands_cli import Cli

pytestmark = pytest.mark.server(api="v2", demo=False, token="watch-events-token-0123",
                                transfer_seconds=2.0)

LINK = "http://example.com/big.iso"


def test_watch_follows_transfer_events_without_polling(server, monkeypatch, capsys) -> None:
    cli = Cli(server, monkeypatch, capsys)
    monkeypatch.setenv("PUTIO_SOCKET_URL", server.socket_url)
    transfer_id = cli("transfers", "add", "--json", LINK).json()[0]["id"]
    requests.post(f"{server.root_url}/_emulator/reset", timeout=5).raise_for_status()
    result = cli("transfers", "watch", transfer_id, "--interval", "3600")
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1].endswith("100%  Completed  big.iso")
    stats = requests.get(f"{server.root_url}/_emulator/stats", timeout=5).json()
    # The first list, one more once the feed connected; the progress came as events.
    assert stats["requests"].get("transfers.list", 0) <= 3, stats
