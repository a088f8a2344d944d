"""In-process frame hand-off between the camera and inference nodes of a composed graph.

A single-slot, keep-latest mailbox: the producer never blocks and never queues more than one
frame; when the consumer is slower, the older frame is replaced and counted as dropped. This is
the back-pressure policy of the composed pipeline (latency stays bounded; throughput adapts).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    def __init__(self):
        self._lock = threading.Lock()
        self._item: T | None = None
        self._notify: Callable[[], None] | None = None
        self.put_count = 0
        self.dropped = 0

    def on_put(self, notify: Callable[[], None]) -> None:
        """Register the consumer's wake-up (e.g. an rclpy guard condition's trigger)."""
        self._notify = notify

    def put(self, item: T) -> bool:
        """Store `item`; returns True when it replaced a frame the consumer never took."""
        with self._lock:
            replaced = self._item is not None
            self._item = item
            self.put_count += 1
            if replaced:
                self.dropped += 1
        if self._notify is not None:
            self._notify()
        return replaced

    def empty(self) -> bool:
        """True when the consumer has taken the last frame (producers pacing on downstream)."""
        with self._lock:
            return self._item is None

    def take(self) -> T | None:
        with self._lock:
            item, self._item = self._item, None
        return item


class FanOut(Generic[T]):
    """Puts each frame into several slots (inference and annotator); pacing (`empty`), wake-ups
    and drop counts are those of the first, the inference's."""

    def __init__(self, primary: LatestSlot[T], *others: LatestSlot[T]):
        self.primary = primary
        self.others = others

    def put(self, item: T) -> bool:
        for slot in self.others:
            slot.put(item)
        return self.primary.put(item)

    def empty(self) -> bool:
        return self.primary.empty()

    def on_put(self, notify: Callable[[], None]) -> None:
        self.primary.on_put(notify)

    @property
    def dropped(self) -> int:
        return self.primary.dropped
