"""MOT scores of one tracker output against one ground truth: MOTA, IDF1 (motmetrics) and HOTA
(trackeval), from frames fed one at a time.

motmetrics 1.4.0 (the newest on PyPI) calls np.asfarray, removed in numpy 2, in its IoU
distance helper; everything else works. So the IoU matrix is computed here (the IoU the tracker
uses) and handed to motmetrics' MOTAccumulator with the usual MOT Challenge match threshold
(IoU 0.5). HOTA is trackeval's: it averages over IoU thresholds 0.05 ... 0.95, so it is given the
unthresholded IoU; trackeval 1.3.0's metrics, called directly on a sequence, need the
`num_timesteps` key its dataset loaders would otherwise add.
"""

from __future__ import annotations

import warnings

import numpy as np

from argos_common.geometry import iou_matrix

MATCH_IOU = 0.5
METRICS = ("mota", "idf1", "num_switches", "num_false_positives", "num_misses", "num_objects")


class MotScore:
    def __init__(self, name: str = "sequence"):
        import motmetrics as mm

        self.name = name
        self._acc = mm.MOTAccumulator(auto_id=False)
        self._frames: list[tuple[list, list, np.ndarray]] = []  # (gt ids, hyp ids, IoU) per frame
        # motmetrics wants numeric ids; the synthetic scene's are strings ("gt-1")
        self._gt_index: dict = {}
        self._hyp_index: dict = {}

    def add(self, frame: int, gt_ids, gt_boxes, hyp_ids, hyp_boxes) -> None:
        """One frame: ground-truth and tracker ids (any hashable) with their x1 y1 x2 y2 boxes."""
        gt_boxes = np.asarray(gt_boxes, np.float64).reshape(-1, 4)
        hyp_boxes = np.asarray(hyp_boxes, np.float64).reshape(-1, 4)
        iou = iou_matrix(gt_boxes, hyp_boxes)
        gts = [self._gt_index.setdefault(i, len(self._gt_index)) for i in gt_ids]
        hyps = [self._hyp_index.setdefault(i, len(self._hyp_index)) for i in hyp_ids]
        self._acc.update(gts, hyps, np.where(iou >= MATCH_IOU, 1.0 - iou, np.nan), frameid=frame)
        self._frames.append((gts, hyps, iou))

    def compute(self) -> dict[str, float]:
        import motmetrics as mm

        summary = mm.metrics.create().compute(self._acc, metrics=list(METRICS), name=self.name)
        out = {k: float(summary[k].iloc[0]) for k in METRICS}
        out.update(self.hota())
        return out

    def trackeval_data(self) -> dict:
        """The sequence in trackeval's per-sequence form (ids renumbered 0..n-1 as it requires)."""
        gt_index: dict = {}
        hyp_index: dict = {}
        gt_ids, hyp_ids, similarity = [], [], []
        for gts, hyps, iou in self._frames:
            gt_ids.append(np.array([gt_index.setdefault(i, len(gt_index)) for i in gts], dtype=int))
            hyp_ids.append(np.array([hyp_index.setdefault(i, len(hyp_index)) for i in hyps], dtype=int))
            similarity.append(iou)
        return {
            "num_timesteps": len(self._frames),
            "num_gt_ids": len(gt_index),
            "num_tracker_ids": len(hyp_index),
            "num_gt_dets": int(sum(len(g) for g in gt_ids)),
            "num_tracker_dets": int(sum(len(h) for h in hyp_ids)),
            "gt_ids": gt_ids,
            "tracker_ids": hyp_ids,
            "similarity_scores": similarity,
        }

    def hota(self) -> dict[str, float]:
        """HOTA, DetA and AssA (each the mean over trackeval's 19 IoU thresholds)."""
        res = _trackeval().metrics.HOTA().eval_sequence(self.trackeval_data())
        return {
            "hota": float(np.mean(res["HOTA"])),
            "deta": float(np.mean(res["DetA"])),
            "assa": float(np.mean(res["AssA"])),
        }


def _trackeval():
    import contextlib
    import io

    # its import prints that pycocotools is missing (only its BURST/TAO datasets use it)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        import trackeval
    return trackeval
