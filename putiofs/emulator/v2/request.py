"""What a v2 endpoint sees: the :class:`Request`, and through ``request.api`` the running v2
API as a :class:`V2Site`; the routing :class:`Rule` of an endpoint, which its module records
with a :class:`Routes` right above the endpoint.

``V2Site`` is a protocol (:class:`~putiofs.emulator.v2.V2Api` is its one implementation) so that
the endpoints, the renderers, the storage URLs and the uploads reach the API they are part of
without importing the package that imports them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from putiofs.emulator.http.httpd import MAX_BODY

if TYPE_CHECKING:
    from putiofs.emulator.account.records import Node
    from putiofs.emulator.account.state import Account
    from putiofs.emulator.http.httpd import Emulator, Handler
    from putiofs.emulator.v2.auth import Auth
    from putiofs.emulator.v2.cursors import Cursors
    from putiofs.emulator.v2.media import Mp4, Zips
    from putiofs.emulator.v2.shares import Shares
    from putiofs.emulator.v2.webapp.state import WebApp
    from putiofs.emulator.v2.wire import Params


class StorageUrls(Protocol):
    """The storage URLs the endpoints hand out (:class:`~putiofs.emulator.v2.storage.Storage`)."""

    def url_for(self, node: Node) -> str: ...

    def zip_url(self, zip_id: int) -> str: ...


class UploadStore(Protocol):
    """Where uploaded bytes become files (:class:`~putiofs.emulator.v2.uploads.Uploads`)."""

    def check_space(self, size: int) -> None: ...

    def store(self, parent_id: int, name: str, data: bytes, updated: float | None,
              overwrite: bool = False) -> Node: ...


class V2Site(Protocol):
    """The running v2 API as its parts use it."""

    emulator: Emulator
    auth: Auth
    cursors: Cursors
    storage: StorageUrls
    mp4: Mp4
    zips: Zips
    uploads: UploadStore
    shares: Shares
    #: The account setting ``default_download_folder``.
    default_folder: int
    download_token: str
    web: WebApp


@dataclass
class Request:
    """One v2 API call as a handler sees it."""

    api: V2Site
    handler: Handler
    method: str
    params: Params
    match: re.Match[str]
    token: str | None
    body: bytes

    @property
    def account(self) -> Account:
        return self.api.emulator.account

    @property
    def root_url(self) -> str:
        return self.api.emulator.root_url

    def path_id(self, group: str = "id") -> int:
        return int(self.match.group(group))


Endpoint = Callable[[Request], Any]
E = TypeVar("E", bound=Endpoint)


@dataclass(frozen=True)
class Rule:
    """``methods`` + a path pattern below ``/v2/`` -> ``endpoint``; ``name`` counts requests
    in the stats and names them to the fault policy ("files.list"). ``auth``: whether the
    OAuth token is required.

    The name is stated, not derived from the path: several are not the path's words
    (``files/{id}`` is "files.get", ``files/search/{q}/page/{n}`` counts as "files.search",
    ``oauth/grants/logout`` is "oauth.logout"), and tests count requests by these names."""

    methods: tuple[str, ...]
    pattern: re.Pattern[str]
    endpoint: Endpoint
    name: str
    auth: bool = True
    body_limit: int = MAX_BODY


class Routes:
    """The rules of one endpoint module, each recorded by a decorator above its endpoint::

        route = Routes()

        @route("GET", r"transfers/list", "transfers.list")
        def transfers_list(request: Request) -> dict[str, Any]: ...

    ``methods`` is space-separated ("GET POST"). ``rules`` keeps the order the endpoints are
    defined in; :class:`~putiofs.emulator.v2.V2Api` joins the modules' rules and tries them in
    that order (the first whose pattern and method match serves the request). No two patterns
    match the same path (``tests/emulator/test_emulator_v2_routes.py`` holds them to that), so
    the order never decides which endpoint serves a request."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []

    def __call__(self, methods: str, pattern: str, name: str, *, auth: bool = True,
                 body_limit: int = MAX_BODY) -> Callable[[E], E]:
        def record(endpoint: E) -> E:
            self.rules.append(Rule(tuple(methods.split()), re.compile(pattern), endpoint, name,
                                   auth, body_limit))
            return endpoint

        return record
