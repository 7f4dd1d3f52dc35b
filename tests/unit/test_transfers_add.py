"""Adding transfers without an emulator: what is recognised as a .torrent (and the name it is
uploaded under), and watch's progress line with put.io's speed and ETA. (Against the emulator:
tests/emulator/test_transfers_add.py.)"""

from __future__ import annotations

from putiofs.api.services import Transfer
from putiofs.commands.watch import human_eta, human_speed, progress_line
from putiofs.torrent import file_name, is_torrent
from tests.support.torrents import TORRENT


def test_torrent_recognition() -> None:
    assert is_torrent(TORRENT)
    assert file_name(TORRENT) == "movie.mkv.torrent"
    assert not is_torrent(b"d4:name3:abce")             # a dictionary without info
    assert not is_torrent(TORRENT[:-1])                 # cut short
    assert not is_torrent(TORRENT + b"x")               # trailing bytes
    assert not is_torrent(b"d" * 100_000)               # deep nesting: no RecursionError
    assert not is_torrent(b"d4:infod4:name99:abcee")    # a length past the end
    assert file_name(b"d4:infod4:name5:a/b\x00cee") == "a_b_c.torrent"


def test_progress_shows_speed_and_eta_where_the_api_gives_them() -> None:
    running = Transfer("7", "big.iso", "Downloading", 45, down_speed=1_500_000,
                       estimated_time=185)
    assert progress_line("7", running) == (
        "[" + "#" * 13 + "-" * 17 + "]  45%  1.5 MB/s  ETA 3m05s  Downloading  big.iso")
    v1 = Transfer("8", "old.iso", "Downloading", 10)
    assert "  10%  -  ETA -  Downloading  old.iso" in progress_line("8", v1)
    assert human_speed(512) == "512 B/s" and human_speed(None) == "-"
    assert human_eta(3725) == "ETA 1h02m" and human_eta(42) == "ETA 42s"
