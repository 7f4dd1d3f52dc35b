"""Secrets stay secret against an emulator: plain http to a host other than this machine
needs ``--insecure``, and a refused sign-in does not echo the secret. (Without a server:
tests/unit/test_security.py; on a real mount: tests/mount/test_security.py.)"""

from __future__ import annotations

from tests.support.cli_process import clean_env, cli
from tests.support.credentials import API_KEY, API_SECRET
from tests.support.mounting import fuse_unavailable_reason


def test_plain_http_to_another_host_needs_insecure(tmp_path, emulator_factory):
    (tmp_path / "mnt").mkdir()
    env = clean_env(PUTIO_API_URL="http://192.0.2.1/v1", PUTIO_API_KEY=API_KEY,
                    PUTIO_API_SECRET=API_SECRET)
    result = cli("mount", str(tmp_path / "mnt"), "-f", env=env)
    assert result.returncode == 1 and "--insecure" in result.stderr, result.stderr
    assert API_SECRET not in result.stderr

    # 0.0.0.0 is not a loopback address to the check, yet reaches this machine's listener.
    server = emulator_factory(api_key=API_KEY, api_secret=API_SECRET)
    env["PUTIO_API_URL"] = server.base_url.replace("127.0.0.1", "0.0.0.0")
    refused = cli("mount", str(tmp_path / "mnt"), "-f", env=env)
    assert refused.returncode == 1 and "--insecure" in refused.stderr
    if fuse_unavailable_reason():
        return
    env["PUTIO_API_SECRET"] = "wrong" + API_SECRET
    wrong = cli("mount", str(tmp_path / "mnt"), "-f", "--insecure", env=env)
    assert wrong.returncode == 1 and "refused the credentials" in wrong.stderr, wrong.stderr
    assert API_SECRET not in wrong.stderr + wrong.stdout
