"""put.io's name rules for create-folder, rename, copy and uploads."""

from __future__ import annotations

from typing import TYPE_CHECKING

from putiofs.emulator.v2.wire import V2Error, bad_request

if TYPE_CHECKING:
    from putiofs.emulator.account.state import Account, Node

#: The longest name, in UTF-8 bytes.
MAX_NAME_BYTES = 255


def check(name: str) -> None:
    """400 ``EMPTY_NAME``, ``SLASH_IN_NAME``, ``INVALID_NAME`` (a NUL byte) or
    ``NAME_TOO_LONG`` for a name put.io would refuse."""
    if not name or not name.strip():
        raise bad_request("Name cannot be empty", "EMPTY_NAME")
    if "/" in name:
        raise bad_request("Name cannot contain a slash", "SLASH_IN_NAME")
    if "\x00" in name:
        raise bad_request("Name cannot contain a NUL character", "INVALID_NAME")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise bad_request("Name is too long", "NAME_TOO_LONG")


def check_free(account: Account, parent: Node, name: str, itself: int | None = None) -> None:
    """400 ``NAME_ALREADY_EXIST`` when another child of ``parent`` is called ``name``."""
    for child_id in parent.children:
        if child_id != itself and account.nodes[child_id].name == name:
            raise V2Error(400, "NAME_ALREADY_EXIST", "Name already exist")
