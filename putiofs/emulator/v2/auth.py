"""OAuth tokens and the device (out-of-band code) flow."""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from putiofs.emulator.v2.wire import V2Error

if TYPE_CHECKING:
    from putiofs.emulator.http.httpd import Handler
    from putiofs.emulator.v2.wire import Params

#: Seconds a device code stays usable (polling it afterwards answers 404).
CODE_TTL = 600.0
_CODE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_SCHEMES = ("bearer", "token")
#: The app of the configured token (put.io's CLI app id).
DEFAULT_APP = "8993"


@dataclass
class DeviceCode:
    code: str
    app_id: str
    client_name: str
    created: float
    token: str | None = None


class Auth:
    """The account's valid tokens (the configured one plus any a device code earned)."""

    def __init__(self, token: str, clock: Callable[[], float]) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._tokens: dict[str, int] = {token: 1}
        self._next_token_id = 2
        #: The app each token was issued to (the configured token: :data:`DEFAULT_APP`).
        self._apps: dict[str, str] = {token: DEFAULT_APP}
        self._codes: dict[str, DeviceCode] = {}

    @staticmethod
    def token_of(handler: Handler, params: Params) -> str | None:
        """The token a request carries: ``Authorization: Bearer|token|Token <t>`` (any case),
        else the ``oauth_token`` parameter."""
        header = handler.headers.get("Authorization", "")
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() in _SCHEMES and value.strip():
            return value.strip()
        token = params.raw("oauth_token")
        return token if isinstance(token, str) else None

    def token_id(self, token: str | None) -> int | None:
        if not token:
            return None
        with self._lock:
            for known, token_id in self._tokens.items():
                if hmac.compare_digest(known.encode(), token.encode()):
                    return token_id
        return None

    def require(self, token: str | None) -> None:
        if self.token_id(token) is None:
            raise V2Error(401, "Unauthorized", "Unauthorized"
                          if token else "Missing OAuth token",
                          {"WWW-Authenticate": 'Bearer realm="put.io"'})

    def revoke(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)
            self._apps.pop(token, None)

    def issue(self, app_id: str) -> str:
        """A new valid token of app ``app_id`` (a password sign-in, an approved code)."""
        with self._lock:
            token = secrets.token_urlsafe(24)
            self._tokens[token] = self._next_token_id
            self._apps[token] = app_id or DEFAULT_APP
            self._next_token_id += 1
            return token

    def app_of(self, token: str | None) -> str:
        """The app a valid token belongs to (what the per-app config store is keyed by)."""
        with self._lock:
            for known, app_id in self._apps.items():
                if token and hmac.compare_digest(known.encode(), token.encode()):
                    return app_id
        return DEFAULT_APP

    # ---------------------------------------------------------------------- device codes

    def new_code(self, app_id: str, client_name: str) -> DeviceCode:
        with self._lock:
            self._expire()
            code = "".join(secrets.choice(_CODE_LETTERS) for _ in range(6))
            while code in self._codes:
                code = "".join(secrets.choice(_CODE_LETTERS) for _ in range(6))
            entry = DeviceCode(code, app_id, client_name, self._clock())
            self._codes[code] = entry
            return entry

    def code(self, code: str) -> DeviceCode | None:
        """The device code, or None when it is unknown or expired."""
        with self._lock:
            self._expire()
            return self._codes.get(code.strip().upper())

    def approve(self, code: str) -> DeviceCode | None:
        """Approve a pending code: it earns a new token (once); None if unknown or expired."""
        with self._lock:
            self._expire()
            entry = self._codes.get(code.strip().upper())
            if entry is not None and entry.token is None:
                entry.token = secrets.token_urlsafe(24)
                self._tokens[entry.token] = self._next_token_id
                self._apps[entry.token] = entry.app_id or DEFAULT_APP
                self._next_token_id += 1
            return entry

    def _expire(self) -> None:
        now = self._clock()
        for code in [c for c, e in self._codes.items() if now - e.created >= CODE_TTL]:
            del self._codes[code]
