"""Real mounts under injected faults: no wrong bytes, no hung calls, bounded EIO, stale listings.

The emulator runs in this process, so a test switches faults on and off while the mount runs
(``RandomFaults.configure``). Fault decisions come from a seeded generator; several server
threads draw from it, so which request meets which fault varies between runs, but the rates and
kinds do not. Every test runs on both API versions; what expires is v1's account-wide stream
token (``token_ttl``) or v2's per-file storage URLs (``url_ttl``).
"""

from __future__ import annotations

import errno
import hashlib
import os
import random
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from putiofs.emulator.http.faults import Fault, Faults, RandomFaults, RequestInfo
from putiofs.front.errno_map import REPEAT_WINDOW
from putiofs.mount.checks import unmount_command
from tests.support.mounting import requires_fuse
from tests.support.versions import V2_TOKEN, link_expiry

pytestmark = requires_fuse

MiB = 1024 * 1024
SLACK = 1.5  # seconds beyond --timeout a failing call may take (kernel round trips, a loaded CI)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def timed_errno(call) -> tuple[int | None, float]:
    """Run ``call``; (errno it failed with or None, seconds it took)."""
    started = time.monotonic()
    try:
        call()
    except OSError as exc:
        return exc.errno, time.monotonic() - started
    return None, time.monotonic() - started


def read_file(path: Path, chunk: int = MiB) -> tuple[bytes, float]:
    """The whole file and the longest single read() it took."""
    pieces, longest = [], 0.0
    with open(path, "rb", buffering=0) as f:
        while True:
            started = time.monotonic()
            data = f.read(chunk)
            longest = max(longest, time.monotonic() - started)
            if not data:
                return b"".join(pieces), longest
            pieces.append(data)


def test_soak_parallel_readers_under_faults_get_every_byte_right(server_factory, api_version,
                                                                 mount_factory, monkeypatch):
    """8 readers, each random reads then a whole-file copy, with 10 % 5xx, 5 % mid-body drops,
    5 % stalls, 2 % garbled API answers, and download links (v1: the stream token, v2: each
    file's storage URL) that expire every second."""
    policy = RandomFaults(seed=20260601)
    token_ttl = 1.0
    server = server_factory(faults=policy, **link_expiry(api_version, token_ttl))
    issued: list[tuple[int, float]] = []  # v2: (item id, when) of every storage URL handed out
    if api_version == "v2":
        url_for = server.api.storage.url_for
        monkeypatch.setattr(server.api.storage, "url_for", lambda node: issued.append(
            (node.id, time.monotonic())) or url_for(node))
    rng = random.Random(6)
    sources = {f"soak{i}.bin": rng.randbytes(3 * MiB + rng.randrange(MiB)) for i in range(8)}
    for name, data in sources.items():
        server.account.add_file("0", name, data=data)
    timeout = 40.0
    mount = mount_factory(server, "--timeout", str(timeout))
    policy.configure(error_5xx=0.10, drop=0.05, stall=0.05, stall_seconds=0.3,
                     malformed=0.02)
    tokens_before = len(server.account._tokens)

    def soak(name: str, seed: int) -> tuple[str, int, float]:
        """(name, reads that returned wrong bytes, the longest single read)."""
        source = sources[name]
        reads = random.Random(seed)
        wrong, longest = 0, 0.0
        with open(mount.path / name, "rb", buffering=0) as f:
            for _ in range(40):
                offset = reads.randrange(len(source))
                size = reads.choice((1, 4096, 65536, 300_000))
                started = time.monotonic()
                got = os.pread(f.fileno(), size, offset)
                longest = max(longest, time.monotonic() - started)
                wrong += sha256(got) != sha256(source[offset:offset + size])
        time.sleep(max(0.0, token_ttl - (time.monotonic() - started)))  # tokens expire
        data, longest_sequential = read_file(mount.path / name)
        wrong += sha256(data) != sha256(source)
        return name, wrong, max(longest, longest_sequential)

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(soak, name, i) for i, name in enumerate(sources)]
        results = [future.result(timeout=3 * timeout) for future in futures]
    elapsed = time.monotonic() - started
    policy.configure(error_5xx=0, drop=0, stall=0, malformed=0)

    assert [(name, wrong) for name, wrong, _ in results if wrong] == [], "wrong bytes"
    assert max(longest for _, _, longest in results) < timeout, "a read hung"
    assert elapsed < 60
    for kind in ("5xx", "drop", "stall"):
        assert policy.counts.get(kind, 0) > 0, f"no {kind} was injected: {policy.counts}"
    # Every reader waits out the link's lifetime before its whole-file copy, so a link the mount
    # used expired and was replaced at least once (how often depends on timing).
    if api_version == "v1":
        assert len(server.account._tokens) > tokens_before, "the stream token never expired"
    else:  # a file's storage URL is fetched again only once storage refused the old one
        renewed = [item for item, when in issued
                   if any(i == item and when - first >= token_ttl for i, first in issued)]
        assert renewed, f"no storage URL expired and was replaced: {issued}"


