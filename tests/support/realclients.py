"""Real put.io v2 clients nobody here wrote, pointed at a local server: putio.py and rclone.

- :func:`putio_sdk` points put.io's Python SDK (``putiopy``) at a plain-HTTP emulator by
  reassigning its URL globals (it reads them at call time).
- :func:`rclone_env` prepares rclone, whose put.io hosts are built in, to go through a
  :class:`~putiofs.emulator.tls.front.TlsFront`; :func:`rclone_mount` mounts with it. They live in
  :mod:`putiofs.testing.rclone_client` (``scripts/bench`` runs rclone too) and are re-exported
  here with the pytest skip marks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from putiofs.emulator.tls.certs import openssl_path
from putiofs.testing.rclone_client import (  # noqa: F401 - re-exported for the tests
    RCLONE_TIMEOUT,
    Rclone,
    RcloneMount,
    rclone_env,
    rclone_mount,
    rclone_path,
)


def real_clients_unavailable_reason() -> str | None:
    """Why rclone cannot be run through a TLS front here, or None if it can."""
    if rclone_path() is None:
        return "rclone is not installed (apt-get install rclone)"
    if openssl_path() is None:
        return "openssl is not installed (apt-get install openssl): the TLS front needs it"
    return None


requires_openssl = pytest.mark.skipif(
    openssl_path() is None,
    reason="openssl is not installed (apt-get install openssl): the TLS front needs it")
requires_rclone = pytest.mark.skipif(real_clients_unavailable_reason() is not None,
                                     reason=real_clients_unavailable_reason() or "")


@contextmanager
def putio_sdk(base_url: str, token: str) -> Iterator[Any]:
    """``putiopy.Client(token)`` talking to the emulator at ``base_url`` (``http://host:port``).

    The SDK's module globals ``BASE_URL``, ``UPLOAD_URL`` and ``TUS_UPLOAD_URL`` are pointed at
    the emulator for the duration and restored afterwards (so this is not thread-safe across
    concurrent uses). The client's session ignores proxy variables: it talks to loopback only.
    """
    import putiopy

    root = base_url.rstrip("/").removesuffix("/v2")
    saved = {name: getattr(putiopy, name) for name in ("BASE_URL", "UPLOAD_URL", "TUS_UPLOAD_URL")}
    putiopy.BASE_URL = f"{root}/v2"
    putiopy.UPLOAD_URL = f"{root}/v2/files/upload"
    putiopy.TUS_UPLOAD_URL = f"{root}/files/"
    client = putiopy.Client(token)
    client.session.trust_env = False
    try:
        yield client
    finally:
        client.close()
        for name, value in saved.items():
            setattr(putiopy, name, value)
