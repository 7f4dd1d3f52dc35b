"""The account's folder map (v1 ``dirmap``) as the cache uses it to resolve deep paths."""

from __future__ import annotations

from putiofs import names
from putiofs.backend import FolderRef


class FolderMap:
    """Every folder of the account by parent; each parent's shown names worked out once."""

    def __init__(self, refs: list[FolderRef]) -> None:
        self._children: dict[str, list[FolderRef]] = {}
        for ref in refs:
            self._children.setdefault(ref.parent_id, []).append(ref)
        self._shown: dict[str, dict[str, FolderRef]] = {}

    def child(self, parent_id: str, name: str) -> FolderRef | None:
        shown = self._shown.get(parent_id)
        if shown is None:
            shown = names.assign(self._children.get(parent_id, []))  # type: ignore[assignment]
            self._shown[parent_id] = shown
        return names.lookup(shown, name)  # type: ignore[return-value]
