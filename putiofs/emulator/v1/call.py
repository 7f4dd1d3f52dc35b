"""One v1 API call as a handler sees it: the account, the decoded parameters, their checks,
and the rendering of an item in the call's dialect.

Handlers (:mod:`~putiofs.emulator.v1.files_api`, :mod:`~putiofs.emulator.v1.account_api`) and
the routing table (:mod:`~putiofs.emulator.v1.api`) both import this module, which imports
neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from putiofs.emulator.account.state import ROOT_ID, ROOT_NAME, Account, Node, invalid, missing


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
