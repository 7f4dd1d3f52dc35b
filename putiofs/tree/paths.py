"""A held folder's mount path, worked out from the listings the cache holds (no API call):
for the background work a listing starts (thumbnails, subtitles), which must name the folder
as the mount shows it."""

from __future__ import annotations

from putiofs.api.backend import ROOT_ID
from putiofs.tree.cache import MetadataCache

#: Folders deeper than this are not followed up to the root.
MAX_FOLDER_DEPTH = 256


def folder_path(cache: MetadataCache, folder_id: str) -> str | None:
    """The mount path of a folder ("/" the root), followed up through the listings the cache
    holds, with the names the mount shows; None where a level is not held (no API call)."""
    parts: list[str] = []
    current = folder_id
    for _ in range(MAX_FOLDER_DEPTH):
        if current == ROOT_ID:
            return "/" + "/".join(reversed(parts))
        holders = [(parent, entry) for parent, entry in cache.holders(current)
                   if entry.parent_id == parent]
        if not holders:
            return None
        fresh = [held for held in holders if cache.cached_listing(held[0]) is not None]
        parent_id = (fresh or holders)[0][0]
        listing = cache.held_listing(parent_id)
        shown = listing.shown_name(current) if listing is not None else None
        if shown is None:
            return None
        parts.append(shown)
        current = parent_id
    return None
