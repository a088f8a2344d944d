"""A captured frame as it travels inside one process (by reference, never serialized)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Frame:
    image: np.ndarray  # H x W x 3 uint8, BGR
    stamp_ns: int  # capture time (ROS clock, ns since epoch); becomes header.stamp
    capture_index: int  # 0-based index of the frame in its source, in capture order
    frame_id: str = "camera"
    extras: dict = field(default_factory=dict)  # e.g. ground truth of a synthetic frame
