"""The account's profile as put.io's web app sees it: every setting the JavaScript SDK declares
(``IAccountSettings``), the sign-in name, mail and password, and the confirmations a mail or
password change waits for.

``trash_enabled`` and ``default_download_folder`` are not kept here: the account and the v2 API
hold them (deletes and uploads read them there)."""

from __future__ import annotations

import copy
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

#: Every stored setting with its value at start, as ``GET /account/settings`` answers it.
DEFAULTS: dict[str, Any] = {
    "beta_user": False, "callback_url": "", "dark_theme": False, "disable_subtitles": False,
    "dont_autoselect_subtitles": False, "fluid_layout": False, "hide_subtitles": False,
    "history_enabled": True, "is_invisible": False, "locale": "en",
    "login_mails_enabled": True, "next_episode": True, "pushover_token": None,
    "show_optimistic_usage": False, "sort_by": "NAME_ASC", "start_from": True,
    "subtitle_languages": ["eng", None], "theater_mode": False, "theme": "auto",
    "transfer_sort_by": "DATE_DESC", "tunnel_route_name": None, "two_factor_enabled": False,
    "use_private_download_ip": False, "use_start_from": True, "video_player": "html5",
}
BOOLEANS = frozenset(k for k, v in DEFAULTS.items() if isinstance(v, bool))
#: The settings a string (or, for these, null) is stored in.
TEXTS = frozenset({"callback_url", "locale", "pushover_token", "tunnel_route_name"})
CHOICES: dict[str, tuple[Any, ...]] = {
    "theme": ("dark", "light", "auto"), "video_player": ("html5", "flash", None),
}
CONFIRMATION_SUBJECTS = ("mail_change", "password_change", "subscription_upgrade")


@dataclass
class Confirmation:
    subject: str
    created: float


@dataclass
class Profile:
    """The profile of the one account; ``password`` starts as the account's API secret (the
    ``PUTIO_API_SECRET`` of ``putiofs emulator``, "demo" by default)."""

    user_id: int
    password: str
    mail: str
    settings: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULTS))
    confirmations: list[Confirmation] = field(default_factory=list)
    #: When the password last changed (epoch seconds), None before any change.
    password_changed: float | None = None

    @property
    def user_hash(self) -> str:
        """A stable opaque hash of the user (put.io hands one to its support widget)."""
        return hashlib.sha256(f"putio-emulator:{self.user_id}".encode()).hexdigest()

    def password_matches(self, password: object) -> bool:
        return isinstance(password, str) and hmac.compare_digest(password.encode(),
                                                                 self.password.encode())
