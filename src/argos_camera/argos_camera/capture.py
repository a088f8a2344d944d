"""The capture loop's bookkeeping, without ROS: frame numbers, stamps, end of stream, counters."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from argos_common.frame import Frame

from .source_types import FrameSource

MAX_CONSECUTIVE_FAILURES = 30
RATE_WINDOW = 30


class Capture:
    """Pulls frames from a FrameSource and turns them into numbered, stamped Frames.

    `clock_ns` supplies the capture stamp (the node passes its ROS clock). A read that raises
    counts as a failure; after MAX_CONSECUTIVE_FAILURES in a row the stream is ended.
    """

    def __init__(self, source: FrameSource, clock_ns: Callable[[], int], frame_id: str):
        self.source = source
        self.clock_ns = clock_ns
        self.frame_id = frame_id
        self.frames = 0
        self.failures = 0
        self.finished = False
        self.end_reason = ""
        self._consecutive_failures = 0
        self._next_number = 0
        self._stamps: deque[int] = deque(maxlen=RATE_WINDOW)
        self._lock = threading.Lock()

    def grab(self) -> Frame | None:
        """The next frame, or None (end of stream, or a failed read)."""
        if self.finished:
            return None
        try:
            item = self.source.read()
        except Exception as exc:  # a source error must not kill the node; it is counted and reported
            with self._lock:
                self.failures += 1
                self._consecutive_failures += 1
                if self._consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
                    self.finished, self.end_reason = True, f"{self._consecutive_failures} failed reads in a row: {exc}"
            return None
        if item is None:
            with self._lock:
                self.finished, self.end_reason = True, "end of stream"
            return None
        image, extras = item
        stamp = int(self.clock_ns())
        with self._lock:
            self._consecutive_failures = 0
            number = self._next_number
            self._next_number += 1
            self.frames += 1
            self._stamps.append(stamp)
        return Frame(image=image, stamp_ns=stamp, capture_index=number, frame_id=self.frame_id, extras=extras)

    def measured_fps(self) -> float:
        """Frame rate over the last RATE_WINDOW frames, by their stamps."""
        with self._lock:
            if len(self._stamps) < 2 or self._stamps[-1] <= self._stamps[0]:
                return 0.0
            return (len(self._stamps) - 1) * 1e9 / (self._stamps[-1] - self._stamps[0])

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "frames": self.frames,
                "failures": self.failures,
                "finished": self.finished,
                "end_reason": self.end_reason,
            }
