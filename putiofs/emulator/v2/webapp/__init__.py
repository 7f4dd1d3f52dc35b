"""The v2 endpoints put.io's own web app uses beyond what the public reference describes,
served as put.io's JavaScript SDK (``@putdotio/api-client`` 8.49.0) calls them and declares
their answers: friends and friendship requests, the per-app config store, playback (start-from,
watch status, next file, HLS), archive extraction, download links, sharing clones and public
shares. ``tests/emulator/js/`` drives that SDK against the emulator in the suite.

:class:`~.state.WebApp` is the state these endpoints keep beside the account (the v2 API holds
one as ``api.web``); :data:`RULES` their routes, which :class:`~putiofs.emulator.v2.V2Api` joins to
its own."""

from __future__ import annotations

from putiofs.emulator.v2.request import Rule
from putiofs.emulator.v2.webapp import (
    config_api,
    extract_api,
    friends_api,
    links_api,
    playback_api,
)
from putiofs.emulator.v2.webapp.state import WebApp

__all__ = ["RULES", "WebApp"]

RULES: list[Rule] = [*friends_api.route.rules, *config_api.route.rules,
                     *playback_api.route.rules, *extract_api.route.rules,
                     *links_api.route.rules]