def test_timeout_bounds_stat_ls_and_read_then_the_mount_recovers(server_factory,
                                                                 mount_factory):
    policy = RandomFaults(seed=3)
    server = server_factory(faults=policy)
    rng = random.Random(3)
    small, big = rng.randbytes(1000), rng.randbytes(2 * MiB)
    server.account.add_file("0", "small.bin", data=small)
    server.account.add_file("0", "big.bin", data=big)
    for folder in ("one", "two"):
        folder_id = server.account.add_folder("0", folder)
        server.account.add_file(folder_id, "inside.txt", data=b"inside")
    timeout = 2.0
    mount = mount_factory(server, "--timeout", str(timeout), "--cache-ttl", "60")
    assert (mount.path / "small.bin").read_bytes() == small  # root listed, v1's token fetched
    os.close(os.open(mount.path / "big.bin", os.O_RDONLY))  # v2: its storage URL, kept

    policy.configure(latency=30)
    for call in (lambda: os.stat(mount.path / "one" / "inside.txt"),
                 lambda: os.listdir(mount.path / "two")):
        code, took = timed_errno(call)
        assert code == errno.EIO and took < timeout + SLACK, (code, took)

    with open(mount.path / "big.bin", "rb", buffering=0) as f:  # the open needs no request
        code, took = timed_errno(lambda: os.pread(f.fileno(), 65536, MiB))
        assert code == errno.EIO and took < timeout + SLACK, (code, took)

        policy.configure(latency=0, stall=1.0, stall_seconds=30, cut_max=0)
        code, took = timed_errno(lambda: os.pread(f.fileno(), 65536, MiB + 300_000))
        assert code == errno.EIO and took < timeout + SLACK, (code, took)

        policy.configure(stall=0)
        time.sleep(REPEAT_WINDOW)  # a failed range fails at once for this long (kernel retries)
        assert os.pread(f.fileno(), 65536, MiB) == big[MiB:MiB + 65536]
    assert os.listdir(mount.path / "two") == ["inside.txt"]
    assert (mount.path / "one" / "inside.txt").read_bytes() == b"inside"
    assert sha256((mount.path / "big.bin").read_bytes()) == sha256(big)
    assert mount.process.poll() is None


def test_api_outage_serves_cached_listings_and_fails_uncached_reads_in_bounded_time(
        server_factory, mount_factory):
    policy = RandomFaults(seed=4)
    server = server_factory(demo=True, faults=policy)
    timeout = 3.0
    mount = mount_factory(server, "--timeout", str(timeout), "--cache-ttl", "1")
    before = {}
    for dirpath, dirnames, filenames in os.walk(mount.path):
        before[dirpath] = sorted(dirnames + filenames)
    some_file = next(Path(d, f) for d, names in before.items() for f in names
                     if Path(d, f).is_file() and Path(d, f).stat().st_size > 0)

    policy.configure(error_5xx=1.0)
    time.sleep(2.5)  # past the cache TTL and the kernel's entry TTL
    for dirpath, listed in before.items():
        code, took = timed_errno(lambda d=dirpath: os.listdir(d))
        assert code is None and took < timeout + SLACK, (dirpath, code, took)
        assert sorted(os.listdir(dirpath)) == listed
    code, took = timed_errno(lambda: os.stat(some_file))
    assert code is None and took < timeout + SLACK
    code, took = timed_errno(lambda: some_file.read_bytes())
    assert code == errno.EIO and took < timeout + SLACK, (code, took)
    code, took = timed_errno(lambda: os.listdir(mount.path / "no such folder"))
    assert code == errno.ENOENT

    server.account.add_file("0", "added during the outage.txt", data=b"new")
    policy.configure(error_5xx=0.0)
    deadline = time.monotonic() + 10  # OUTAGE_PAUSE, then the cache and kernel TTLs
    while "added during the outage.txt" not in os.listdir(mount.path):
        assert time.monotonic() < deadline, "the listing never recovered"
        time.sleep(0.2)
    assert some_file.read_bytes()
    assert "serving a stale listing" in mount.log()


class StalledTransfers(Faults):
    """While ``on``, the transfers' API calls get no answer for half a minute."""

    on = False

    def choose(self, request: RequestInfo) -> Fault | None:
        if self.on and request.name.startswith("transfers."):
            return Fault(delay=30)
        return None


