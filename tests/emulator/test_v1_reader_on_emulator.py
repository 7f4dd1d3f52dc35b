"""StreamReader through the put.io v1 emulator's real stream URLs (token, redirect, faults)."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator

import pytest
import requests

from putiofs.emulator import Fault, Faults, RequestInfo
from putiofs.read.fetcher import RangeFetcher
from putiofs.read.reader import StreamReader
from tests.support.v1_streams import TokenProvider, download_url

KIB = 1024
MIB = 1024 * KIB
DATA = random.Random(99).randbytes(6 * MIB + 321)


def open_reader(session: requests.Session, provider: TokenProvider) -> StreamReader:
    """A reader of x.bin: stalls after 5 s, a read within 20 s."""
    fetcher = RangeFetcher(session, provider, len(DATA), read_timeout=5, label="x.bin")
    return StreamReader(fetcher, len(DATA), deadline=20, label="x.bin")


class DropFirstData(Faults):
    """Cut the first ``times`` file-data answers after ``after`` body bytes."""

    def __init__(self, times: int, after: int) -> None:
        self.left = times
        self.after = after
        self.lock = threading.Lock()

    def choose(self, request: RequestInfo) -> Fault | None:
        with self.lock:
            if request.kind == "data" and self.left > 0:
                self.left -= 1
                return Fault(drop_after=self.after)
        return None


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def data_requests(server) -> int:
    return server.stats()["data_requests"]


@pytest.mark.parametrize("redirect", [False, True])
def test_whole_file_and_random_reads_through_the_emulator(emulator_factory, session, redirect):
    server = emulator_factory(redirect=redirect)
    server.account.add_file("0", "x.bin", data=DATA)
    provider = TokenProvider(server, download_url(server, "x.bin"))
    before = data_requests(server)
    with open_reader(session, provider) as reader:
        got = b"".join(reader.read(off, 128 * KIB) for off in range(0, len(DATA), 128 * KIB))
        assert got == DATA
        # a handful of growing windows; a redirect is followed once per handle, not per GET
        assert data_requests(server) - before <= 8 + redirect
        rng = random.Random(5)
        for _ in range(30):
            offset, length = rng.randrange(len(DATA)), rng.choice([1, 4 * KIB, 64 * KIB])
            assert reader.read(offset, length) == DATA[offset:offset + length]
    assert provider.refreshes == 0


def test_drops_resume_and_a_refused_token_is_refreshed(emulator_factory, session):
    server = emulator_factory(faults=DropFirstData(times=2, after=300 * KIB))
    server.account.add_file("0", "x.bin", data=DATA)
    provider = TokenProvider(server, download_url(server, "x.bin"), token="not-a-token")
    with open_reader(session, provider) as reader:
        got = b"".join(reader.read(off, 128 * KIB) for off in range(0, len(DATA), 128 * KIB))
    assert got == DATA
    assert provider.refreshes == 1
