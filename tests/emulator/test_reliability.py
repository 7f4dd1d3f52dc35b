"""Fault policy, call deadlines and their use by the client and the cache, without a mount."""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter

import pytest

from putiofs.api.errors import ServerError, TransportError
from putiofs.config import Settings
from putiofs.emulator import RequestInfo
from putiofs.emulator import command as emulator_command
from putiofs.emulator.http.faults import Faults, RandomFaults
from putiofs.net import deadline
from putiofs.tree.cache import MetadataCache
from putiofs.v1.client import V1Client
from putiofs.v1.wire import V1Wire
from tests.support.fake_backend import FakeBackend

API = RequestInfo("api", "files.list", "POST")
DATA = RequestInfo("data", "data", "GET")


def kinds(policy: RandomFaults, request: RequestInfo, n: int) -> list[str]:
    out = []
    for _ in range(n):
        fault = policy.choose(request)
        if fault is None:
            out.append("none")
        elif fault.status is not None:
            out.append(str(fault.status))
        elif fault.malformed_json:
            out.append("malformed")
        elif fault.stall:
            out.append("stall")
        elif fault.drop_after is not None:
            out.append("drop")
        else:
            out.append("delay")
    return out


def test_same_seed_same_faults_other_seed_other_faults():
    rates = dict(error_5xx=0.2, error_429=0.1, drop=0.1, stall=0.1)
    first = kinds(RandomFaults(**rates, seed=1), DATA, 300)
    assert kinds(RandomFaults(**rates, seed=1), DATA, 300) == first
    assert kinds(RandomFaults(**rates, seed=2), DATA, 300) != first


def test_rates_are_kept_and_kinds_fit_the_request():
    policy = RandomFaults(error_5xx=0.10, error_429=0.05, drop=0.05, stall=0.03,
                          malformed=0.02, retry_after=2, seed=9)
    api = Counter(kinds(policy, API, 20000))
    data = Counter(kinds(policy, DATA, 20000))
    assert 0.08 < (api["500"] + api["503"]) / 20000 < 0.12
    assert 0.04 < api["429"] / 20000 < 0.06
    assert 0.01 < api["malformed"] / 20000 < 0.03
    assert api["drop"] == api["stall"] == 0, "API answers are never cut"
    assert data["malformed"] == 0, "file bytes are never JSON"
    assert 0.04 < data["drop"] / 20000 < 0.06 and 0.02 < data["stall"] / 20000 < 0.04
    assert policy.counts["5xx"] == api["500"] + api["503"] + data["500"] + data["503"]
    limited = next(f for f in iter(lambda: policy.choose(API), 0) if f and f.status == 429)
    assert limited.retry_after == 2


def test_latency_applies_to_every_request_and_configure_changes_rates_at_once():
    policy = RandomFaults(latency=0.5, seed=1)
    assert policy.choose(API).delay == 0.5
    policy.configure(latency=0, error_5xx=1.0)
    assert all(policy.choose(DATA).status in (500, 503) for _ in range(50))
    policy.configure(error_5xx=0)
    assert policy.choose(API) is None
    with pytest.raises(ValueError):
        policy.configure(drop=1.5)
    with pytest.raises(TypeError):
        policy.configure(droop=0.1)


def test_emulator_command_line_builds_the_policy():
    parser = argparse.ArgumentParser()
    emulator_command.add_arguments(parser)
    plain = parser.parse_args([])
    assert type(emulator_command.faults_from_args(plain)) is Faults
    args = parser.parse_args(["--fault-5xx", "0.1", "--fault-429", "0.05", "--retry-after", "3",
                              "--latency", "0.2", "--fault-drop", "0.05", "--fault-stall", "0.02",
                              "--stall-seconds", "7", "--fault-malformed", "0.01",
                              "--seed", "42", "--token-ttl", "2"])
    policy = emulator_command.faults_from_args(args)
    assert isinstance(policy, RandomFaults)
    assert (policy.error_5xx, policy.error_429, policy.retry_after, policy.latency, policy.drop,
            policy.stall, policy.stall_seconds, policy.malformed) == (
        0.1, 0.05, 3, 0.2, 0.05, 0.02, 7, 0.01)
    assert args.token_ttl == 2
    again = emulator_command.faults_from_args(args)
    assert kinds(policy, DATA, 200) == kinds(again, DATA, 200)


def test_deadlines_nest_and_never_extend():
    assert deadline.remaining() is None and deadline.clip(7.0) == 7.0
    with deadline.within(1.0):
        assert 0.9 < deadline.remaining() <= 1.0
        with deadline.within(10.0):
            assert deadline.remaining() <= 1.0
        with deadline.within(0.0):
            assert deadline.expired() and deadline.clip(5.0) == 0.001
        with deadline.within(None):
            assert deadline.remaining() <= 1.0
        assert deadline.clip(30.0) <= 1.0
    assert deadline.remaining() is None
    seen = []
    with deadline.within(1.0):
        worker = threading.Thread(target=lambda: seen.append(deadline.remaining()))
        worker.start()
        worker.join()
    assert seen == [None], "a deadline belongs to its thread"


def test_client_stops_retrying_when_the_call_deadline_is_up(emulator_factory):
    server = emulator_factory(demo=True, faults=RandomFaults(error_5xx=1.0, seed=1))
    client = V1Client(V1Wire(Settings(server.base_url, "demo", "demo"), retries=50,
                             backoff=0.2, max_retry_time=60))
    started = time.monotonic()
    with deadline.within(1.0), pytest.raises(ServerError):
        client.list_files("0")
    assert time.monotonic() - started < 1.5


def test_client_clips_request_timeouts_to_the_call_deadline(emulator_factory):
    server = emulator_factory(demo=True, faults=RandomFaults(latency=5, seed=1))
    client = V1Client(V1Wire(Settings(server.base_url, "demo", "demo"), timeout=(5, 30)))
    started = time.monotonic()
    with deadline.within(0.7), pytest.raises(TransportError):
        list(client.iter_folder("0"))
    assert time.monotonic() - started < 1.2


def test_waiting_for_another_threads_fetch_is_bounded_and_serves_stale():
    backend = FakeBackend()
    backend.add("0", "a.txt", b"a")
    clock = [0.0]
    cache = MetadataCache(backend, ttl=1, stale_ttl=100, clock=lambda: clock[0])
    assert list(cache.listing("0").by_name) == ["a.txt"]
    clock[0] = 5.0  # expired, still within stale_ttl
    release = threading.Event()
    original = backend.list_folder

    def slow(folder_id):
        release.wait(10)
        return original(folder_id)

    backend.list_folder = slow
    holder = threading.Thread(target=lambda: cache.listing("0"))
    holder.start()
    time.sleep(0.1)
    started = time.monotonic()
    with deadline.within(0.3):
        assert list(cache.listing("0").by_name) == ["a.txt"]
    assert time.monotonic() - started < 0.6
    cache.forget_folder("0")
    with deadline.within(0.3), pytest.raises(TransportError):
        cache.listing("0")
    release.set()
    holder.join(5)
