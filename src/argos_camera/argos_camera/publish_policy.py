"""When camera/image_raw is published: subscriber-driven (auto), always or never, optionally rate-capped.

Serializing a 1080p frame costs several milliseconds in rclpy, so in the composed process the
topic is only fed while someone listens, and a debug rate keeps a viewer from costing that per frame.
"""

from __future__ import annotations


class ImagePublishPolicy:
    def __init__(self, mode: str, debug_rate_hz: float = 0.0):
        if mode not in ("auto", "always", "never"):
            raise ValueError(f"image_publish: unknown mode {mode!r}")
        self.mode = mode
        self.min_interval_ns = int(1e9 / debug_rate_hz) if debug_rate_hz > 0 else 0
        self._due_ns: int | None = None

    def should_publish(self, now_ns: int, subscribers: int) -> bool:
        """Decide for one frame; a True answer counts as published for the rate cap."""
        if self.mode == "never" or (self.mode == "auto" and subscribers == 0):
            return False
        if not self.min_interval_ns:
            return True
        # Frames arrive with jitter: a frame a little early for its slot still takes it (else a 5 Hz
        # cap on a 15 FPS stream would publish every 4th frame); the schedule never runs ahead of time.
        if self._due_ns is not None and now_ns < self._due_ns - self.min_interval_ns // 10:
            return False
        start = now_ns if self._due_ns is None or now_ns - self._due_ns > self.min_interval_ns else self._due_ns
        self._due_ns = start + self.min_interval_ns
        return True
