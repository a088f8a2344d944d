"""MOT metrics (MOTA, IDF1, HOTA, ID switches, FP, FN) on the ground truth motmetrics ships
(scored by scoring.MotScore)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from argos_common.detections import Detections

from .perturb import Perturbation, Perturber
from .scoring import MATCH_IOU, MotScore

__all__ = ["MATCH_IOU", "SEQUENCES", "evaluate", "load_sequence", "detections_for"]

SEQUENCES = ("TUD-Campus", "TUD-Stadtmitte")
SEQUENCE_FPS = 25.0  # both TUD sequences: 640 x 480 at 25 frames per second
SEQUENCE_SIZE = (640, 480)
LABEL = "pedestrian"
# the seeded perturbation applied to the ground truth (see perturb.py)
MOT_PERTURBATION = Perturbation(
    position_noise=0.04,
    size_noise=0.05,
    miss_rate=0.08,
    burst_rate=0.01,
    burst_frames=(5, 15),
    low_score_rate=0.15,
    false_positives_per_frame=0.5,
)


@dataclass
class Sequence:
    name: str
    frames: list[int]
    truth: dict[int, tuple[np.ndarray, list[int]]]  # frame -> (x1 y1 x2 y2 boxes, ids)


def load_sequence(name: str) -> Sequence:
    import motmetrics as mm

    path = os.path.join(os.path.dirname(mm.__file__), "data", name, "gt.txt")
    table = mm.io.loadtxt(path, fmt="mot15-2D", min_confidence=1)
    truth = {}
    for frame, rows in table.groupby(level=0):
        xywh = rows[["X", "Y", "Width", "Height"]].to_numpy(np.float64)
        boxes = np.c_[xywh[:, :2], xywh[:, :2] + xywh[:, 2:]]
        truth[int(frame)] = (boxes, [int(i) for i in rows.index.get_level_values(1)])
    frames = list(range(min(truth), max(truth) + 1))
    return Sequence(name, frames, truth)


def detections_for(seq: Sequence, perturbation: Perturbation, seed: int) -> list[Detections]:
    perturber = Perturber(perturbation, seed, SEQUENCE_SIZE, [LABEL])
    out = []
    for frame in seq.frames:
        boxes, ids = seq.truth.get(frame, (np.zeros((0, 4)), []))
        truth = Detections(
            boxes.astype(np.float32), np.ones(len(ids), np.float32), [LABEL] * len(ids), [str(i) for i in ids]
        )
        out.append(perturber(truth))
    return out


def evaluate(seq: Sequence, detections: list[Detections], make_tracker) -> dict[str, float]:
    """Run a fresh tracker (make_tracker() -> object with update(dets, stamp_ns) and
    confirmed_detections(), see pipeline.TrackerLike) and score what it reports for each frame
    (what the node publishes on `tracks`) against the ground truth."""
    tracker = make_tracker()
    score = MotScore(seq.name)
    for frame, dets in zip(seq.frames, detections):
        tracker.update(dets, int(round(frame / SEQUENCE_FPS * 1e9)))
        shown = tracker.confirmed_detections()
        gt_boxes, gt_ids = seq.truth.get(frame, (np.zeros((0, 4)), []))
        score.add(frame, gt_ids, gt_boxes, [int(i) for i in shown.ids], shown.boxes)
    return score.compute()
