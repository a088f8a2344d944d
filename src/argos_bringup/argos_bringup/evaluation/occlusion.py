"""Identity through occlusions: ID switches per 100 occlusion events, from the scene's ground truth.

An occlusion event is a ground-truth object that was seen (visible fraction >= `visible` and
matched by a reported track, IoU >= MATCH_IOU), then hidden (visible fraction < `hidden`) for at
least one frame, then visible again. Its outcome is decided at the first frame within `window`
frames after it is visible again in which a reported track matches it: the same track id as
before the occlusion (kept), another id (switch), or no match in the window (lost). An event is
"by a vehicle" when, while hidden, the object's box is mostly covered (`cover`) by the box of
another ground-truth object nearer the camera (its box's bottom edge lower in the image: the
depth order of a camera looking down at the road), else by a static occluder (a tree).

Matching per frame is the optimal IoU assignment, as the MOT scores' (scoring.MotScore).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from argos_common.geometry import iou_matrix

from .scoring import MATCH_IOU

KEPT, SWITCH, LOST = "kept", "switch", "lost"


@dataclass
class _Object:
    track_id: str | None = None  # the id that matched it last while it was visible
    hidden_frames: int = 0  # > 0: inside an occlusion
    by_vehicle: bool = False
    waiting: int = 0  # > 0: visible again, frames left to find its track


@dataclass
class OcclusionEvents:
    hidden: float = 0.3
    visible: float = 0.5
    window: int = 15
    cover: float = 0.5
    outcomes: Counter = field(default_factory=Counter)  # (by, outcome) -> events
    _objects: dict[str, _Object] = field(default_factory=dict)

    def add(self, gt_ids, gt_boxes, visible_fraction, hyp_ids, hyp_boxes) -> None:
        gt_boxes = np.asarray(gt_boxes, np.float64).reshape(-1, 4)
        hyp_boxes = np.asarray(hyp_boxes, np.float64).reshape(-1, 4)
        matched = _matches(gt_boxes, hyp_boxes)
        covered = _covered_by_nearer(gt_boxes) >= self.cover
        present = set()
        for i, gid in enumerate(gt_ids):
            present.add(gid)
            obj = self._objects.setdefault(gid, _Object())
            hyp = str(hyp_ids[matched[i]]) if matched[i] >= 0 else None
            seen = float(visible_fraction[i])
            if obj.hidden_frames and seen >= self.visible:
                obj.hidden_frames, obj.waiting = 0, self.window
            if seen < self.hidden and obj.track_id is not None and not obj.waiting:
                obj.hidden_frames += 1
                obj.by_vehicle = obj.by_vehicle or bool(covered[i])
                continue
            if obj.waiting:
                if hyp is not None:
                    self._close(obj, KEPT if hyp == obj.track_id else SWITCH)
                else:
                    obj.waiting -= 1
                    if not obj.waiting:
                        self._close(obj, LOST)
            if hyp is not None and seen >= self.visible and not obj.hidden_frames:
                obj.track_id = hyp
        for gid in [g for g in self._objects if g not in present]:
            del self._objects[gid]  # left the scene: an open event is not judged

    def _close(self, obj: _Object, outcome: str) -> None:
        self.outcomes[("vehicle" if obj.by_vehicle else "static", outcome)] += 1
        obj.waiting, obj.by_vehicle = 0, False

    def summary(self) -> dict[str, float | None]:
        """Events and, per 100 of them, switches and losses (None without events); by vehicles
        and in all."""
        out: dict[str, float | None] = {}
        for by in ("vehicle", "all"):
            n = Counter()
            for (who, outcome), k in self.outcomes.items():
                if by == "all" or who == by:
                    n[outcome] += k
            events = sum(n.values())
            out[f"{by}_events"] = events
            out[f"{by}_switches_per_100"] = 100.0 * n[SWITCH] / events if events else None
            out[f"{by}_lost_per_100"] = 100.0 * n[LOST] / events if events else None
        return out


def _matches(gt_boxes: np.ndarray, hyp_boxes: np.ndarray) -> np.ndarray:
    """For each ground-truth box the index of its matched reported box, or -1."""
    out = np.full(len(gt_boxes), -1, dtype=int)
    if not len(gt_boxes) or not len(hyp_boxes):
        return out
    iou = iou_matrix(gt_boxes, hyp_boxes)
    rows, cols = linear_sum_assignment(-iou)
    good = iou[rows, cols] >= MATCH_IOU
    out[rows[good]] = cols[good]
    return out


def _covered_by_nearer(boxes: np.ndarray) -> np.ndarray:
    """Per box, the largest fraction of its area covered by one box whose bottom edge is lower."""
    if len(boxes) < 2:
        return np.zeros(len(boxes))
    x1, y1, x2, y2 = (boxes[:, k] for k in range(4))
    w = np.clip(np.minimum(x2[:, None], x2[None, :]) - np.maximum(x1[:, None], x1[None, :]), 0, None)
    h = np.clip(np.minimum(y2[:, None], y2[None, :]) - np.maximum(y1[:, None], y1[None, :]), 0, None)
    area = np.maximum((x2 - x1) * (y2 - y1), 1e-9)
    cover = w * h / area[:, None]  # [i, j]: share of box i under box j
    cover[~(y2[None, :] > y2[:, None])] = 0.0
    return cover.max(axis=1)
