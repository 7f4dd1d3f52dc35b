"""How to run an emulator: :class:`EmulatorOptions`, checked when made.

Its own module because the server (:mod:`~putiofs.emulator.server`), the HTTP plumbing
(:mod:`~putiofs.emulator.http.httpd`) and both version packages read the options, and the server
imports the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from putiofs.emulator.account.state import DISK_QUOTA
from putiofs.emulator.http.faults import Faults

#: The API versions an emulator serves (``EmulatorOptions.api``).
SERVED_VERSIONS = ("v1", "v2")
#: How a v1 emulator words its answers (``EmulatorOptions.dialect``, :mod:`putiofs.emulator.v1`).
DIALECTS = ("doc", "legacy")


@dataclass
class EmulatorOptions:
    """How to run the emulator; the version packages' docstrings say what each switch changes."""

    host: str = "127.0.0.1"
    port: int = 0
    api_key: str = "demo"
    api_secret: str = "demo"
    dialect: str = "doc"
    token_ttl: float = 3600.0
    redirect: bool = False
    data_dir: Path | None = None
    demo: bool = False
    transfer_seconds: float = 3.0
    faults: Faults = field(default_factory=Faults)
    #: Which API the server speaks: "v1" (api_key/api_secret) or "v2" (OAuth token).
    api: str = "v1"
    #: v2: the account's OAuth token (``putiofs emulator`` takes it from PUTIO_TOKEN).
    token: str = "demo-token"
    #: v2: seconds a storage URL from ``/v2/files/{id}/url`` stays valid.
    url_ttl: float = 3600.0
    #: The account's disk size in bytes (v2 uploads beyond what is left fail).
    disk_size: int = DISK_QUOTA
    #: v2: the account setting ``trash_enabled`` at start (deletes go to the trash).
    trash_enabled: bool = True

    def __post_init__(self) -> None:
        if self.api not in SERVED_VERSIONS:
            raise ValueError(f"unknown API version {self.api!r} (v1 or v2)")
        if not self.token or self.url_ttl <= 0 or self.disk_size < 0:
            raise ValueError("token must not be empty, url_ttl positive, disk_size not negative")
        if self.dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {self.dialect!r} (doc or legacy)")
        if self.token_ttl <= 0 or self.transfer_seconds < 0:
            raise ValueError("token_ttl must be positive and transfer_seconds not negative")
        if self.demo and self.data_dir is not None:
            raise ValueError("choose either demo or data_dir, not both")
