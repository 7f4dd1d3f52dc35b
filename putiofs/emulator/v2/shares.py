"""What the account shares, by item: kept by the running v2 API, served by
:mod:`putiofs.emulator.v2.shares_api`."""

from __future__ import annotations

from dataclasses import dataclass, field

EVERYONE = "everyone"


@dataclass
class FileShares:
    """Who one file is shared with: everyone, and/or named friends by share id."""

    everyone: bool = False
    friends: dict[int, str] = field(default_factory=dict)


class Shares:
    """Every share of the account, by file id (kept by the running v2 API)."""

    def __init__(self) -> None:
        self.files: dict[int, FileShares] = {}
        self._next_id = 1

    def share(self, file_id: int, friends: list[str] | None) -> None:
        """Share with ``friends`` (names), or with everyone when None; sharing twice with one
        friend keeps the one share."""
        shares = self.files.setdefault(file_id, FileShares())
        if friends is None:
            shares.everyone = True
            return
        for name in friends:
            if name not in shares.friends.values():
                shares.friends[self._next_id] = name
                self._next_id += 1

    def is_shared(self, file_id: int) -> bool:
        shares = self.files.get(file_id)
        return shares is not None and (shares.everyone or bool(shares.friends))
