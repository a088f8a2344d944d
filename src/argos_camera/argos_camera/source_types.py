"""What every frame source offers, and the error a bad `source` parameter raises."""
from __future__ import annotations

from typing import Any

import numpy as np

from argos_common.params import ConfigError


class SourceError(ConfigError):
    """A source cannot be opened or read; `key` names the parameter (a ValueError, via ConfigError)."""

    def __init__(self, problem: str, key: str = "source"):
        super().__init__(key, problem)


class FrameSource:
    """read() -> (BGR image, extras) or None at end of stream; fps and size (width, height)."""

    uri: str = ""
    fps: float = 0.0
    size: tuple[int, int] = (0, 0)

    def read(self) -> tuple[np.ndarray, dict[str, Any]] | None:
        raise NotImplementedError

    def ground_truth_totals(self) -> dict[tuple[str, str, str], int]:
        """Ground-truth crossings per (line, label, direction) so far; {} for real cameras."""
        return {}

    def close(self) -> None:
        pass
