"""``putiofs`` run in a process of its own, as from a shell, with no put.io settings but the
ones a test gives."""

from __future__ import annotations

import os
import subprocess
import sys


def cli(*args: str, env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess:
    """``putiofs *args`` in ``env``; its exit code and captured output (text)."""
    return subprocess.run([sys.executable, "-m", "putiofs", *args], env=env, text=True,
                          capture_output=True, timeout=timeout, check=False)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any ``PUTIO_*`` variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUTIO_")}
    env.update(extra)
    return env
