"""``putiofs login`` and ``putiofs logout``: get a put.io OAuth token, keep it, forget it.

``putiofs login`` runs put.io's device flow as put.io's own command-line app does: it asks the
API (``PUTIO_API_URL``, default ``https://api.put.io/v2``) for a code, prints
``https://app.put.io/link?code=CODE`` and the code on a line of its own, polls every
``--interval`` seconds (default 2) until the user approves it or ``--timeout`` (default 120)
passes, checks the token with put.io and stores it in the config file (mode 0600; a file
others can read is refused). ``putiofs login --token -`` reads a token from standard input
instead (a personal token of the user's own OAuth app); a token is never taken from the
command line, where every user of the machine can see it in ``ps``. The OAuth app is
``--app-id``, else ``app_id`` in the config file or ``PUTIO_APP_ID``, else 8993 (put.io's own
command-line app).

``putiofs logout`` asks put.io to revoke the stored token (best effort: put.io unreachable or
the token already revoked only earns a warning) and removes it from the config file. A token
in ``PUTIO_TOKEN`` is not the file's to forget: logout says it is still set.

Nothing here prints or logs a token: only where it was stored.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Callable

from putiofs.api.errors import NotFoundError, PutioError
from putiofs.api.signin import LINK_PAGE, SignIn
from putiofs.commands.base import CALL_TIMEOUT, CommandError, stdin_only
from putiofs.config import (
    ENV_TOKEN,
    LoginSettings,
    forget_token,
    load_login_settings,
    store_token,
    stored_token,
)
from putiofs.connect import open_sign_in

CLIENT_NAME = "putiofs"


def add_parsers(commands: argparse._SubParsersAction) -> None:
    login = commands.add_parser(
        "login", help="sign in to put.io and store the token",
        description="Sign in to put.io (API v2): approve putiofs at the link shown, and the "
                    "token is stored in the config file (mode 0600).")
    login.add_argument("--token", type=stdin_only("--token", "a token"), metavar="-",
                       help="read a token from standard input instead of signing in (e.g. "
                            "the token of your own OAuth app from put.io's settings)")
    login.add_argument("--app-id", metavar="ID",
                       help="the OAuth app to sign in to (default: app_id in the config file, "
                            "PUTIO_APP_ID, or 8993, put.io's own command-line app)")
    login.add_argument("--interval", type=float, default=2.0, metavar="SECONDS",
                       help="seconds between checks for your approval (default 2)")
    login.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS",
                       help="how long to wait for your approval (default 120)")
    login.add_argument("--insecure", action="store_true",
                       help="allow a plain-http API URL that is not on this machine")
    login.set_defaults(handler=run_login, without_account=True)
    logout = commands.add_parser(
        "logout", help="revoke and forget the stored token",
        description="Ask put.io to revoke the token stored in the config file and remove it.")
    logout.add_argument("--insecure", action="store_true",
                        help="allow a plain-http API URL that is not on this machine")
    logout.set_defaults(handler=run_logout, without_account=True)


def run_login(args: argparse.Namespace, *, sleep: Callable[[float], None] = time.sleep,
              clock: Callable[[], float] = time.monotonic) -> int:
    if args.interval <= 0 or args.timeout <= 0:
        raise CommandError("--interval and --timeout must be positive numbers of seconds")
    settings = load_login_settings(insecure=args.insecure)
    if settings.api == "v1":
        raise CommandError("putiofs login signs in to the put.io API v2, but the config "
                           "says api = v1 (remove it, or set PUTIO_API=v2)")
    sign_in = open_sign_in(settings.api_url, timeout=CALL_TIMEOUT)
    try:
        if args.token is not None:
            token = _read_token()
        else:
            token = _device_flow(sign_in, args.app_id or settings.app_id, args.interval,
                                 args.timeout, sleep, clock)
        user = sign_in.who(token)
    finally:
        sign_in.close()
    if user is None:
        raise CommandError("put.io refused the token (check it, or run putiofs login "
                           "without --token)")
    path = store_token(token, path=settings.config_path)
    who = f" as {user}" if user else ""
    print(f"putiofs: signed in{who}; the token is stored in {path} (mode 0600)", flush=True)
    _note_environment(settings)
    return 0


def _read_token() -> str:
    """One token from standard input: typed without echo on a terminal, else the input's
    text (surrounding whitespace dropped)."""
    text = getpass.getpass("put.io token: ") if sys.stdin.isatty() else sys.stdin.read()
    token = text.strip()
    if not token:
        raise CommandError("no token on standard input")
    if any(ch.isspace() for ch in token):
        raise CommandError("expected one token on standard input, found several words")
    return token


def _device_flow(sign_in: SignIn, app_id: str, interval: float, timeout: float,
                 sleep: Callable[[float], None], clock: Callable[[], float]) -> str:
    code = sign_in.device_code(app_id, CLIENT_NAME)
    print("To sign in, open this link and approve putiofs:\n\n"
          f"    {code.link}\n\n"
          f"or enter this code at {LINK_PAGE}:\n\n"
          f"{code.code}\n\n"
          f"Waiting up to {timeout:g} s for your approval (Ctrl-C to stop)...", flush=True)
    until = clock() + timeout
    while True:
        try:
            token = sign_in.device_token(code.code)
        except NotFoundError:
            raise CommandError("the sign-in code expired before it was approved: run "
                               "putiofs login again") from None
        if token:
            return token
        left = until - clock()
        if left <= 0:
            raise CommandError(f"the code was not approved within {timeout:g} s: run "
                               "putiofs login again (or give it longer with --timeout)")
        sleep(min(interval, left))


def _note_environment(settings: LoginSettings) -> None:
    if settings.env_token:
        print(f"putiofs: note: {ENV_TOKEN} is set in this environment and is used before "
              "the stored token", flush=True)


def run_logout(args: argparse.Namespace) -> int:
    settings = load_login_settings(insecure=args.insecure)
    path = settings.config_path
    token = stored_token(path)
    if token is None:
        print(f"putiofs: no token is stored in {path}", flush=True)
        _note_environment(settings)
        return 0
    try:
        sign_in = open_sign_in(settings.api_url, timeout=CALL_TIMEOUT)
        try:
            sign_in.revoke(token)
        finally:
            sign_in.close()
        revoked = "revoked at put.io and "
    except PutioError as exc:
        print(f"putiofs: warning: could not revoke the token at put.io ({exc}); it is "
              "removed from this machine anyway", file=sys.stderr, flush=True)
        revoked = ""
    forget_token(path=path)
    print(f"putiofs: signed out: the token was {revoked}removed from {path}", flush=True)
    _note_environment(settings)
    return 0
