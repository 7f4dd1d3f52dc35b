"""``putiofs transfers list | add | cancel | watch`` against the emulator."""

from __future__ import annotations

import io
import itertools
import re

import pytest

from putiofs.api.services import Transfer
from putiofs.commands.watch import progress_line, watch
from putiofs.config import Settings
from putiofs.emulator import EmulatorServer
from putiofs.v1.account import V1Services
from putiofs.v1.client import V1Client
from putiofs.v1.wire import V1Wire
from tests.conftest import API_KEY, API_SECRET
from tests.support.commands_cli import Cli

pytestmark = pytest.mark.server(transfer_seconds=0.6)

LINK = "http://example.com/files/big.iso"
BAD_LINK = "http://nowhere.invalid/file.bin"


def api_transfers(api, server):
    return api(server, "transfers", "list").json()["response"]["results"]


def test_add_then_list_shows_the_transfer(cli: Cli, api, server: EmulatorServer) -> None:
    added = cli("transfers", "add", LINK)
    assert added.code == 0, added.err
    assert "big.iso" in added.out
    listed = cli("transfers", "list", "--json").json()
    assert [(t["id"], t["name"]) for t in listed] == [
        (t["id"], t["name"]) for t in api_transfers(api, server)]
    text = cli("transfers", "list").out.splitlines()
    assert text[0].split() == ["ID", "DONE", "STATUS", "NAME"]
    assert re.match(rf"{listed[0]['id']}\s+\d+%\s+\w+\s+big\.iso$", text[1])


def test_add_json_and_failed_link(cli: Cli) -> None:
    result = cli("transfers", "add", "--json", LINK, BAD_LINK)
    assert result.code == 1
    transfers = result.json()
    failed = [t for t in transfers if t["status"].startswith("Error")]
    assert [t["name"] for t in failed] == ["file.bin"]
    assert failed[0]["id"] is None and failed[0]["percent_done"] is None
    assert "-" in cli("transfers", "list").out.splitlines()[-1].split()[0]


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_add_exits_1_with_one_error_line_per_failed_link_and_adds_the_others(
        emulator_factory, monkeypatch, capsys, api: str) -> None:
    """BAD_LINK goes straight into an error state (both versions); on v2, where the links go
    in one add-multi call, put.io also refuses the second link outright (a blank in it)."""
    refused = "http://example.com/re fused.bin"
    if api == "v1":
        server = emulator_factory(demo=True)
        links = [LINK, BAD_LINK]
    else:
        server = emulator_factory(api="v2", demo=True, token="cli-token-7f3a",
                                  transfer_seconds=0.0)
        links = [LINK, refused, BAD_LINK]
    cli = Cli(server, monkeypatch, capsys)
    result = cli("transfers", "add", *links)
    assert result.code == 1
    errors = result.err.splitlines()
    assert all(line.startswith("putiofs: error: ") for line in errors), result.err
    assert len(errors) == len(links) - 1
    assert any("file.bin" in line and "Could not fetch" in line for line in errors)
    if api == "v2":
        assert any(refused in line for line in errors)
    assert "big.iso" in result.out
    listed = cli("transfers", "list", "--json").json()
    assert [t["name"] for t in listed if not (t["status"] or "").startswith("Error")] == [
        "big.iso"]


def test_list_and_watch_escape_terminal_sequences(cli: Cli) -> None:
    """A name from a magnet link's dn= reached the terminal raw."""
    link = "magnet:?xt=urn:btih:1&dn=%1B%5D2%3Bpwned%07%1B%5B2Jevil%5Cend"
    assert cli("transfers", "add", link).code == 0
    listed = cli("transfers", "list")
    assert "\x1b" not in listed.out and "\x07" not in listed.out
    assert listed.out.splitlines()[1].endswith("  \\x1b]2;pwned\\x07\\x1b[2Jevil\\\\end")
    assert cli("transfers", "list", "--json").json()[0]["name"] == (
        "\x1b]2;pwned\x07\x1b[2Jevil\\end")
    watched = cli("transfers", "watch", "--interval", "0.05")
    assert watched.code == 0 and "\x1b" not in watched.out and "\x07" not in watched.out
    assert watched.out.splitlines()[-1].endswith("Completed  \\x1b]2;pwned\\x07\\x1b[2Jevil\\\\end")


def test_retry_and_clean_are_not_available_on_v1(cli: Cli) -> None:
    retry = cli("transfers", "retry", "40")
    assert (retry.code, retry.out) == (1, "")
    assert retry.err == "putiofs: error: transfers retry is not available on the put.io API v1\n"
    clean = cli("transfers", "clean")
    assert (clean.code, clean.out) == (1, "")
    assert clean.err == "putiofs: error: transfers clean is not available on the put.io API v1\n"


def test_list_empty(cli: Cli) -> None:
    result = cli("transfers", "list")
    assert (result.code, result.out) == (0, "no active transfers\n")
    assert cli("transfers", "list", "--json").json() == []


