"""Signing in to put.io: what ``putiofs login`` / ``logout`` need, whatever the API version.

put.io's device ("out-of-band") flow, as put.io's own command-line app uses it: ask for a code,
have the user approve it at ``https://app.put.io/link?code=CODE``, poll until put.io hands out
the token. :func:`putiofs.connect.open_sign_in` gives the implementation for the configured API
(v2; the v1 API has no OAuth tokens). Nothing here ever logs or prints a token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

#: Where a user approves a code (put.io's web app), without the code.
LINK_PAGE = "https://app.put.io/link"


@dataclass(frozen=True)
class DeviceCode:
    """A code waiting for the user's approval at :attr:`link`."""

    code: str = field(repr=False)

    @property
    def link(self) -> str:
        return f"{LINK_PAGE}?code={self.code}"


class SignIn(Protocol):
    """The sign-in calls of one API. Every method raises the exceptions of
    :mod:`putiofs.api.errors`."""

    def device_code(self, app_id: str, client_name: str) -> DeviceCode:
        """A new code for the OAuth app ``app_id``; ``client_name`` is what put.io shows."""

    def device_token(self, code: str) -> str | None:
        """The token once the user approved ``code``; None while pending; NotFoundError when
        the code expired or never existed."""

    def who(self, token: str) -> str | None:
        """The account's user name if put.io accepts ``token`` ("" when it does not say),
        None if it refuses it."""

    def revoke(self, token: str) -> None:
        """Ask put.io to revoke ``token``."""

    def close(self) -> None: ...
