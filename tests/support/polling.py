"""Waiting for something a test cannot be told about: poll until it is true, within a bound (a
bound for a loaded machine, never a speed claim)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

Value = TypeVar("Value")


def wait_for(condition: Callable[[], Value], seconds: float = 10.0, *,
             fail: str | None = None, interval: float = 0.05) -> Value:
    """Call ``condition`` until it returns something true, for at most ``seconds``; that value,
    or its last false one once the time is up (the caller asserts on it). With ``fail``, a time
    that runs out fails the test with that message instead."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            if fail is not None:
                pytest.fail(fail, pytrace=False)
            return value
        time.sleep(interval)



