"""The factory: settings -> what the core needs (a Backend, AccountServices, the mount's
warm-up, the sign-in calls). The one module of the core that names an API version.

The mount and the API commands get a :class:`Connection` from :func:`connect` and never see a
version's client; ``putiofs login`` / ``logout`` get a :class:`~putiofs.api.signin.SignIn` from
:func:`open_sign_in`.

Each API call, retries included, ends within ``timeout`` seconds (and each request's connect /
read wait within 10 / 30 s of it); a FUSE call's own deadline, when shorter, wins.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from putiofs.api.backend import Backend
from putiofs.api.errors import (
    AuthenticationError,
    ConfigError,
    PutioError,
    TransportError,
    UserError,
)
from putiofs.api.services import AccountServices
from putiofs.api.signin import SignIn
from putiofs.config import Settings

log = logging.getLogger(__name__)

#: The one line for a v2 token put.io refuses (wrong, revoked, or for another account).
TOKEN_REFUSED = "put.io refused the token (run putiofs login, or check PUTIO_TOKEN)"
#: The one line for v1 credentials put.io refuses.
CREDENTIALS_REFUSED = ("put.io refused the credentials (check PUTIO_API_KEY / PUTIO_API_SECRET "
                       "or the config file)")


class ConnectError(UserError):
    """The account cannot be used; the message is one line for the user, without secrets."""


@dataclass
class Connection:
    """One account, opened: the file tree, the other services, and how to finish with them.

    ``refused`` is the one line to show when put.io refuses this version's credentials;
    ``warm_up`` fetches what the first file open would otherwise wait for.
    """

    backend: Backend
    services: AccountServices
    refused: str
    warm_up: Callable[[], None]
    close: Callable[[], None]

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(settings: Settings, *, timeout: float = 60.0) -> Connection:
    """The account of ``settings``, no call made yet."""
    if settings.api == "v1":
        return _connect_v1(settings, timeout)
    if settings.api == "v2":
        return _connect_v2(settings, timeout)
    raise ConfigError(f"unknown put.io API version {settings.api!r}")


def _request_timeout(timeout: float) -> tuple[float, float]:
    return (min(10.0, timeout), min(30.0, timeout))


def _connect_v1(settings: Settings, timeout: float) -> Connection:
    from putiofs.v1.account import V1Services
    from putiofs.v1.backend import V1Backend
    from putiofs.v1.client import V1Client
    from putiofs.v1.wire import V1Wire

    wire = V1Wire(settings, timeout=_request_timeout(timeout), max_retry_time=timeout)
    client = V1Client(wire)
    backend = V1Backend(client)

    def warm_up() -> None:
        backend.access_token()  # the stream token every file open needs

    return Connection(backend=backend, services=V1Services(client),
                      refused=CREDENTIALS_REFUSED, warm_up=warm_up, close=wire.close)


def _connect_v2(settings: Settings, timeout: float) -> Connection:
    from putiofs.v2.account import V2Services
    from putiofs.v2.backend import V2Backend
    from putiofs.v2.client import V2Client
    from putiofs.v2.realtime import V2ChangeListener
    from putiofs.v2.wire import V2Wire, default_retry_policy

    wire = V2Wire(settings.token, base_url=settings.api_url, timeout=_request_timeout(timeout),
                  retry=default_retry_policy(timeout))
    client = V2Client(wire)
    # v2 has no account-wide stream token: each file's URL is fetched at its first open.
    services = V2Services(client, upload_url=settings.upload_url)
    listeners = None
    if settings.socket_url:
        listeners = functools.partial(V2ChangeListener, settings.socket_url, settings.token,
                                      api_url=settings.api_url)
    backend = V2Backend(client, upload_url=settings.upload_url, listeners=listeners)
    return Connection(backend=backend, services=services,
                      refused=TOKEN_REFUSED, warm_up=lambda: None, close=wire.close)


def open_sign_in(api_url: str, *, timeout: float = 30.0) -> SignIn:
    """The sign-in calls of the API at ``api_url`` (put.io's v2: the v1 API has no OAuth)."""
    from putiofs.v2.signin import V2SignIn
    from putiofs.v2.wire import default_retry_policy

    return V2SignIn(api_url, timeout=_request_timeout(timeout),
                    retry=default_retry_policy(timeout))


def open_for_mount(settings: Settings, *, timeout: float) -> Connection:
    """:func:`connect`, then one cheap call (are the credentials good and the API there? v2:
    the account's info, which also says whether deletes go to the trash), then the warm-up.
    ConnectError (one line) if the account cannot be used."""
    connection = connect(settings, timeout=timeout)
    try:
        connection.backend.quota()
    except AuthenticationError:
        connection.close()
        raise ConnectError(connection.refused) from None
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
