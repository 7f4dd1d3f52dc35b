"""Signing in over put.io's v2 API (:class:`putiofs.api.signin.SignIn`): the device flow, token
validation (``/oauth2/validate``) and revocation (``/oauth/grants/logout``)."""

from __future__ import annotations

from putiofs.api.errors import AuthenticationError
from putiofs.api.signin import DeviceCode
from putiofs.net.retry import RetryPolicy
from putiofs.v2.client import V2Client
from putiofs.v2.wire import V2Wire


class V2SignIn:
    """The sign-in calls over one v2 client; the token its wire carries changes per call."""

    def __init__(self, base_url: str, *, timeout: tuple[float, float],
                 retry: RetryPolicy) -> None:
        self._wire = V2Wire(None, base_url=base_url, timeout=timeout, retry=retry)
        self._client = V2Client(self._wire)

    def device_code(self, app_id: str, client_name: str) -> DeviceCode:
        return DeviceCode(self._client.device_code(app_id, client_name).code)

    def device_token(self, code: str) -> str | None:
        return self._client.device_token(code)

    def who(self, token: str) -> str | None:
        """``/oauth2/validate`` decides; the user name comes from ``/account/info`` when the
        token may read it (a narrower scope may not: then "")."""
        self._wire.set_token(token)
        try:
            if not self._client.validate_token().valid:
                return None
        except AuthenticationError:
            return None
        try:
            return self._client.account_info().username or ""
        except AuthenticationError:
            return ""

    def revoke(self, token: str) -> None:
        self._wire.set_token(token)
        self._client.logout()

    def close(self) -> None:
        self._wire.close()
