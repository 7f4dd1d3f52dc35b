"""put.io's official JavaScript SDK (``@putdotio/api-client`` 8.49.0, pinned with its lock file
in ``tests/emulator/js/``) against ``putiofs emulator --api v2 --demo``, unmodified, through its
own methods: ``js/sdk_calls.js`` makes every call of the areas the emulator serves (account,
auth, config, files, file, extract, zips, download links, sharing, friends, transfers, events,
trash) in one node process, checks every answer against the shape the SDK's type declarations
give it, field by field, and reads back what a call stored. A missing or mistyped field fails
the test with its name.

``scripts/setup-env.sh`` installs the SDK (``npm ci``) when node is on the machine; without node,
or without the installed SDK, the test is skipped and says why."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

JS = Path(__file__).parent / "js"
SDK = JS / "node_modules" / "@putdotio" / "api-client"
TOKEN = "js-sdk-token-7c2d"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed (put.io's JS SDK needs it)"),
    pytest.mark.skipif(not SDK.is_dir(), reason="put.io's JS SDK is not installed: run "
                       "scripts/setup-env.sh (npm ci in tests/emulator/js)"),
]


def _archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("readme.txt", b"unpacked by put.io\n")
        archive.writestr("inner/data.bin", bytes(range(256)) * 4)
    return out.getvalue()


@pytest.fixture
def emulator() -> Iterator[tuple[subprocess.Popen, str]]:
    """``putiofs emulator --api v2 --demo`` on a free port; its API URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "putiofs", "emulator", "--api", "v2", "--demo", "--port", "0",
         "--transfer-seconds", "0.3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PUTIO_TOKEN": TOKEN, "PUTIO_API_SECRET": "demo-password"})
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(2)]
    url = lines[1].strip().partition("=")[2] if lines[1].startswith("PUTIO_API_URL=") else ""
    if not url:
        proc.kill()
        err = proc.stderr.read() if proc.stderr else ""
        pytest.fail(f"the emulator did not start: {lines} {err}")
    try:
        yield proc, url
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
        assert "Traceback" not in err, err


def test_the_js_sdk_passes_every_call_and_shape(emulator):
    proc, url = emulator
    upload = requests.post(f"{url}/files/upload", headers={"Authorization": f"token {TOKEN}"},
                           files={"file": ("photos.zip", _archive())}, timeout=10)
    archive_id = upload.json()["file"]["id"]
    env = {**os.environ, "PUTIO_API_URL": url, "PUTIO_TOKEN": TOKEN, "PUTIO_USERNAME": "demo",
           "PUTIO_PASSWORD": "demo-password", "ARCHIVE_ID": str(archive_id)}
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        env.pop(name, None)
    run = subprocess.run([NODE, str(JS / "sdk_calls.js")], cwd=JS, env=env,
                         capture_output=True, text=True, timeout=120)
    last = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else "{}"
    report = json.loads(last)
    assert report.get("failures") == [], "\n".join(report.get("failures") or [run.stderr])
    assert run.returncode == 0, run.stderr
    assert report["calls"] >= 140  # the script ran to its end
