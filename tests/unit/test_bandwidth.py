"""The bandwidth limit: rclone's ``--bwlimit`` words, and the token bucket on a fake clock."""

from __future__ import annotations

import io
import threading

import pytest

from putiofs.cli import build_parser
from putiofs.net import deadline
from putiofs.net.bandwidth import Bandwidth, Rates, TokenBucket, parse_rate
from putiofs.write.transfer import Throttled

KIB, MIB = 1024, 1024 * 1024


class FakeClock:
    """Time that passes only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(("text", "rate"), [
    ("10M", 10 * MIB), ("10m", 10 * MIB), ("512k", 512 * KIB), ("1.5G", 1.5 * 1024**3),
    ("300", 300 * KIB), ("100B", 100), ("2MiB/s", 2 * MIB), ("off", None), ("0", None),
    ("0M", None),
])
def test_a_rate_is_read_as_rclone_reads_it(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["fast", "-1M", "10X", "1M:2M:3M", "08:00,512k 19:00,off"])
def test_what_is_no_rate_is_refused(text):
    with pytest.raises(ValueError):
        Rates.parse(text)


def test_up_comes_first_as_in_rclone_and_one_rate_limits_both():
    assert Rates.parse("10M:1M") == Rates(up=10 * MIB, down=1 * MIB)
    assert Rates.parse("10M:off") == Rates(up=10 * MIB, down=None)
    assert Rates.parse("4M") == Rates(up=4 * MIB, down=4 * MIB)
    assert Rates.parse("off") == Rates()


def test_the_mount_option_takes_rates_and_says_what_is_wrong(capsys):
    args = build_parser().parse_args(["mount", "/mnt/x", "--bwlimit", "1M:8M"])
    assert args.bwlimit == Rates(up=MIB, down=8 * MIB)
    assert build_parser().parse_args(["mount", "/mnt/x"]).bwlimit == Rates()
    with pytest.raises(SystemExit):
        build_parser().parse_args(["mount", "/mnt/x", "--bwlimit", "lots"])
    assert "'lots' is not a rate" in capsys.readouterr().err


def test_no_bucket_for_a_direction_without_a_limit():
    limits = Bandwidth.limited(Rates(up=None, down=MIB))
    assert limits.up is None and limits.down is not None and limits.down.rate == MIB
    assert Bandwidth() == Bandwidth(up=None, down=None)


def test_the_bucket_starts_empty_and_holds_the_rate():
    clock = FakeClock()
    bucket = TokenBucket(4 * MIB, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(24):   # 24 MiB in 1 MiB reads, as the kernel asks for them
        bucket.spend(MIB)
    assert clock.now - start == pytest.approx(6.0)


def test_an_idle_bucket_saves_up_one_second_at_most():
    clock = FakeClock()
    bucket = TokenBucket(MIB, clock=clock, sleep=clock.sleep)
    clock.now += 60   # idle for a minute
    assert bucket.spend(MIB) == 0.0   # one second's worth goes at once
    assert bucket.spend(MIB) == pytest.approx(1.0)   # and no more


def test_threads_sharing_a_bucket_share_the_rate():
    clock = FakeClock()
    lock = threading.Lock()
    bucket = TokenBucket(MIB, clock=clock, sleep=lambda s: None)
    waits = []

    def spend() -> None:
        wait = bucket.spend(MIB // 2)
        with lock:
            waits.append(wait)

    threads = [threading.Thread(target=spend) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # nobody's time passed: each spender waits for what the ones before it spent, in turn
    assert sorted(waits) == pytest.approx([0.5, 1.0, 1.5, 2.0])


def test_a_wait_takes_at_most_half_the_call_time_left_and_the_rest_stays_owed():
    clock = FakeClock()
    bucket = TokenBucket(KIB, clock=clock, sleep=clock.sleep)
    with deadline.within(10.0):
        waited = bucket.spend(MIB)   # 1024 s at 1 KiB/s: far past the call's 10 s
    assert 0 < waited <= 5.0
    assert bucket.spend(KIB) > 1000   # the next bytes pay for what was not waited


def test_an_upload_body_is_paid_for_as_it_is_read():
    clock = FakeClock()
    bucket = TokenBucket(MIB, clock=clock, sleep=clock.sleep)
    body = Throttled(io.BytesIO(bytes(3 * MIB)), bucket)
    body.seek(MIB)
    assert body.tell() == MIB
    start = clock.now
    assert len(body.read(MIB)) + len(body.read(MIB)) == 2 * MIB
    assert body.read(MIB) == b""
    assert clock.now - start == pytest.approx(2.0)
