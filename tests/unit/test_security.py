"""Secrets stay secret without a server: the log redacts them whatever logs them (any logger,
exceptions, warnings, threads), and a config file others can read is refused before it is
used. (With an emulator: tests/emulator/test_security.py; on a real mount:
tests/mount/test_security.py.)"""

from __future__ import annotations

import socket
import stat
import subprocess
import sys
import textwrap

import pytest

from tests.support.cli_process import clean_env, cli
from tests.support.credentials import API_KEY, API_SECRET
from tests.support.fuse_bindings import loadable_libfuse3_in_children
from tests.support.mounting import fuse_device_unusable_reason


@pytest.fixture
def mount_checks_pass(tmp_path_factory: pytest.TempPathFactory,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    """``putiofs mount`` checks /dev/fuse and loads its binding before it reads on: the
    processes the test starts load a stand-in binding (none mounts, so no real one is
    needed), and where /dev/fuse does not open the test skips."""
    device = fuse_device_unusable_reason()
    if device is not None:
        pytest.skip(f"putiofs mount checks /dev/fuse before it signs in: {device}")
    loadable_libfuse3_in_children(monkeypatch, tmp_path_factory.mktemp("bindings"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_redaction_covers_every_logger_thread_exceptions_and_warnings(tmp_path):
    """In a fresh process (setup_logging changes global logging state)."""
    log_file = tmp_path / "log"
    script = textwrap.dedent(f"""
        import logging, threading, warnings
        from pathlib import Path
        from putiofs.logs import register_secret, setup_logging
        setup_logging(debug=True, log_file=Path({str(log_file)!r}))
        register_secret({API_SECRET!r})
        logging.getLogger("urllib3.connectionpool").debug(
            '%s "GET /stream/1001/5/atk/tok3nV4lue HTTP/1.1" 206', "http://127.0.0.1:1")
        try:
            raise FileNotFoundError(2, "No such file")
        except OSError:
            logging.getLogger("fuse").debug("FUSE operation getattr raised", exc_info=True)
        try:
            raise ValueError("boom {API_SECRET}")
        except ValueError:
            logging.getLogger("other").error("failed", exc_info=True)
        logging.getLogger("other").info("%s %s", "args", {API_SECRET!r})
        warnings.warn("careless {API_SECRET}")
        def fail():
            raise RuntimeError("in a thread {API_SECRET}")
        thread = threading.Thread(target=fail)
        thread.start()
        thread.join()
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    log = log_file.read_text()
    assert API_SECRET not in log + result.stderr and "tok3nV4lue" not in log
    assert "/atk/***" in log and "boom ***" in log and "careless ***" in log
    assert "in a thread ***" in log
    assert "FUSE operation getattr raised" in log
    assert log.count("Traceback") == 2, "fusepy's errno lines carry no traceback"


@pytest.mark.usefixtures("mount_checks_pass")
def test_config_file_readable_by_others_is_refused(tmp_path):
    config = tmp_path / "xdg" / "putiofs" / "config"
    config.parent.mkdir(parents=True)
    port = free_port()  # nothing listens there
    config.write_text(f"api_key = {API_KEY}\napi_secret = {API_SECRET}\n"
                      f"api_url = http://127.0.0.1:{port}/v1\n")
    (tmp_path / "mnt").mkdir()
    env = clean_env(XDG_CONFIG_HOME=str(tmp_path / "xdg"), HOME=str(tmp_path))
    for mode in (0o644, 0o640, 0o604, 0o660):
        config.chmod(mode)
        result = cli("mount", str(tmp_path / "mnt"), "-f", env=env)
        assert result.returncode == 1 and "chmod 600" in result.stderr, result.stderr
        assert API_SECRET not in result.stderr + result.stdout
    config.chmod(0o600)
    result = cli("mount", str(tmp_path / "mnt"), "-f", "--timeout", "2", env=env)
    assert result.returncode == 1 and "cannot reach" in result.stderr, result.stderr
    assert API_SECRET not in result.stderr + result.stdout and API_KEY not in result.stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
