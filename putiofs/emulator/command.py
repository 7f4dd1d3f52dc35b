"""The ``putiofs emulator`` command: serve the emulator until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from putiofs.emulator.http.faults import RATES, Faults, RandomFaults
from putiofs.emulator.options import DIALECTS, SERVED_VERSIONS, EmulatorOptions
from putiofs.emulator.server import EmulatorServer
from putiofs.emulator.stop_signals import StopSignals

#: The fault options in the order ``--help`` lists them: (flag, the :class:`RandomFaults`
#: setting it gives, default, metavar, help).
_FAULT_OPTIONS = (
    ("--fault-5xx", "error_5xx", 0.0, "RATE",
     "answer 500 or 503 to this share of API and data requests"),
    ("--fault-429", "error_429", 0.0, "RATE",
     "answer 429 (with Retry-After) to this share of requests"),
    ("--retry-after", "retry_after", 1.0, "S", "the Retry-After sent with a 429 (default 1)"),
    ("--latency", "latency", 0.0, "S", "delay every answer by this many seconds"),
    ("--fault-drop", "drop", 0.0, "RATE",
     "close this share of file downloads part-way through the body"),
    ("--fault-stall", "stall", 0.0, "RATE",
     "stop sending this share of file downloads part-way, then close"),
    ("--stall-seconds", "stall_seconds", 5.0, "S",
     "how long a stalled download stays silent (default 5)"),
    ("--fault-malformed", "malformed", 0.0, "RATE",
     "truncate the JSON of this share of API answers"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's options to ``parser`` (defaults: those of :class:`EmulatorOptions`,
    but for the port)."""
    defaults = EmulatorOptions
    parser.add_argument("--api", choices=SERVED_VERSIONS, default=defaults.api,
                        help=f"the API version to serve (default {defaults.api})")
    parser.add_argument("--host", default=defaults.host, help="address to listen on")
    parser.add_argument("--port", type=int, default=8765, help="port (0: any free port)")
    seed = parser.add_mutually_exclusive_group()
    seed.add_argument("--data", type=Path, metavar="DIR",
                      help="seed the account from this directory (bytes read lazily)")
    seed.add_argument("--demo", action="store_true", help="seed the built-in demo library")
    parser.add_argument("--dialect", choices=DIALECTS, default=defaults.dialect,
                        help="doc: as the API document says; legacy: as the live v1 server did")
    parser.add_argument("--token-ttl", type=float, default=defaults.token_ttl, metavar="S",
                        help="seconds a stream token stays valid")
    parser.add_argument("--redirect", action="store_true",
                        help="download and stream URLs answer 302 to a separate data path")
    parser.add_argument("--transfer-seconds", type=float, default=defaults.transfer_seconds,
                        metavar="S",
                        help="how long a transfer (v2 also: a zip, an mp4) takes to finish")
    parser.add_argument("--url-ttl", type=float, default=defaults.url_ttl, metavar="S",
                        help="v2: seconds a storage URL stays valid")
    faults = parser.add_argument_group(
        "fault injection", "rates are probabilities from 0 to 1, drawn from one seeded generator")
    for flag, setting, default, metavar, text in _FAULT_OPTIONS:
        faults.add_argument(flag, dest=setting, type=float, default=default, metavar=metavar,
                            help=text)
    faults.add_argument("--seed", type=int, default=None, metavar="N",
                        help="seed of the fault generator, to replay a run's faults")


def faults_from_args(args: argparse.Namespace) -> Faults:
    """The fault policy the options ask for: none, or :class:`RandomFaults`."""
    settings = {setting: getattr(args, setting) for _, setting, *_ in _FAULT_OPTIONS}
    if not any(settings[name] for name in (*RATES, "latency")):
        return Faults()
    return RandomFaults(**settings, seed=args.seed)


def _announce(server: EmulatorServer) -> None:
    """Say where the emulator listens and how to sign in (the credentials of a test tool)."""
    options = server.options
    if options.api == "v2":
        print(f"put.io v2 emulator listening on {server.base_url} (uploads: "
              f"{server.root_url}/files/ and {server.base_url}/files/upload)", flush=True)
        print(f"PUTIO_API_URL={server.base_url}", flush=True)
        print(f"PUTIO_TOKEN={options.token}", flush=True)
        return
    print(f"put.io v1 emulator ({options.dialect} dialect) listening on {server.base_url}",
          flush=True)
    print(f"PUTIO_API_URL={server.base_url}", flush=True)
    print(f"api_key={options.api_key} api_secret={options.api_secret}", flush=True)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; 0 on a clean stop."""
    try:
        options = EmulatorOptions(
            host=args.host,
            port=args.port,
            api_key=os.environ.get("PUTIO_API_KEY", "demo"),
            api_secret=os.environ.get("PUTIO_API_SECRET", "demo"),
            dialect=args.dialect,
            token_ttl=args.token_ttl,
            redirect=args.redirect,
            data_dir=args.data,
            demo=args.demo,
            transfer_seconds=args.transfer_seconds,
            faults=faults_from_args(args),
            api=args.api,
            token=os.environ.get("PUTIO_TOKEN") or "demo-token",
            url_ttl=args.url_ttl,
        )
        server = EmulatorServer(options)
        server.start()
    except (OSError, ValueError) as exc:
        print(f"putiofs emulator: {exc}", file=sys.stderr)
        return 1
    with StopSignals() as stop:
        try:
            _announce(server)
            if isinstance(options.faults, RandomFaults):
                print(f"injecting faults: {options.faults!r} seed={args.seed}", flush=True)
            if server.socket_url:  # last: scripts read the lines above by position
                print(f"PUTIO_SOCKET_URL={server.socket_url}", flush=True)
            if options.api == "v2":  # else writes through a mount would go to upload.put.io
                print(f"PUTIO_UPLOAD_URL={server.root_url}", flush=True)
            stop.wait()
        finally:
            server.stop()
    print("emulator stopped", flush=True)
    return 0
