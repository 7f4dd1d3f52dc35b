"""The far-link profile's network: the emulator behind a veth pair in a network namespace,
both ends shaped by ``tc netem`` (a delay each way and a rate cap), made and removed here.

Where the latency applies: the emulator (API, uploads and storage URLs) listens on the
namespace's end of the pair, so every byte putiofs sends or fetches crosses the shaped link.
rclone's TLS CONNECT front runs on the host side, on loopback, and forwards to the same
address, so rclone's API calls cross the same link; its storage-URL fetches go straight to the
namespace address (``NO_PROXY``). TLS is thus terminated before the link for rclone, as plain
HTTP is for putiofs: neither pays handshake round trips that the other does not (on the real
put.io both would pay them alike). Traffic never leaves the machine: the pair has no route
anywhere else.

:func:`far_link` yields a :class:`FarLink`, or raises :class:`LinkUnavailable` saying why (not
root, no ``ip`` / ``tc``, no namespaces), so the caller can fall back to the emulator's
``--latency`` on loopback. A kernel without netem (``sch_netem``) but with ``tbf`` still gets the
namespace and the rate cap, and the delay from ``--latency`` (one round trip on every answer,
none on TCP handshakes): the link is then partly emulated, and the output says so.

The namespace is deleted on the way out whatever happened (Ctrl-C included); one left behind
by a killed run is removed before a new one is made.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

NAMESPACE = "putiofs-bench"
HOST_DEV, NS_DEV = "pfbench-h", "pfbench-n"
HOST_IP, NS_IP = "10.231.77.1", "10.231.77.2"


class LinkUnavailable(RuntimeError):
    """The namespace or netem cannot be made here; the message says why."""


@dataclass(frozen=True)
class FarLink:
    namespace: str
    host_ip: str
    ns_ip: str
    delay_ms: float
    rate_mbit: float
    netem: bool  # False: the kernel has no netem; the rate is capped by tbf, no delay added

    def describe(self) -> str:
        if not self.netem:
            return (f"veth + netns {self.namespace}: no netem in this kernel, so the rate is "
                    f"capped by tbf at {self.rate_mbit:g} Mbit/s each way and the delay comes "
                    f"from the emulator's --latency")
        return (f"veth + netns {self.namespace}: netem {self.delay_ms:g} ms each way "
                f"(RTT {2 * self.delay_ms:g} ms), {self.rate_mbit:g} Mbit/s each way")


def _run(*argv: str, netns: bool = False) -> None:
    if netns:
        argv = ("ip", "netns", "exec", NAMESPACE, *argv)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise LinkUnavailable(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")


def remove() -> None:
    """Delete the namespace (which deletes the veth pair) and any host end left behind."""
    subprocess.run(["ip", "netns", "del", NAMESPACE], capture_output=True, timeout=30,
                   check=False)
    subprocess.run(["ip", "link", "del", HOST_DEV], capture_output=True, timeout=30, check=False)


def _netem(delay_ms: float, rate_mbit: float) -> list[str]:
    # limit: packets queued; the default 1000 drops at 200 Mbit x 20 ms with small segments
    return ["netem", "delay", f"{delay_ms:g}ms", "rate", f"{rate_mbit:g}mbit", "limit", "20000"]


def _tbf(rate_mbit: float) -> list[str]:
    return ["tbf", "rate", f"{rate_mbit:g}mbit", "burst", "256kb", "latency", "200ms"]


@contextlib.contextmanager
def far_link(delay_ms: float = 20.0, rate_mbit: float = 200.0) -> Iterator[FarLink]:
    if os.geteuid() != 0:
        raise LinkUnavailable("not root: network namespaces and tc need root")
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            raise LinkUnavailable(f"{tool} not found (apt-get install iproute2)")
    remove()
    try:
        _run("ip", "netns", "add", NAMESPACE)
        _run("ip", "link", "add", HOST_DEV, "type", "veth", "peer", "name", NS_DEV,
             "netns", NAMESPACE)
        _run("ip", "addr", "add", f"{HOST_IP}/30", "dev", HOST_DEV)
        _run("ip", "link", "set", HOST_DEV, "up")
        _run("ip", "link", "set", "lo", "up", netns=True)
        _run("ip", "addr", "add", f"{NS_IP}/30", "dev", NS_DEV, netns=True)
        _run("ip", "link", "set", NS_DEV, "up", netns=True)
        netem = True
        try:
            _run("tc", "qdisc", "add", "dev", HOST_DEV, "root", *_netem(delay_ms, rate_mbit))
        except LinkUnavailable:
            netem = False  # e.g. "Specified qdisc kind is unknown": no sch_netem
        shape = _netem(delay_ms, rate_mbit) if netem else _tbf(rate_mbit)
        if not netem:
            _run("tc", "qdisc", "add", "dev", HOST_DEV, "root", *shape)
        _run("tc", "qdisc", "add", "dev", NS_DEV, "root", *shape, netns=True)
    except (LinkUnavailable, OSError, subprocess.TimeoutExpired) as exc:
        remove()
        raise LinkUnavailable(str(exc)) from None
    try:
        yield FarLink(NAMESPACE, HOST_IP, NS_IP, delay_ms, rate_mbit, netem)
    finally:
        remove()
