"""Secrets stay secret on a real mount: not in logs (even --debug), argv, error messages; the
mount is private by default. (Without a mount: tests/unit/test_security.py and
tests/emulator/test_security.py.)"""

from __future__ import annotations

import errno
import os
import random
import re
import stat
import subprocess
import time
from pathlib import Path

import pytest

from putiofs.emulator.http.faults import RandomFaults
from putiofs.emulator.v1 import wire as server_module
from tests.support.credentials import API_KEY, API_SECRET, OAUTH_TOKEN
from tests.support.mounting import requires_fuse
from tests.support.versions import api_only, link_expiry


@requires_fuse
def test_a_debug_session_never_shows_the_secret_the_key_or_any_token(server_factory,
                                                                     api_version,
                                                                     mount_factory):
    """v1: the key, the secret and every stream token; v2: the OAuth token and every storage
    URL (each one reads its file without any other credential)."""
    policy = RandomFaults(seed=12)
    server = server_factory(demo=True, api_key=API_KEY, api_secret=API_SECRET,
                            token=OAUTH_TOKEN, faults=policy, **link_expiry(api_version, 0.5))
    issued: list[str] = []
    if api_version == "v1":
        issue = server.account.issue_token
        server.account.issue_token = lambda ttl: issued.append(issue(ttl)) or issued[-1]
    else:
        url_for = server.api.storage.url_for

        def signed_part(node) -> str:  # /_storage/<signed>/<name>: the signed part is the key
            url = url_for(node)
            issued.append(url.split("/_storage/", 1)[1].split("/", 1)[0])
            return url

        server.api.storage.url_for = signed_part
    big = random.Random(1).randbytes(3 * 1024 * 1024)
    server.account.add_file("0", "big.bin", data=big)
    server.account.add_file("0", "later.bin", data=big[:100_000])
    mount = mount_factory(server, "--debug", "--timeout", "20", "--cache-ttl", "1",
                          api_key=API_KEY, api_secret=API_SECRET)
    for line in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        assert API_SECRET not in line and API_KEY not in line and OAUTH_TOKEN not in line
    cmdline = Path(f"/proc/{mount.process.pid}/cmdline").read_bytes().decode()
    assert API_SECRET not in cmdline and API_KEY not in cmdline and OAUTH_TOKEN not in cmdline

    # A full session: list, read (with faults and expiring tokens), rename, and errors.
    for dirpath, _, filenames in os.walk(mount.path):
        for name in filenames:
            os.stat(Path(dirpath, name))
    policy.configure(error_5xx=0.2, drop=0.1, malformed=0.1)
    assert (mount.path / "big.bin").read_bytes() == big
    time.sleep(0.6)  # the stream token (v1) or the storage URLs (v2) expire
    assert (mount.path / "later.bin").read_bytes() == big[:100_000]
    policy.configure(error_5xx=0, drop=0, malformed=0)
    os.rename(mount.path / "big.bin", mount.path / "renamed.bin")
    os.mkdir(mount.path / "new folder")
    for call in (lambda: os.stat(mount.path / "missing"),
                 lambda: os.symlink("x", mount.path / "link"),
                 lambda: os.rmdir(mount.path / "Documents")):
        with pytest.raises(OSError):
            call()
    policy.configure(error_5xx=1.0)
    with pytest.raises(OSError) as failed:
        os.listdir(mount.path / "new folder" / ".")
        (mount.path / "renamed.bin").read_bytes()
    assert failed.value.errno in (errno.EIO, errno.ENOENT)
    policy.configure(error_5xx=0)
    assert mount.unmount() == 0
    out, err = mount.process.communicate()

    log = mount.log()
    # the scan must see urllib3's lines of the downloads: v1's token, v2's whole signed path
    redacted = "/atk/***" if api_version == "v1" else '"GET *** HTTP/1.1" 206'
    assert " DEBUG urllib3" in log and redacted in log, "the scan must see debug lines"
    assert len(issued) >= 2, "links expired and were replaced during the session"
    for secret in (API_SECRET, API_KEY, OAUTH_TOKEN, *issued):
        assert secret not in log
        assert secret not in err and secret not in out


@requires_fuse
@api_only("v1", "the v1 emulator's --redirect (CDN-style signed redirects of stream URLs); "
                "v2's storage URLs are covered by the debug session test")
def test_signed_redirect_urls_never_reach_the_log_and_the_log_is_private(
        emulator_factory, mount_factory, monkeypatch):
    """A CDN-style redirect target serves the file to anyone: it is as secret as a token."""
    issued: list[str] = []
    sign = server_module.sign_data_id
    monkeypatch.setattr(server_module, "sign_data_id",
                        lambda *args: issued.append(sign(*args)) or issued[-1])
    server = emulator_factory(api_key=API_KEY, api_secret=API_SECRET, redirect=True)
    data = random.Random(4).randbytes(600_000)
    server.account.add_file("0", "signed.bin", data=data)
    mount = mount_factory(server, "--debug", api_key=API_KEY, api_secret=API_SECRET)
    assert (mount.path / "signed.bin").read_bytes() == data
    with open(mount.path / "signed.bin", "rb") as handle:  # a second handle, a seek
        handle.seek(500_000)
        assert handle.read(1000) == data[500_000:501_000]
    assert mount.unmount() == 0
    out, err = mount.process.communicate()

    log = mount.log()
    assert issued, "the emulator redirected the reads"
    assert " 302 " in log, "the scan must see urllib3's request lines"
    for signed in issued:
        assert signed not in log + out + err
    assert not re.search(r"/_data/(?!\*\*\*)", log), "no redirect path in clear"
    assert stat.S_IMODE(mount.log_file.stat().st_mode) == 0o600


@requires_fuse
def test_the_mount_is_private_to_the_mounting_user_by_default(demo_emulator, mount_factory):
    mount = mount_factory(demo_emulator)
    options = next(line.split()[3] for line in Path("/proc/mounts").read_text().splitlines()
                   if line.split()[1] == str(mount.path))
    assert "allow_other" not in options
    assert f"user_id={os.getuid()}" in options
    assert "default_permissions" in options
