"""A .torrent copied into ``/.putio/add`` on a real mount, and a transfer added with the CLI,
watched to Completed and then seen in the mount (both API versions; v1 has no .torrent
upload: close fails with ENOTSUP and nothing is added)."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

from putiofs.emulator import EmulatorServer
from tests.support.commands_cli import Cli
from tests.support.mounting import requires_fuse
from tests.support.polling import wait_for
from tests.support.servers import on_each_version
from tests.support.torrents import TORRENT
from tests.support.versions import version_of

pytestmark = [requires_fuse, on_each_version, pytest.mark.server(transfer_seconds=0.6),
              pytest.mark.mount_args("--cache-ttl", "1")]


def transfer_names(server: EmulatorServer) -> list[str]:
    with server.account.lock:
        return sorted(t.name for t in server.account.transfers.values())


def test_cp_of_a_torrent_into_add_starts_a_torrent_transfer(mount, server: EmulatorServer,
                                                            tmp_path: Path) -> None:
    source = tmp_path / "movie.torrent"
    source.write_bytes(TORRENT)
    done = subprocess.run(["cp", str(source), str(mount.path / ".putio" / "add")],
                          capture_output=True, text=True, timeout=30)
    if version_of(server) == "v1":
        assert done.returncode != 0
        assert os.strerror(errno.ENOTSUP) in done.stderr
        assert transfer_names(server) == []
        return
    assert done.returncode == 0, done.stderr
    assert transfer_names(server) == ["movie.mkv"]
    with server.account.lock:
        [transfer] = server.account.transfers.values()
        assert transfer.link.startswith("magnet:?xt=urn:btih:")
    # the add file is still a file that echo can write links to
    echoed = subprocess.run(
        ["sh", "-c", f"echo http://example.com/after.iso > '{mount.path}/.putio/add'"],
        capture_output=True, text=True, timeout=30)
    assert echoed.returncode == 0, echoed.stderr
    assert transfer_names(server) == ["after.iso", "movie.mkv"]


def test_bencoded_bytes_that_are_no_torrent_fail_at_close(mount,
                                                          server: EmulatorServer) -> None:
    fd = os.open(mount.path / ".putio" / "add", os.O_WRONLY)
    try:
        assert os.write(fd, b"d4:name3:abce") == 13   # a dictionary, but without info
    finally:
        with pytest.raises(OSError) as exc:
            os.close(fd)
    assert exc.value.errno == errno.EINVAL
    assert transfer_names(server) == []


def test_a_torrent_over_10_mib_is_efbig_and_not_uploaded(mount, server: EmulatorServer) -> None:
    fd = os.open(mount.path / ".putio" / "add", os.O_WRONLY)
    accepted = 0
    try:
        with pytest.raises(OSError) as exc:
            accepted += os.write(fd, b"d")
            for _ in range(11):
                accepted += os.write(fd, b"x" * (1 << 20))
        assert exc.value.errno == errno.EFBIG
        assert accepted <= 10 * (1 << 20)
        with pytest.raises(OSError) as exc:
            os.write(fd, b"e")
        assert exc.value.errno == errno.EFBIG
    finally:
        os.close(fd)
    assert transfer_names(server) == []


def test_a_transfer_added_and_watched_to_completed_appears_in_the_mount(
        mount, server: EmulatorServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's done-criterion: add a URL transfer, watch it until Completed, see the file."""
    cli = Cli(server, monkeypatch, capsys)
    assert "fetched.iso" not in os.listdir(mount.path)
    added = cli("transfers", "add", "--json", "http://example.com/files/fetched.iso")
    assert added.code == 0, added.err
    [transfer_id] = [t["id"] for t in added.json() if t["name"] == "fetched.iso"]
    watched = cli("transfers", "watch", "--interval", "0.1", transfer_id)
    assert watched.code == 0, watched.err
    assert watched.out.splitlines()[-1].endswith("] 100%  Completed  fetched.iso")
    assert wait_for(lambda: "fetched.iso" in os.listdir(mount.path))
    assert (mount.path / "fetched.iso").stat().st_size > 0
