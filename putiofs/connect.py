"""The factory: settings -> what the core needs (a Backend, AccountServices, the mount's
warm-up). The one module of the core that names an API version.

The mount and the API commands get a :class:`Connection` from :func:`connect` and never see a
version's client. v2 is refused with a clear line until its implementation is wired in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from putiofs.backend import Backend
from putiofs.config import Settings
from putiofs.errors import AuthenticationError, ConfigError, PutioError, TransportError
from putiofs.services import AccountServices

log = logging.getLogger(__name__)


class ConnectError(Exception):
    """The account cannot be used; the message is one line for the user, without secrets."""


@dataclass
class Connection:
    """One account, opened: the file tree, the other services, and how to finish with them.

    ``credentials_hint`` says where the credentials this version uses come from (for the
    "refused" message); ``warm_up`` fetches what the first file open would otherwise wait for.
    """

    backend: Backend
    services: AccountServices
    credentials_hint: str
    warm_up: Callable[[], None]
    close: Callable[[], None]

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(settings: Settings, *, timeout: float = 60.0) -> Connection:
    """The account of ``settings``, no call made yet. ``timeout`` bounds each API call,
    retries included (and each request's connect / read wait to 10 / 30 s within it)."""
    if settings.api == "v1":
        return _connect_v1(settings, timeout)
    if settings.api == "v2":
        raise ConfigError("the put.io API v2 is not supported yet (set api = v1, or "
                          "PUTIO_API=v1, with an api_key and api_secret)")
    raise ConfigError(f"unknown put.io API version {settings.api!r}")


def _connect_v1(settings: Settings, timeout: float) -> Connection:
    from putiofs.v1.backend import V1Backend
    from putiofs.v1.client import PutioClient
    from putiofs.v1.services import V1Services

    client = PutioClient(settings, timeout=(min(10.0, timeout), min(30.0, timeout)),
                         max_retry_time=timeout)
    backend = V1Backend(client)

    def warm_up() -> None:
        backend.access_token()  # the stream token every file open needs

    return Connection(backend=backend, services=V1Services(client),
                      credentials_hint="PUTIO_API_KEY / PUTIO_API_SECRET or the config file",
                      warm_up=warm_up, close=client.close)


def open_for_mount(settings: Settings, *, timeout: float) -> Connection:
    """:func:`connect`, then one cheap call (are the credentials good and the API there?),
    then the warm-up. ConnectError (one line) if the account cannot be used."""
    connection = connect(settings, timeout=timeout)
    try:
        connection.backend.quota()
    except AuthenticationError:
        connection.close()
        raise ConnectError(f"put.io refused the credentials (check "
                           f"{connection.credentials_hint})") from None
    except TransportError as exc:
        connection.close()
        raise ConnectError(f"cannot reach the put.io API at {settings.api_url}: {exc}") from None
    except PutioError as exc:
        connection.close()
        raise ConnectError(f"the put.io API at {settings.api_url} failed: {exc}") from None
    try:
        connection.warm_up()
    except PutioError as exc:
        log.warning("could not prepare file reads yet (%s); the first open will ask again",
                    type(exc).__name__)
    return connection