def test_a_control_file_under_a_stalled_api_waits_one_timeout_at_most(server_factory,
                                                                      mount_factory):
    """An open of /.putio/transfers is a lookup and an open, a cat one more look: each asks
    for the text, but only the first waits out the stalled API; the last text is served."""
    stalled = StalledTransfers()
    server = server_factory(faults=stalled)
    server.account.add_transfer("http://example.com/a.iso")
    timeout = 3.0
    mount = mount_factory(server, "--timeout", str(timeout), "--cache-ttl", "1")
    transfers = mount.path / ".putio" / "transfers"
    text = transfers.read_text()
    time.sleep(2.5)  # past the text's reuse and the kernel's attribute cache
    stalled.on = True
    code, took = timed_errno(lambda: os.close(os.open(transfers, os.O_RDONLY)))
    assert code is None and took < timeout + SLACK, (code, took)
    time.sleep(2.5)
    read: list[str] = []
    code, took = timed_errno(lambda: read.append(transfers.read_text()))
    assert code is None and took < timeout + SLACK, (code, took)
    assert read == [text]
    stalled.on = False


def test_unmount_with_reads_in_flight_ends_the_mount_process(server_factory,
                                                              mount_factory):
    """The kernel refuses a plain unmount while files are open (EBUSY); a lazy one detaches at
    once, the stalled reads end with EIO within the timeout, and the process exits cleanly.

    The three descriptors are opened before any read starts: an open that the kernel answers
    while another descriptor's read is in flight may wait for that read (the kernel drops the
    file's pages at an open without ``keep_cache``, which libfuse's ``auto_cache`` can give the
    first of two racing opens), and this test is about reads, not opens."""
    policy = RandomFaults(seed=5)
    server = server_factory(faults=policy)
    data = random.Random(5).randbytes(2 * MiB)
    server.account.add_file("0", "slow.bin", data=data)
    timeout = 3.0
    mount = mount_factory(server, "--timeout", str(timeout))
    descriptors = [os.open(mount.path / "slow.bin", os.O_RDONLY) for _ in range(3)]
    policy.configure(stall=1.0, stall_seconds=30)
    outcomes: list[tuple[object, float]] = []
    started = time.monotonic()

    def reader(fd: int) -> None:
        try:
            while os.read(fd, MiB):
                pass
            outcomes.append(("end of file", time.monotonic() - started))
        except OSError as exc:
            outcomes.append((exc.errno, time.monotonic() - started))

    threads = [threading.Thread(target=reader, args=(fd,)) for fd in descriptors]
    try:
        for thread in threads:
            thread.start()
        busy = subprocess.run(unmount_command(mount.path), capture_output=True, text=True,
                              check=False)
        assert busy.returncode != 0 and "busy" in busy.stderr.lower(), busy
        subprocess.run(unmount_command(mount.path, lazy=True), check=True)
        assert not os.path.ismount(mount.path)
        for thread in threads:
            thread.join(3 * timeout)
            assert not thread.is_alive(), "a read hung past the unmount"
    finally:
        for fd in descriptors:
            os.close(fd)
    assert mount.process.wait(timeout) == 0
    assert [code for code, _ in outcomes] == [errno.EIO] * 3
    assert max(took for _, took in outcomes) < timeout + SLACK, outcomes
    policy.configure(stall=0)


@pytest.mark.parametrize("rate", ["--fault-5xx", "--fault-drop"])
def test_emulator_command_line_faults_reach_a_mount(tmp_path, mount_factory, rate,
                                                    api_version):
    """``putiofs emulator --fault-* --seed``: the options a user replays a failing run with."""
    import sys

    data = random.Random(8).randbytes(MiB + 5)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "f.bin").write_bytes(data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUTIO_")}
    env["PUTIO_TOKEN"] = V2_TOKEN  # the v2 emulator's token (v1 ignores it)
    proc = subprocess.Popen(
        [sys.executable, "-m", "putiofs", "emulator", "--api", api_version, "--port", "0",
         "--data", str(tmp_path / "data"), rate, "0.2", "--seed", "11"],
        stdout=subprocess.PIPE, text=True, env=env)
    try:
        lines = [proc.stdout.readline() for _ in range(4)]
        url = next(line.split("=", 1)[1].strip() for line in lines
                   if line.startswith("PUTIO_API_URL="))
        assert any("injecting faults" in line for line in lines), lines

        class Remote:
            base_url = url

        signed_in = {"token": V2_TOKEN} if api_version == "v2" else {}
        mount = mount_factory(Remote, "--timeout", "30", **signed_in)
        assert sha256((mount.path / "f.bin").read_bytes()) == sha256(data)
    finally:
        proc.terminate()
        proc.wait(10)