def test_cancel_removes_and_unknown_id_fails(cli: Cli, api, server: EmulatorServer) -> None:
    transfer_id = cli("transfers", "add", "--json", LINK).json()[0]["id"]
    result = cli("transfers", "cancel", transfer_id, "424242")
    assert result.code == 1
    assert result.out == f"cancelled transfer {transfer_id}\n"
    assert result.err == "putiofs: error: transfer 424242: Transfer not found\n"
    assert api_transfers(api, server) == []


def test_cancel_rejects_a_non_numeric_id(cli: Cli) -> None:
    with pytest.raises(SystemExit) as exc:
        cli("transfers", "cancel", "abc")
    assert exc.value.code == 2


def test_watch_draws_progress_from_waiting_to_completed(cli: Cli,
                                                       server: EmulatorServer) -> None:
    # The emulator's time moves 5 ms at each look, not with the wall clock: the first poll
    # sees the transfer waiting (its first 60 ms) however slowly this machine runs the test.
    ticks = itertools.count()
    server.account.clock = lambda: 1000.0 + 0.005 * next(ticks)
    transfer_id = cli("transfers", "add", "--json", LINK).json()[0]["id"]
    result = cli("transfers", "watch", transfer_id, "--interval", "0.05")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert "Waiting" in lines[0] and " 0%" in lines[0]
    assert lines[-1] == "[" + "#" * 30 + "] 100%  Completed  big.iso"
    percents = [int(re.search(r"(\d+)%", line).group(1)) for line in lines]
    assert percents == sorted(percents)
    assert len(lines) == len(set(lines)), "a line is printed only when something changed"


def test_watch_redraws_in_place_on_a_terminal(server: EmulatorServer) -> None:
    settings = Settings(api_url=server.base_url, api_key=API_KEY, api_secret=API_SECRET)
    with V1Wire(settings) as wire:
        client = V1Client(wire)
        first = client.add_transfers([LINK])[0].id
        second = client.add_transfers(["ftp://example.org/pub/other.tar"])[-1].id
        out = io.StringIO()
        code = watch(V1Services(client), [], interval=0.05, out=out, tty=True)
    assert code == 0
    frames = out.getvalue().split("\x1b[2A")
    assert len(frames) >= 2
    assert frames[0].count("\n") == 2
    last = frames[-1]
    assert last.count("\r\x1b[2K") == 2
    assert "100%  Completed  big.iso" in last and "100%  Completed  other.tar" in last
    assert first != second


def test_watch_exits_1_when_a_watched_transfer_disappears(cli: Cli, server: EmulatorServer,
                                                          api) -> None:
    transfer_id = cli("transfers", "add", "--json", LINK).json()[0]["id"]
    settings = Settings(api_url=server.base_url, api_key=API_KEY, api_secret=API_SECRET)
    with V1Wire(settings) as wire:
        client = V1Client(wire)

        def cancel_then_sleep(_: float) -> None:
            api(server, "transfers", "cancel", {"id": transfer_id})

        out = io.StringIO()
        code = watch(V1Services(client), [transfer_id], interval=0.01, out=out, tty=False,
                     sleep=cancel_then_sleep)
    assert code == 1
    assert "Gone" in out.getvalue().splitlines()[-1]


def test_watch_unknown_id_and_nothing_to_watch(cli: Cli) -> None:
    unknown = cli("transfers", "watch", "777", "--interval", "0.05")
    assert unknown.code == 1
    assert unknown.err == "putiofs: error: no active transfer with id 777\n"
    nothing = cli("transfers", "watch", "--interval", "0.05")
    assert (nothing.code, nothing.out) == (0, "no active transfers\n")


def test_watch_json_reports_the_final_state(cli: Cli) -> None:
    cli("transfers", "add", LINK)
    result = cli("transfers", "watch", "--interval", "0.05", "--json")
    assert result.code == 0
    [final] = result.json()
    assert final["status"] == "Completed" and final["percent_done"] == 100


class ScriptedServices:
    """Services whose list_transfers answers come from a script, one per poll."""

    def __init__(self, *answers: list[Transfer]) -> None:
        self.answers = list(answers)

    def list_transfers(self) -> list[Transfer]:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def test_watch_exits_1_when_a_transfer_fails() -> None:
    services = ScriptedServices(
        [Transfer("5", "a.avi", "Downloading", 40), Transfer("6", "b.avi", "Waiting", 0)],
        [Transfer("5", "a.avi", "Completed", 100),
         Transfer("6", "b.avi", "Error: Not enough disk space", None)],
    )
    out = io.StringIO()
    code = watch(services, [], interval=0.01, out=out, tty=False)
    assert code == 1
    assert out.getvalue().splitlines()[-1] == (
        "[" + " " * 30 + "]    -  Error: Not enough disk space  b.avi")


def test_progress_line_for_an_error() -> None:
    line = progress_line("1", Transfer(id=None, name="x.avi", status="Error: no disk"))
    assert line == "[" + " " * 30 + "]    -  Error: no disk  x.avi"
