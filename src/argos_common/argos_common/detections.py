"""The detection/track record passed between ARGOS cores (no ROS types)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Detections:
    """N boxes of one frame, in source-image pixels.

    boxes: (N, 4) float32, x1 y1 x2 y2.  scores: (N,) float32 in [0, 1].
    labels: N class labels (strings from the configured class list).
    ids: N object ids ("" when untracked): track ids from the tracker, object ids in ground truth.
    """

    boxes: np.ndarray
    scores: np.ndarray
    labels: list[str]
    ids: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4)
        self.scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
        self.labels = list(self.labels)
        if not self.ids:
            self.ids = [""] * len(self.labels)
        n = len(self.boxes)
        if not (len(self.scores) == len(self.labels) == len(self.ids) == n):
            raise ValueError(
                f"Detections fields disagree in length: boxes {n}, scores {len(self.scores)}, "
                f"labels {len(self.labels)}, ids {len(self.ids)}"
            )

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), [], [])

    def __len__(self) -> int:
        return len(self.boxes)
