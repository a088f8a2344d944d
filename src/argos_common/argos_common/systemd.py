"""The systemd service protocol (sd_notify), for units of `Type=notify` with a watchdog.

A datagram to the socket in $NOTIFY_SOCKET says READY=1 once the graph runs, WATCHDOG=1 while it
is healthy (here: while frames flow) and STOPPING=1 on the way out; with `WatchdogSec=` set, systemd
restarts a process that stops feeding the watchdog. Without $NOTIFY_SOCKET (not under systemd)
every call is a no-op. The protocol is one line per datagram: no library needed.
"""

from __future__ import annotations

import os
import socket
import time


def notify(state: str) -> bool:
    """Send `state` (e.g. "READY=1") to systemd; False when not run by systemd with notify."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)  # a listener that stopped reading must never stall the graph
            sock.connect(address)
            sock.send(state.encode())
    except OSError:
        return False
    return True


def watchdog_interval_s() -> float | None:
    """The watchdog period systemd expects (WatchdogSec=), if it is for this process."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 1e6
    except ValueError:
        return None


class Watchdog:
    """Feeds systemd's watchdog at half its period, but only while `progress` keeps growing (frames
    captured): a graph that runs but sees no frames is not healthy, and systemd restarts it."""

    def __init__(self, clock=time.monotonic):
        self.interval_s = watchdog_interval_s()
        self._clock = clock
        self._next = 0.0
        self._last_progress: int | None = None
        self.fed = 0

    def poll(self, progress: int) -> None:
        if self.interval_s is None:
            return
        now = self._clock()
        if now < self._next:
            return
        self._next = now + self.interval_s / 2
        if self._last_progress is not None and progress > self._last_progress and notify("WATCHDOG=1"):
            self.fed += 1
        self._last_progress = progress
