"""Domain exceptions shared by the API client, the backends and the filesystem layer.

The clients raise these; :func:`putiofs.front.errno_map.errno_for` alone turns them into errno
values. Messages never carry credentials or stream tokens.
"""


class PutioError(Exception):
    """Any failure talking to put.io; ``message`` is put.io's ``error_message`` if it sent one."""

    def __init__(self, message: str = "", *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class AuthenticationError(PutioError):
    """Bad api_key / api_secret, or an expired / refused stream token."""


class NotFoundError(PutioError):
    """The item, message, transfer or subscription does not exist (any more)."""


class PathNotFound(NotFoundError):
    """No item at this mount path."""


class PathNotADirectory(PutioError):
    """A component of a mount path that should be a folder is a file."""


class BadRequestError(PutioError):
    """put.io refused the request as malformed: unknown method, missing or bad parameter."""


class NameExistsError(BadRequestError):
    """The folder already holds an item of that name (v2's ``NAME_ALREADY_EXIST``): EEXIST.

    A BadRequestError because put.io answers it with 400 and code that handles refused requests
    in general should catch it too.
    """


class InvalidNameError(BadRequestError):
    """put.io refuses the name itself (v2's ``EMPTY_NAME``, ``SLASH_IN_NAME``,
    ``INVALID_NAME``): EINVAL."""


class NameTooLongError(InvalidNameError):
    """put.io refuses the name as too long (v2's ``NAME_TOO_LONG``): ENAMETOOLONG."""


class ConflictError(BadRequestError):
    """Well-formed, but against a rule of the tree (e.g. a folder into its own subtree)."""


class PermissionDeniedError(PutioError):
    """The account may not do this (e.g. change a friend's shared item)."""


class RateLimitedError(PutioError):
    """HTTP 429. ``retry_after`` is the server's Retry-After in seconds, if it sent one."""

    def __init__(self, message: str = "", *, status: int | None = 429,
                 retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class BusyError(PutioError):
    """put.io asks to try again shortly (v2's ``TRASH_LOCK_TIMEOUT``): temporary, retried."""


class NotSupportedError(PutioError):
    """This API version has no such service (e.g. RSS subscriptions on v2, uploads on v1)."""


class QuotaExceededError(PutioError):
    """put.io has no room for the upload (the account's disk is full): ENOSPC."""


class NoSpaceError(PutioError):
    """The mount has no room for more written data: the spool would pass ``--cache-max-size``,
    or the bytes waiting for upload would pass put.io's free space as last asked: ENOSPC.
    Raised before anything is written or counted, without asking put.io."""


class UploadOffsetError(PutioError):
    """The server's offset of a resumable upload is not the one the request was sent at (TUS
    409): ask the server for its offset and go on from there."""


class ServerError(PutioError):
    """put.io answered 5xx, or an answer that is not a valid envelope."""


class TransportError(PutioError):
    """No usable answer at all: connection refused or dropped, DNS failure, timeout."""


class UserError(Exception):
    """A failure the user can act on, reported as one line ``putiofs: error: <message>``, no
    traceback, and a non-zero exit. The message is that line: no secrets in it."""


class ConfigError(UserError):
    """Missing or unsafe configuration (credentials, config file permissions, API URL)."""
