"""What every frame source offers, and the error a bad `source` parameter raises."""

from __future__ import annotations

from typing import Any

import numpy as np

from argos_common.params import ConfigError


class SourceError(ConfigError):
    """A source cannot be opened or read; `key` names the parameter (a ValueError, via ConfigError)."""

    def __init__(self, problem: str, key: str = "source"):
        super().__init__(key, problem)


class SourceState:
    """What a source reports (CameraNode.stats()["state"], later /diagnostics)."""

    CONNECTING = "connecting"  # opening; no frame yet
    STREAMING = "streaming"  # frames arrive
    RECONNECTING = "reconnecting"  # lost (error, stall, end of a live stream); retrying with backoff
    ENDED = "ended"  # end of file (no loop) or closed
    FAILED = "failed"  # cannot continue (e.g. a file error before any frame)


class FrameSource:
    """read() -> (BGR image, extras) or None at end of stream; fps and size (width, height).

    Sources with `paces_itself` deliver frames at their own rate: read() blocks until the next
    frame (or the end) and the node calls it from a capture thread instead of a timer.
    """

    uri: str = ""
    fps: float = 0.0
    size: tuple[int, int] = (0, 0)
    paces_itself: bool = False

    def read(self) -> tuple[np.ndarray, dict[str, Any]] | None:
        raise NotImplementedError

    def ground_truth_totals(self) -> dict[tuple[str, str, str], int]:
        """Ground-truth crossings per (line, label, direction) so far; {} for real cameras."""
        return {}

    def status(self) -> dict[str, Any]:
        """State and counters beyond what Capture counts itself (dropped, corrupt, reconnects)."""
        return {}

    def close(self) -> None:
        pass
