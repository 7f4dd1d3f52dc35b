"""How long a call may take, for the tests of deadlines: run it in a thread and time it
(:func:`outcome_within`), with :data:`SLACK` beyond a deadline for a loaded machine; the
servers that trickle their answers send a byte every :data:`TRICKLE` seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

SLACK = 3.0        # seconds beyond a deadline a failing call may take on a loaded machine
TRICKLE = 0.3      # seconds between two bytes of a trickling answer


def outcome_within(limit: float, call: Callable[[], object]) -> tuple[object, float]:
    """Run ``call`` in a thread; (its result or exception, seconds taken). Fails the test if it
    has not finished after ``limit`` seconds (old code kept such calls for minutes)."""
    box: list[object] = []
    started = time.monotonic()

    def run() -> None:
        try:
            box.append(call())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), f"still running after {limit:g} s"
    return box[0], time.monotonic() - started
