"""Candidates -> final detections: per-class score thresholds, class-aware NMS, top-k.

NMS is OpenCV's batched (class-aware) NMS: boxes of different classes never suppress each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .decoders import Candidates


@dataclass(frozen=True)
class PostProcess:
    class_thresholds: np.ndarray  # (C,) minimum score per model class index
    iou_threshold: float = 0.45
    max_detections: int = 300
    nms: bool = True

    def __call__(self, candidates: Candidates) -> Candidates:
        ids = candidates.class_ids
        known = (ids >= 0) & (ids < len(self.class_thresholds))
        if not known.all():
            bad = sorted(set(ids[~known].tolist()))[:5]
            raise ValueError(
                f"model produced class indices {bad} outside the class map (0..{len(self.class_thresholds) - 1})"
            )
        boxes = candidates.boxes
        keep = (
            (candidates.scores >= self.class_thresholds[ids])
            & (boxes[:, 2] > boxes[:, 0])
            & (boxes[:, 3] > boxes[:, 1])
        )
        kept = candidates.select(keep)
        if len(kept) == 0:
            return kept
        order = np.argsort(-kept.scores, kind="stable")
        if self.nms:
            xywh = np.concatenate([kept.boxes[:, :2], kept.boxes[:, 2:] - kept.boxes[:, :2]], axis=1)
            # cv2's stubs name Sequences here; OpenCV takes the arrays as they are
            survivors = np.asarray(
                cv2.dnn.NMSBoxesBatched(
                    xywh.astype(np.float64),  # type: ignore[arg-type]
                    kept.scores.astype(np.float32),  # type: ignore[arg-type]
                    kept.class_ids.astype(np.int32),  # type: ignore[arg-type]
                    -1.0,
                    float(self.iou_threshold),
                ),
                dtype=np.int64,
            ).reshape(-1)
            order = survivors[np.argsort(-kept.scores[survivors], kind="stable")]
        return kept.select(order[: self.max_detections])
