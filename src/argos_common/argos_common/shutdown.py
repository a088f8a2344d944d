"""SIGINT and SIGTERM as an orderly stop, for every ARGOS process (a node on its own, the composed
container, `argos run`, the collector).

The first signal only records the request (`requested`); the process's own loop notices it, stops
producing, lets work in flight finish and tears down. During teardown both signals are blocked
(`teardown()`): launch sends SIGINT to every process it started and a terminal's Ctrl-C reaches
the whole process group, so a second signal must not interrupt a node halfway through closing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    def __init__(self):
        self._event = threading.Event()
        self._wakeups: list[Callable[[], None]] = []
        self.signal: int | None = None

    def install(self) -> StopSignals:
        """Handle SIGINT and SIGTERM from now on (main thread only, as Python requires)."""
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_signal)
        return self

    def on_stop(self, wake: Callable[[], None]) -> None:
        """Call `wake` when a stop is requested (e.g. to wake a waiting executor)."""
        self._wakeups.append(wake)

    def _on_signal(self, signum, _frame) -> None:
        self.request(signum)

    def request(self, signum: int | None = None) -> None:
        if self._event.is_set():
            return
        self.signal = signum
        self._event.set()
        for wake in self._wakeups:
            wake()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)


@contextmanager
def signals_blocked() -> Iterator[None]:
    """SIGINT/SIGTERM held back for the duration (delivered, if pending, when the block ends):
    around building something that must be closed, and around teardown."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
