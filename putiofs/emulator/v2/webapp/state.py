"""What the web app's endpoints (:mod:`putiofs.emulator.v2.webapp`) keep beside the account:
:class:`WebApp` and its small parts (playback marks, link jobs, public shares)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from putiofs.emulator.v2.webapp.extract import Extractions
from putiofs.emulator.v2.webapp.people import ASKING, People
from putiofs.emulator.v2.webapp.profile import Profile

if TYPE_CHECKING:
    from putiofs.emulator.account.state import Account


@dataclass
class Playback:
    """Per-file playback state: start-from positions (seconds) and the watched items."""

    start_from: dict[int, int] = field(default_factory=dict)
    watched: set[int] = field(default_factory=set)


@dataclass
class LinkJob:
    file_ids: list[int]
    created: float


@dataclass
class PublicShare:
    id: int
    file_id: int
    token: str
    created: float


@dataclass
class Jobs:
    """Download-link jobs, clone jobs (done at once: their status) and public shares."""

    links: dict[int, LinkJob] = field(default_factory=dict)
    clones: dict[int, str] = field(default_factory=dict)
    public: dict[int, PublicShare] = field(default_factory=dict)
    next_id: int = 6100

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


@dataclass
class WebApp:
    """What the web app's endpoints keep: the profile, people and friendship requests, the
    config store (app id -> key -> JSON value), playback state, extractions and jobs."""

    profile: Profile
    extractions: Extractions
    people: People = field(default_factory=People)
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    playback: Playback = field(default_factory=Playback)
    jobs: Jobs = field(default_factory=Jobs)

    @classmethod
    def of(cls, account: Account, *, demo: bool) -> WebApp:
        profile = Profile(account.user_id, account.api_secret,
                          f"{account.user_name}@example.invalid")
        web = cls(profile, Extractions(account))
        if demo:
            web.people.incoming[ASKING] = web.people.directory[ASKING]
        return web

    def advance(self) -> None:
        """Bring the jobs up to now (every API call does this first, under the lock)."""
        self.extractions.advance()
