"""What put.io's subtitles of the listed videos are, learnt in the background, and the
sidecars a folder shows from them (no API call on the way).

:meth:`Sidecars.listed` is a :attr:`MetadataCache.listing_observers` observer: on the
fetching thread it only picks the folder's videos whose subtitles are not known at their
version (id, size, CRC-32, updated_at) and queues one job per folder (at most
``per_listing`` videos; a newer listing of a folder still queued replaces its job; at most
``queue_size`` folders wait, a listing beyond them is dropped: it comes back at the folder's
next listing). ``workers`` threads (started once mounted) take the jobs: per video one
``/files/{id}/subtitles`` call, then each subtitle's text as SubRip (at most
:data:`MAX_PER_VIDEO`, each at most :data:`MAX_SUBTITLE` bytes), all within ``timeout``
seconds. What a video has is then known for that version for the rest of the mount (the
most :data:`KNOWN_MAX` videos, least recently learnt first out), an empty answer too: at
most one ``/subtitles`` call per video and version, whatever the listings. A video whose
call failed is asked again at a listing :data:`RETRY_AFTER` seconds later at the earliest.

A sidecar is shown only once its text was fetched, so its size is exact and a listed
sidecar can be read. The texts are kept in memory up to ``text_budget`` bytes (least
recently used out); one pushed out is fetched again at its open, and bytes of another size
than the one shown are an error (EIO), never served. Once a folder's sidecars are known the
kernel is told (``invalidate`` of the folder's mount path). Failures are logged once at info
(then at debug), by what failed, never with a URL or a traceback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from putiofs.api.backend import VIDEO_TYPES, Backend, Entry, Subtitle
from putiofs.api.errors import NotFoundError, PutioError, ServerError
from putiofs.net import deadline
from putiofs.subtitles.naming import FOLDER_SOURCE, sidecar_names
from putiofs.tree.cache import MetadataCache
from putiofs.tree.folder_jobs import FailureLog, FolderJobs
from putiofs.tree.listing import Listing

log = logging.getLogger("putiofs.subtitles")

#: The most bytes one subtitle may have (a film's SubRip is 50-150 KB).
MAX_SUBTITLE = 2 * 1024 * 1024
#: The most subtitles of one video shown (put.io's answer is in its order of preference).
MAX_PER_VIDEO = 16
#: How many videos' subtitle lists are remembered.
KNOWN_MAX = 50_000
#: How many folders' sidecar names are kept worked out.
VIEWS_MAX = 1024
#: Seconds before a video whose subtitles could not be had is asked again.
RETRY_AFTER = 600.0
#: The default bound of the texts kept in memory, in bytes.
TEXT_BUDGET = 32 * 1024 * 1024

#: What a video's subtitles are known for: its :attr:`Entry.contents_key`.
Version = str


def is_video(entry: Entry) -> bool:
    return not entry.is_dir and entry.type in VIDEO_TYPES


@dataclass(frozen=True)
class Track:
    """A subtitle of a video whose text was fetched once: ``size`` bytes."""

    subtitle: Subtitle
    size: int


@dataclass(frozen=True)
class Sidecar:
    """A sidecar a folder shows: ``name``, the ``video`` entry it belongs to, its track."""

    name: str
    video: Entry
    track: Track


class Sidecars:
    """The subtitles of listed videos as sidecars, over ``backend`` (``capabilities
    .subtitles``). ``invalidate(path)`` drops a mount path from the kernel's caches."""

    def __init__(self, cache: MetadataCache, backend: Backend, *,
                 invalidate: Callable[[str], object] | None = None, workers: int = 1,
                 timeout: float = 20.0, queue_size: int = 256, per_listing: int = 500,
                 text_budget: int = TEXT_BUDGET,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cache = cache
        self.backend = backend
        self.invalidate = invalidate
        self.timeout = timeout
        self.per_listing = per_listing
        self.text_budget = text_budget
        self._clock = clock
        self._failures = FailureLog(log, "subtitles")
        self.jobs: FolderJobs[list[Entry]] = FolderJobs(
            "subtitles", self.do_folder, self._failed_once, log=log, workers=workers,
            queue_size=queue_size)
        self._known: OrderedDict[str, tuple[Version, tuple[Track, ...]]] = OrderedDict()
        self._failed: OrderedDict[Version, float] = OrderedDict()
        self._texts: OrderedDict[tuple[Version, str], bytes] = OrderedDict()
        self._text_bytes = 0
        self._views: OrderedDict[str, tuple[Listing, int, int, dict[str, Sidecar]]] = \
            OrderedDict()
        self._generation = 0
        self._lock = threading.Lock()
        #: Videos asked about, subtitle texts fetched, failures (for tests and logs).
        self.counts = {"asked": 0, "fetched": 0, "failed": 0}

    # -- the observer (on the fetching thread: quick) ----------------------------------------

    def listed(self, listing: Listing, previous: Listing | None) -> None:
        videos = [entry for entry in list(listing.entries) if is_video(entry)]
        if not videos:
            return
        with self._lock:
            now = self._clock()
            wanted = [entry for entry in videos if self._wanted(entry, now)]
        if not wanted:
            return
        if len(wanted) > self.per_listing:
            log.debug("subtitles: folder %s has %d videos to ask about, the first %d are "
                      "asked now", listing.folder_id, len(wanted), self.per_listing)
            wanted = wanted[:self.per_listing]
        self.jobs.offer(listing.folder_id, wanted)

    def _wanted(self, entry: Entry, now: float) -> bool:
        """Under the lock: the video's subtitles are not known at its version, and it did not
        fail lately."""
        version = entry.contents_key
        known = self._known.get(entry.id)
        if known is not None and known[0] == version:
            return False
        failed = self._failed.get(version)
        return failed is None or now - failed >= RETRY_AFTER

    # -- what the front asks (no API call) -----------------------------------------------------

    def in_folder(self, folder_id: str) -> dict[str, Sidecar]:
        """The sidecars the folder shows, by name, from its held listing: none where no
        listing is held. A name of a real item of the listing is never one of them."""
        listing = self.cache.held_listing(folder_id)
        if listing is None:
            return {}
        with self._lock:
            view = self._views.get(folder_id)
            if (view is not None and view[0] is listing and view[1] == len(listing)
                    and view[2] == self._generation):
                return view[3]
            generation = self._generation
        shown = dict(listing.by_name)
        taken = set(shown)
        found: dict[str, Sidecar] = {}
        for name, entry in sorted(shown.items()):
            if not is_video(entry):
                continue
            with self._lock:
                known = self._known.get(entry.id)
            if known is None or known[0] != entry.contents_key or not known[1]:
                continue
            tracks = {track.subtitle.key: track for track in known[1]}
            for sidecar, subtitle in sidecar_names(name, [t.subtitle for t in known[1]],
                                                   taken.__contains__):
                taken.add(sidecar)
                found[sidecar] = Sidecar(sidecar, entry, tracks[subtitle.key])
        with self._lock:
            self._views[folder_id] = (listing, len(shown), generation, found)
            self._views.move_to_end(folder_id)
            while len(self._views) > VIEWS_MAX:
                self._views.popitem(last=False)
        return found

    def text(self, sidecar: Sidecar) -> bytes:
        """A sidecar's bytes: from memory, else fetched again (within the caller's deadline);
        ServerError when put.io now sends bytes of another size than the one shown."""
        key = (sidecar.video.contents_key, sidecar.track.subtitle.key)
        with self._lock:
            held = self._texts.get(key)
            if held is not None:
                self._texts.move_to_end(key)
                return held
        text = self.backend.subtitle_text(sidecar.video.id, sidecar.track.subtitle.key,
                                          MAX_SUBTITLE)
        if len(text) != sidecar.track.size:
            raise ServerError(f"item {sidecar.video.id}'s subtitle is now {len(text)} bytes, "
                              f"not the {sidecar.track.size} shown")
        self._keep(key, text)
        return text

    # -- the workers ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers (once mounted: libfuse's fork keeps no thread)."""
        self.jobs.start()

    def stop(self, wait: float = 5.0) -> None:
        self.jobs.stop(wait)

    def idle(self) -> bool:
        return self.jobs.idle()

    def do_folder(self, folder_id: str, videos: list[Entry]) -> None:
        """Learn the subtitles of ``videos`` (of folder ``folder_id``) not known yet; tell
        the kernel about the folder when any of them has some."""
        shown = False
        for entry in videos:
            if self.jobs.stopping:
                return
            with self._lock:
                if not self._wanted(entry, self._clock()):
                    continue
            tracks = self._learn(entry)
            shown = shown or bool(tracks)
        if shown:
            self._tell_the_kernel(folder_id)

    def _learn(self, entry: Entry) -> tuple[Track, ...]:
        """One video's subtitles and their texts, remembered for its version."""
        version = entry.contents_key
        self._count("asked")
        texts: list[tuple[Subtitle, bytes]] = []
        try:
            with deadline.within(self.timeout):
                found = [subtitle for subtitle in self.backend.subtitles(entry.id)
                         if subtitle.source != FOLDER_SOURCE][:MAX_PER_VIDEO]
                for subtitle in found:
                    try:
                        texts.append((subtitle, self.backend.subtitle_text(
                            entry.id, subtitle.key, MAX_SUBTITLE)))
                    except NotFoundError:
                        continue  # put.io lists one it cannot serve: not shown
        except PutioError as exc:
            with self._lock:
                self._failed[version] = self._clock()
                while len(self._failed) > KNOWN_MAX:
                    self._failed.popitem(last=False)
            self._failed_once("fetch", f"item {entry.id}: {type(exc).__name__}")
            return ()
        tracks = tuple(Track(subtitle, len(text)) for subtitle, text in texts if text)
        for subtitle, text in texts:
            if text:
                self._keep((version, subtitle.key), text)
        with self._lock:
            self._failed.pop(version, None)
            self._known[entry.id] = (version, tracks)
            self._known.move_to_end(entry.id)
            while len(self._known) > KNOWN_MAX:
                self._known.popitem(last=False)
            if tracks:  # the folders' sidecars are worked out anew (a video without: no)
                self._generation += 1
            self.counts["fetched"] += len(tracks)
        return tracks

    def _keep(self, key: tuple[Version, str], text: bytes) -> None:
        with self._lock:
            old = self._texts.pop(key, None)
            self._text_bytes -= len(old) if old is not None else 0
            self._texts[key] = text
            self._text_bytes += len(text)
            while self._text_bytes > self.text_budget and len(self._texts) > 1:
                _, dropped = self._texts.popitem(last=False)
                self._text_bytes -= len(dropped)

    def _tell_the_kernel(self, folder_id: str) -> None:
        if self.invalidate is None:
            return
        path = self.cache.path_of(folder_id)
        if path is None:
            return
        try:
            self.invalidate(path)
        except Exception:  # noqa: BLE001 - a kernel hook must not stop the workers
            log.debug("subtitles: invalidating %s failed", path, exc_info=True)

    def _count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1

    def _failed_once(self, what: str, detail: str) -> None:
        self._count("failed")
        self._failures(what, detail)
