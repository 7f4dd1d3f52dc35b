"""The put.io v2 API client: one method per endpoint of the JSON API, typed results.

Files, the account and sign-in, transfers, history events, friends, shares (and the items
shared with you), trash, zips and archive extraction.
TUS uploads are :mod:`putiofs.v2.tus`; the wire (auth, errors, retries, paging)
:mod:`putiofs.v2.wire`.

What is repeated after a failure with no usable answer (see :mod:`putiofs.net.retry`):

- never: create-folder, copy, copying a shared item (sharing/clone) and extracting an archive
  (each would make a second item or folder), logout, adding a transfer, retrying one (either
  would start a second download), creating a zip;
- rename and move: yes. Putting an item under a name (and in a folder) is idempotent, except
  that the repeat of an attempt that did succeed finds the name taken by the item itself; so a
  ``NAME_ALREADY_EXIST`` on a repeated attempt is checked with one ``GET /files/{id}`` and
  counts as done when the item is already where it was sent;
- delete: yes, with ``skip_nonexistents=1`` (a repeat that finds the item gone succeeds);
- cancelling and cleaning transfers, emptying the trash: yes (idempotent); restoring or
  deleting trash items: yes, with "gone means done" (the repeat of an attempt that succeeded
  finds the item gone);
- everything that only reads, plus touch, sharing and the MP4 conversion start.

An answer whose content cannot be right (a size out of range, a file without an id) is a
ServerError raised after the retries, not retried: the server would send it again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, urljoin

from putiofs.api.errors import NameExistsError, NotFoundError, PutioError, ServerError
from putiofs.logs import register_secret
from putiofs.v2.errors import error_for, item_error
from putiofs.v2.models import (
    AccountInfo,
    DeleteResult,
    DeviceCode,
    Event,
    EventsPage,
    Extraction,
    File,
    FileShare,
    Friend,
    MoveFailure,
    Mp4Status,
    SharedFile,
    SharedWithYou,
    SubtitleInfo,
    TokenInfo,
    Transfer,
    TrashItem,
    Zip,
)
from putiofs.v2.parse import (
    csv,
    format_time,
    mapping,
    parsed,
    parsed_object,
    to_bool,
    to_id,
    to_str,
)
from putiofs.v2.tus import TusClient, same_origin
from putiofs.v2.wire import V2Wire, decode_envelope, register_url

Ids = Iterable[str | int] | str | int


class V2Client:
    """A client for put.io's v2 API: one method per endpoint, each a request of ``wire``
    (:class:`~putiofs.v2.wire.V2Wire`, whose docstring explains its options), and ``tus``,
    the resumable uploads over the same wire.

    ``V2Client(V2Wire(token, base_url=..., retry=RetryPolicy(...)))``; the wire's ``close()``
    (or ``with``) ends the pooled session it created.
    """

    def __init__(self, wire: V2Wire) -> None:
        self.wire = wire
        self.tus = TusClient(wire)

    def __repr__(self) -> str:
        return f"V2Client({self.wire!r})"

    # -- files ----------------------------------------------------------------------------

    def list_folder(self, parent_id: str | int, *, hidden: bool = True) -> Iterator[File]:
        """Every child of a folder, however many pages (``/files/list`` + ``/continue``).

        ``hidden`` includes the items put.io hides in its web app (a mount shows everything
        the account holds). An id seen on an earlier page is not yielded again.
        """
        seen: set[str] = set()
        where = f"GET /files/list?parent_id={parent_id}"
        for data in self.wire.paged("/files/list", "files",
                                    {"parent_id": parent_id, "hidden": True if hidden else None}):
            file = parsed(File.from_json, data, where)
            if file.id not in seen:
                seen.add(file.id)
                yield file

    def get_file(self, file_id: str | int) -> File:
        """One file or folder by id; NotFoundError if it is gone."""
        return self._file(self.wire.request("GET", f"/files/{file_id}"), f"GET /files/{file_id}")

    def child(self, parent_id: str | int, name: str) -> File:
        """The item called exactly ``name`` in a folder; NotFoundError if there is none."""
        path = f"/files/{parent_id}/child"
        return self._file(self.wire.request("GET", path, query={"name": name}), f"GET {path}")

    def search(self, query: str) -> Iterator[File]:
        """Every file whose name matches ``query`` (``/files/search`` + ``/continue``).
        put.io indexes new items with a delay."""
        seen: set[str] = set()
        for data in self.wire.paged("/files/search", "files", {"query": query}):
            file = parsed(File.from_json, data, "GET /files/search")
            if file.id not in seen:
                seen.add(file.id)
                yield file

    def create_folder(self, parent_id: str | int, name: str) -> File:
        """A new folder; NameExistsError if the name is taken. Never repeated."""
        answer = self.wire.request("POST", "/files/create-folder",
                                   form={"name": name, "parent_id": parent_id}, repeatable=False)
        return self._file(answer, "POST /files/create-folder")

    def rename(self, file_id: str | int, name: str) -> File | None:
        """Give an item a new name; the item if put.io returns it (not all deployments do)."""
        answer = self.wire.request("POST", "/files/rename", form={"file_id": file_id, "name": name},
                                   done_if=self._already(file_id, name=name))
        data = mapping(answer).get("file")
        return parsed(File.from_json, data, "POST /files/rename") if data else None

    def move(self, file_id: str | int, parent_id: str | int, name: str | None = None) -> None:
        """Move one item into ``parent_id``, renaming it to ``name`` in the same call if given
        (``file_id`` + ``parent_id`` + ``name``, as rclone does; otherwise the batch form)."""
        form: dict[str, Any] = {"parent_id": parent_id}
        if name is None:
            form["file_ids"] = file_id
        else:
            form.update(file_id=file_id, name=name)

        def check(answer: Mapping[str, Any]) -> None:
            for failure in _move_failures(answer):
                raise item_error(failure.error_type, failure.status_code,
                                 f"POST /files/move: item {failure.id or file_id} not moved")

        self.wire.request("POST", "/files/move", form=form, check=check,
                          done_if=self._already(file_id, name=name, parent_id=parent_id))

    def move_many(self, file_ids: Ids, parent_id: str | int) -> list[MoveFailure]:
        """Move several items into a folder; the items put.io reported it could not move
        (NAME_ALREADY_EXIST after a repeated attempt is dropped when the item is in place)."""
        answer, attempts = self.wire.request_counted(
            "POST", "/files/move", form={"file_ids": csv(file_ids), "parent_id": parent_id})
        failures = _move_failures(answer)
        if attempts > 1:
            failures = [f for f in failures
                        if not (f.error_type == "NAME_ALREADY_EXIST" and f.id is not None
                                and self._is_in(f.id, parent_id=parent_id))]
        return failures

    def delete(self, file_ids: Ids, *, skip_trash: bool = False) -> DeleteResult:
        """Delete items (into the trash when the account has it on, unless ``skip_trash``).

        ``skip_nonexistents=1`` makes a repeated delete safe; the answer's ``skipped`` counts
        the ids that were not there (see :class:`DeleteResult` for what a repeat means).
        """
        answer, attempts = self.wire.request_counted(
            "POST", "/files/delete", form={"file_ids": csv(file_ids)},
            query={"skip_nonexistents": True, "skip_trash": True if skip_trash else None})
        skipped = mapping(answer).get("skipped")
        count = skipped if isinstance(skipped, int) and not isinstance(skipped, bool) else 0
        return DeleteResult(skipped=max(0, count), repeated=attempts > 1)

    def touch(self, file_ids: Ids, updated_at: float) -> None:
        """Set the modification time (whole seconds, UTC) of items."""
        self.wire.request("POST", "/files/touch",
                          form={"file_ids": csv(file_ids), "updated_at": format_time(updated_at)})

    def copy(self, file_id: str | int, parent_id: str | int, name: str | None = None) -> File:
        """A copy of a file in ``parent_id`` (under ``name`` if given). Never repeated."""
        answer = self.wire.request("POST", "/files/copy", repeatable=False,
                                   form={"file_id": file_id, "parent_id": parent_id, "name": name})
        return self._file(answer, "POST /files/copy")

    def file_url(self, file_id: str | int) -> str:
        """A storage URL that serves the file's bytes with HTTP Range and needs no other
        credentials: it is registered as a secret, and must never be logged or shown."""
        answer = self.wire.request("GET", f"/files/{file_id}/url")
        url = to_str(mapping(answer).get("url"))
        if not url or not url.lower().startswith(("http://", "https://")):
            raise ServerError(f"GET /files/{file_id}/url: the answer held no URL")
        register_url(url)
        return url

    def mp4_status(self, file_id: str | int) -> Mp4Status:
        """The MP4 conversion status of a video."""
        answer = self.wire.request("GET", f"/files/{file_id}/mp4")
        return parsed(Mp4Status.from_json, mapping(answer).get("mp4"), f"GET /files/{file_id}/mp4")

    def start_mp4(self, file_id: str | int) -> Mp4Status:
        """Ask put.io to convert a video to MP4 (asking again while it runs changes nothing)."""
        answer = self.wire.request("POST", f"/files/{file_id}/mp4")
        return parsed(Mp4Status.from_json, mapping(answer).get("mp4"),
                      f"POST /files/{file_id}/mp4")

    def subtitles(self, file_id: str | int) -> list[SubtitleInfo]:
        """The subtitles put.io found for a file, in its order; an entry without a ``key``
        (nothing could fetch it) is left out."""
        where = f"GET /files/{file_id}/subtitles"
        found = mapping(self.wire.request("GET", f"/files/{file_id}/subtitles")).get("subtitles")
        return [parsed(SubtitleInfo.from_json, item, where)
                for item in (found if isinstance(found, list) else ())
                if isinstance(item, Mapping) and to_str(item.get("key"))]

    def subtitle_file(self, file_id: str | int, key: str, *, fmt: str = "srt",
                      max_bytes: int = 4 * 1024 * 1024) -> bytes:
        """One subtitle's bytes (``fmt``: ``srt`` or ``webvtt``), retried as any GET. put.io
        may answer with the file or with a redirect to it (putio.py resolves it either way);
        a redirect is followed once, without the token where it leaves the API's host.
        ServerError for an answer larger than ``max_bytes`` or one that is a JSON envelope
        (not a subtitle)."""
        wire = self.wire
        path = f"/files/{file_id}/subtitles/{quote(key, safe='')}"
        what = f"GET /files/{file_id}/subtitles/<key>"

        def attempt() -> bytes:
            headers = {**wire.request_headers(), "Accept": "*/*"}
            response = wire.exchange("GET", wire.base_url + path, what, headers=headers,
                                     params={"format": fmt})
            location = response.headers.get("Location")
            if response.status_code in (301, 302, 303, 307, 308) and location:
                target = urljoin(wire.base_url + path, location)
                register_url(target)
                if not same_origin(target, wire.base_url):
                    headers = {**wire.request_headers(auth=False), "Accept": "*/*"}
                response = wire.exchange("GET", target, what, headers=headers)
            envelope = decode_envelope(response.headers.get("Content-Type"), response.content)
            if not 200 <= response.status_code < 300:
                raise error_for(response.status_code, envelope, response.headers, what,
                                now=wire.wall_clock())
            if envelope is not None:
                raise ServerError(f"{what}: the answer was JSON, not a subtitle")
            if len(response.content) > max_bytes:
                raise ServerError(f"{what}: {len(response.content)} bytes, more than "
                                  f"{max_bytes} for a subtitle")
            return response.content

        return wire.retried(attempt, what) or b""

    # -- account and sign-in --------------------------------------------------------------

    def account_info(self) -> AccountInfo:
        """The account: user, disk figures, whether deletes go to the trash."""
        answer = self.wire.request("GET", "/account/info")
        info = mapping(answer).get("info")
        if not isinstance(info, Mapping):
            raise ServerError("GET /account/info: the answer held no account")
        return parsed(AccountInfo.from_json, info, "GET /account/info")

    def validate_token(self) -> TokenInfo:
        """What put.io says about the token in use (``.valid`` is the verdict)."""
        return TokenInfo.from_json(self.wire.request("GET", "/oauth2/validate"))

    def device_code(self, app_id: str | int, client_name: str) -> DeviceCode:
        """Start the device flow: a code for the user to approve at ``DeviceCode.link``."""
        answer = mapping(self.wire.request("GET", "/oauth2/oob/code", auth=False,
                                           query={"app_id": app_id, "client_name": client_name}))
        code = to_str(answer.get("code"))
        if not code:
            raise ServerError("GET /oauth2/oob/code: the answer held no code")
        register_secret(code)  # until approved, whoever has it can collect the token
        return DeviceCode(code=code, qr_code_url=to_str(answer.get("qr_code_url")))

    def device_token(self, code: str) -> str | None:
        """The token once the user approved ``code``, None while pending; NotFoundError when
        the code expired (or never existed). Poll no faster than every 2 s."""
        register_secret(code)
        try:
            answer = self.wire.request("GET", f"/oauth2/oob/code/{code}", auth=False,
                                       label="GET /oauth2/oob/code/<code>")
        except NotFoundError:
            raise NotFoundError("the sign-in code expired; start again", status=404) from None
        token = to_str(mapping(answer).get("oauth_token"))
        if token:
            register_secret(token)
        return token or None

    def logout(self) -> None:
        """Revoke the token in use. Never repeated (a repeat would be refused as signed out)."""
        self.wire.request("POST", "/oauth/grants/logout", repeatable=False)

    # -- transfers ------------------------------------------------------------------------

    def list_transfers(self) -> list[Transfer]:
        """Every transfer, finished ones included until cleaned (all pages)."""
        return [parsed_object(Transfer.from_json, t, "GET /transfers/list")
                for t in self.wire.paged("/transfers/list", "transfers")]

    def get_transfer(self, transfer_id: str | int) -> Transfer:
        answer = self.wire.request("GET", f"/transfers/{transfer_id}")
        return _transfer(answer, f"GET /transfers/{transfer_id}")

    def add_transfer(self, url: str, *, save_parent_id: str | int | None = None,
                     callback_url: str | None = None) -> Transfer:
        """Start a download of a URL or magnet link. Never repeated (would add it twice)."""
        answer = self.wire.request("POST", "/transfers/add", repeatable=False,
                                   form={"url": url, "save_parent_id": save_parent_id,
                                         "callback_url": callback_url})
        return _transfer(answer, "POST /transfers/add")

    def add_transfers(self, urls: Iterable[str], *, save_parent_id: str | int | None = None
                      ) -> tuple[list[Transfer], list[tuple[str, str]]]:
        """Start downloads of several links in one ``transfers/add-multi`` call: the transfers
        started, and ``(url, error_type)`` of each link put.io refused. Never repeated."""
        entries = [{"url": url} if save_parent_id is None
                   else {"url": url, "save_parent_id": int(save_parent_id)} for url in urls]
        answer = mapping(self.wire.request("POST", "/transfers/add-multi", repeatable=False,
                                           form={"urls": json.dumps(entries)}))
        transfers = answer.get("transfers")
        started = [parsed_object(Transfer.from_json, t, "POST /transfers/add-multi")
                   for t in (transfers if isinstance(transfers, list) else [])]
        errors = answer.get("errors")
        refused = [(str(e.get("url") or ""), str(e.get("error_type") or "error"))
                   for e in (errors if isinstance(errors, list) else []) if isinstance(e, Mapping)]
        return started, refused

    def upload_torrent(self, upload_url: str, name: str, data: bytes, *,
                       parent_id: str | int | None = None) -> Transfer:
        """Upload a .torrent file (``name`` ends in ``.torrent``) to become a transfer:
        multipart ``POST <upload_url>/v2/files/upload?torrent=true``, which answers
        ``{transfer}``. Never repeated (would add it twice)."""
        where = "POST /v2/files/upload"
        answer = mapping(self.wire.request("POST", "/v2/files/upload", base=upload_url,
                                           query={"torrent": "true"}, repeatable=False,
                                           form={"filename": name, "parent_id": parent_id},
                                           files={"file": (name, data)}, label=where))
        if not isinstance(answer.get("transfer"), Mapping):
            raise ServerError(f"{where}: put.io stored {name!r} as a file, not a transfer")
        return _transfer(answer, where)

    def cancel_transfers(self, transfer_ids: Ids) -> None:
        """Cancel transfers (an unknown id is not an error: put.io answers OK)."""
        self.wire.request("POST", "/transfers/cancel", form={"transfer_ids": csv(transfer_ids)})

    def retry_transfer(self, transfer_id: str | int) -> Transfer:
        """Start a failed transfer again. Never repeated."""
        answer = self.wire.request("POST", "/transfers/retry", form={"id": transfer_id},
                                   repeatable=False)
        return _transfer(answer, "POST /transfers/retry")

    def clean_transfers(self, transfer_ids: Ids | None = None) -> list[str]:
        """Remove finished transfers (the given ones, or all); the ids put.io removed."""
        form = {"transfer_ids": csv(transfer_ids)} if transfer_ids is not None else None
        answer = self.wire.request("POST", "/transfers/clean", form=form)
        ids = mapping(answer).get("deleted_ids")
        return [i for i in (to_id(x) for x in ids) if i] if isinstance(ids, list) else []

    # -- events and friends ---------------------------------------------------------------

    def list_events(self, *, before: int | None = None, per_page: int | None = None
                    ) -> EventsPage:
        """One page of the history, newest first; ``before`` = an event id to page back."""
        answer = mapping(self.wire.request("GET", "/events/list",
                                           query={"before": before, "per_page": per_page}))
        events = answer.get("events")
        return EventsPage(
            events=tuple(Event.from_json(e) for e in events if isinstance(e, Mapping))
            if isinstance(events, list) else (),
            has_more=bool(to_bool(answer.get("has_more"))))

    def list_friends(self) -> list[Friend]:
        friends = mapping(self.wire.request("GET", "/friends/list")).get("friends")
        return [Friend.from_json(f) for f in friends if isinstance(f, Mapping)] \
            if isinstance(friends, list) else []

    # -- shares ---------------------------------------------------------------------------

    def share_files(self, file_ids: Ids, friends: Iterable[str] | None) -> None:
        """Share items with friends (names), or with everyone when ``friends`` is None.
        Repeatable: sharing again with the same friends changes nothing."""
        who = "everyone" if friends is None else ",".join(friends)
        self.wire.request("POST", "/files/share", form={"file_ids": csv(file_ids), "friends": who})

    def list_shared(self) -> list[SharedFile]:
        """The account's items it shares, and with how many."""
        shared = mapping(self.wire.request("GET", "/files/shared")).get("shared")
        return [parsed_object(SharedFile.from_json, s, "GET /files/shared") for s in shared] \
            if isinstance(shared, list) else []

    def shared_with(self, file_id: str | int) -> list[FileShare]:
        """The named friends one item is shared with."""
        answer = mapping(self.wire.request("GET", f"/files/{file_id}/shared-with"))
        shares = answer.get("shared-with")
        return [parsed_object(FileShare.from_json, s, f"GET /files/{file_id}/shared-with")
                for s in shares] if isinstance(shares, list) else []

    def unshare(self, file_id: str | int, share_ids: Ids | None = None) -> None:
        """Stop sharing an item: with the given shares, or at all (None)."""
        shares = "everyone" if share_ids is None else csv(share_ids)
        self.wire.request("POST", f"/files/{file_id}/unshare", form={"shares": shares},
                          gone_is_done=share_ids is not None)

    def list_shared_with_you(self) -> list[SharedWithYou]:
        """The items friends share with the account (``/files/items-shared-with-you``, as
        put.io's web app asks; one page, as it does)."""
        where = "GET /files/items-shared-with-you"
        files = mapping(self.wire.request("GET", "/files/items-shared-with-you")).get("files")
        return [parsed_object(SharedWithYou.from_json, f, where) for f in files] \
            if isinstance(files, list) else []

    def clone_shared(self, file_ids: Ids, parent_id: str | int) -> str:
        """Start copying items shared with the account into its folder ``parent_id``
        (``sharing/clone``); the copy job's id (poll :meth:`clone_status`). Never repeated."""
        answer = self.wire.request("POST", "/sharing/clone", repeatable=False,
                                   form={"file_ids": csv(file_ids), "parent_id": parent_id})
        clone_id = to_id(mapping(answer).get("id"))
        if clone_id is None:
            raise ServerError("POST /sharing/clone: the answer held no id")
        return clone_id

    def clone_status(self, clone_id: str | int) -> str | None:
        """put.io's word for a copy job of :meth:`clone_shared` (DONE once copied)."""
        answer = mapping(self.wire.request("GET", f"/sharing/clone/{clone_id}"))
        return to_str(answer.get("shared_file_clone_status"))

    # -- trash ----------------------------------------------------------------------------

    def list_trash(self) -> Iterator[TrashItem]:
        """Every item in the trash (``/trash/list`` + ``/continue``)."""
        for data in self.wire.paged("/trash/list", "files"):
            yield parsed_object(TrashItem.from_json, data, "GET /trash/list")

    def restore_from_trash(self, file_ids: Ids) -> None:
        self.wire.request("POST", "/trash/restore", form={"file_ids": csv(file_ids)},
                          gone_is_done=True)

    def delete_from_trash(self, file_ids: Ids) -> None:
        """Delete trash items for good."""
        self.wire.request("POST", "/trash/delete", form={"file_ids": csv(file_ids)},
                          gone_is_done=True)

    def empty_trash(self) -> None:
        self.wire.request("POST", "/trash/empty")

    # -- zips -----------------------------------------------------------------------------

    def create_zip(self, file_ids: Ids) -> str:
        """Ask put.io to zip items; the zip's id (poll :meth:`get_zip`). Never repeated."""
        answer = self.wire.request("POST", "/zips/create", form={"file_ids": csv(file_ids)},
                                   repeatable=False)
        zip_id = to_id(mapping(answer).get("zip_id"))
        if zip_id is None:
            raise ServerError("POST /zips/create: the answer held no zip_id")
        return zip_id

    def get_zip(self, zip_id: str | int) -> Zip:
        """A zip's state; its ``url`` (once ready) needs no credentials and is a secret."""
        answer = mapping(self.wire.request("GET", f"/zips/{zip_id}"))
        data = answer.get("zip", answer)
        found = parsed_object(Zip.from_json, data, f"GET /zips/{zip_id}")
        if found.url:
            register_url(found.url)
        return found

    # -- archives -------------------------------------------------------------------------

    def start_extraction(self, file_ids: Ids, password: str | None = None) -> list[Extraction]:
        """Ask put.io to unpack archives (``POST /files/extract``), each into a folder beside
        it; the new jobs. ``password`` (one for all) is registered as a secret. Never
        repeated (a second job would unpack a second copy)."""
        register_secret(password)
        answer = self.wire.request("POST", "/files/extract", repeatable=False,
                                   form={"user_file_ids": csv(file_ids), "password": password})
        return _extractions(answer, "POST /files/extract")

    def list_extractions(self) -> list[Extraction]:
        """Every extraction job put.io lists (``GET /files/extract``)."""
        return _extractions(self.wire.request("GET", "/files/extract"), "GET /files/extract")

    # -- helpers --------------------------------------------------------------------------

    def _file(self, answer: Mapping[str, Any] | None, where: str) -> File:
        data = mapping(answer).get("file")
        if not isinstance(data, Mapping):
            raise ServerError(f"{where}: the answer held no file")
        return parsed(File.from_json, data, where)

    def _is_in(self, file_id: str | int, *, name: str | None = None,
               parent_id: str | int | None = None) -> bool:
        """The item has ``name`` and is in ``parent_id`` (where given) right now."""
        try:
            file = self.get_file(file_id)
        except PutioError:
            return False
        return ((name is None or file.name == name)
                and (parent_id is None or file.parent_id == str(parent_id)))

    def _already(self, file_id: str | int, *, name: str | None = None,
                 parent_id: str | int | None = None) -> Callable[[PutioError], bool]:
        def done(exc: PutioError) -> bool:
            return isinstance(exc, NameExistsError) and self._is_in(file_id, name=name,
                                                                    parent_id=parent_id)
        return done


def _move_failures(answer: Mapping[str, Any] | None) -> list[MoveFailure]:
    errors = mapping(answer).get("errors")
    return [MoveFailure.from_json(e) for e in errors if isinstance(e, Mapping)] \
        if isinstance(errors, list) else []


def _extractions(answer: Mapping[str, Any] | None, where: str) -> list[Extraction]:
    jobs = mapping(answer).get("extractions")
    return [parsed_object(Extraction.from_json, job, where) for job in jobs] \
        if isinstance(jobs, list) else []


def _transfer(answer: Mapping[str, Any] | None, where: str) -> Transfer:
    """The ``transfer`` object of an answer."""
    return parsed_object(Transfer.from_json, mapping(answer).get("transfer"), where)
