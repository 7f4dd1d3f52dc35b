"""The JSON methods of ``/v1/<service>?method=<name>``: the call context and the routing table.

A handler receives a :class:`Call` and returns the ``results`` value of the envelope; it raises
:class:`~putiofs.emulator.state.ApiError` for anything the API reports as an error. All
handlers run with the account lock held. The handlers themselves live in
:mod:`~putiofs.emulator.v1.files_api` and :mod:`~putiofs.emulator.v1.account_api`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from putiofs.emulator.state import ROOT_ID, ROOT_NAME, Account, ApiError, Node, invalid, missing
from putiofs.emulator.v1 import account_api, files_api


@dataclass
class Call:
    """One API call: the account, the decoded ``params`` and how to render the answer."""

    account: Account
    params: dict[str, Any]
    dialect: str
    root_url: str
    token_ttl: float

    @property
    def legacy(self) -> bool:
        return self.dialect == "legacy"

    # ---------------------------------------------------------------- parameter helpers

    def id_param(self, name: str = "id", default: int | None = None) -> int:
        value = self.params.get(name)
        if value is None:
            if default is None:
                raise missing(name)
            return default
        return Account.parse_id(value, name)

    def int_param(self, name: str, default: int, minimum: int) -> int:
        value = self.params.get(name)
        if value is None:
            return default
        if isinstance(value, str) and value.isascii() and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise invalid(name)
        return value

    def str_param(self, name: str, default: str | None = None) -> str:
        value = self.params.get(name)
        if value is None:
            if default is None:
                raise missing(name)
            return default
        if not isinstance(value, str):
            raise invalid(name)
        return value

    def bool_param(self, name: str, default: bool) -> bool:
        value = self.params.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
            return value.lower() in ("true", "1")
        raise invalid(name)

    def links(self, name: str) -> list[str]:
        """A list of strings, or one string holding newline-separated links."""
        value = self.params.get(name)
        if value is None:
            raise missing(name)
        if isinstance(value, str):
            value = value.splitlines()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid(name)
        links = [v.strip() for v in value if v.strip()]
        if not links:
            raise invalid(name)
        return links

    # --------------------------------------------------------------------- rendering

    def item(self, node: Node) -> dict[str, Any]:
        """An Item with the spec's attribute names and JSON types (plus legacy extras)."""
        account = self.account
        nid = str(node.id)
        kind = node.type
        pictured = kind in ("movie", "image")
        data_base = f"{self.root_url}/download-file/{account.user_id}/{nid}"
        item: dict[str, Any] = {
            "id": nid,
            "name": ROOT_NAME if node.id == ROOT_ID else node.name,
            "type": kind,
            "size": str(account.size_of(node)),
            "is_dir": node.is_dir,
            "parent_id": None if node.id == ROOT_ID else str(node.parent_id),
            "screenshot_url": f"{self.root_url}/screenshot/b/{nid}.jpg" if pictured else None,
            "thumb_url": f"{self.root_url}/screenshot/{nid}.jpg" if pictured else None,
            "file_icon_url": f"{self.root_url}/images/file_types/{kind}.png",
            "download_url": data_base,
        }
        if self.legacy:
            stream = f"{self.root_url}/stream/{account.user_id}/{nid}"
            item["stream_url"] = None if node.is_dir else stream
            item["zip_url"] = f"{self.root_url}/download-zip/{account.user_id}/{nid}"
            item["folder_icon_url"] = (
                f"{self.root_url}/images/file_types/folder.png" if node.is_dir else None
            )
        return item


Handler = Callable[[Call], Any]


#: service -> method names; the handler of files.list is ``files_api.files_list``, and so on.
METHODS: dict[str, tuple[str, ...]] = {
    "files": ("list", "create_dir", "info", "rename", "move", "delete", "search", "dirmap"),
    "messages": ("list", "delete"),
    "transfers": ("list", "cancel", "add"),
    "urls": ("analyze", "extracturls"),
    "user": ("info", "friends", "acctoken"),
    "subscriptions": ("list", "create", "edit", "delete", "pause", "info"),
}
SERVICES: dict[str, dict[str, Handler]] = {
    service: {
        method: getattr(files_api if service == "files" else account_api, f"{service}_{method}")
        for method in methods
    }
    for service, methods in METHODS.items()
}


def find_handler(service: str, method: str) -> Handler:
    methods = SERVICES.get(service)
    if methods is None:
        raise ApiError(f"Unknown service: {service}", "route")
    handler = methods.get(method)
    if handler is None:
        raise ApiError(f"Unknown method: {method}", "route")
    return handler


def check_request(raw: str | None, account: Account) -> dict[str, Any]:
    """Decode the ``request`` JSON, check the credentials and return ``params``."""
    if raw is None:
        raise ApiError("Malformed request", "malformed")
    try:
        request = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError("Malformed request", "malformed") from None
    if not isinstance(request, dict):
        raise ApiError("Malformed request", "malformed")
    params = request.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ApiError("Malformed request", "malformed")
    key, secret = request.get("api_key"), request.get("api_secret")
    if not (isinstance(key, str) and isinstance(secret, str)) or not account.credentials_match(
        key, secret
    ):
        raise ApiError("Invalid api_key or api_secret", "auth")
    return params
