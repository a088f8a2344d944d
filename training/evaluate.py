"""Decode, NMS and mAP@0.5 for the argos-traffic detector (numpy only; no torch).

`decode_yolov8` turns the one model output [1, 4 + C, N] (cx, cy, w, h in input pixels, sigmoid
class scores) into boxes / scores / classes after a confidence threshold and class-wise NMS.
`average_precision` / `evaluate_detections` compute per-class AP at IoU 0.5 (all-point
interpolated precision envelope, as in PASCAL VOC 2010+ / COCO at a single IoU), with ignore
boxes: a detection whose best match is an ignore box (too occluded or tiny, see
training.dataset.LabelRules) is neither a true nor a false positive.

CLI (ONNX model on a rendered split, ONNX Runtime CPU):
    python -m training.evaluate --model models/argos-traffic-v1.onnx --data runs/data/val
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT / "src" / "argos_common") not in sys.path:  # run from a checkout without the workspace
    sys.path.append(str(_ROOT / "src" / "argos_common"))

from argos_common.geometry import iou_matrix  # noqa: E402

# -- boxes ----------------------------------------------------------------------------------


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.5) -> np.ndarray:
    """Greedy NMS; indices of kept boxes, highest score first."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores), kind="stable")
    x1, y1, x2, y2 = boxes.T
    areas = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        h = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = w * h
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.array(keep, np.int64)


def batched_nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou_threshold: float = 0.5) -> np.ndarray:
    """Class-wise NMS (boxes of different classes never suppress each other)."""
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    offset = (np.asarray(classes, np.float32) * (float(np.max(boxes)) + 1.0))[:, None]
    return nms(boxes + offset, scores, iou_threshold)


def decode_yolov8(
    output: np.ndarray,
    conf_threshold: float = 0.25,
    iou_threshold: float = 0.5,
    max_det: int = 300,
    class_agnostic: bool = False,
    max_candidates: int = 2000,
):
    """[1, 4 + C, N] or [4 + C, N] -> (boxes (K, 4) x1 y1 x2 y2 input px, scores (K,), classes (K,)).
    One class per anchor (its best); the `max_candidates` best anchors above the threshold go to NMS."""
    out = np.asarray(output, np.float32)
    if out.ndim == 3:
        out = out[0]
    cls_scores = out[4:]
    classes = cls_scores.argmax(0)
    scores = cls_scores[classes, np.arange(out.shape[1])]
    keep = np.flatnonzero(scores >= conf_threshold)
    if keep.size > max_candidates:
        keep = keep[np.argsort(-scores[keep], kind="stable")[:max_candidates]]
    cx, cy, w, h = out[:4, keep]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    scores, classes = scores[keep], classes[keep]
    if class_agnostic:
        idx = nms(boxes, scores, iou_threshold)
    else:
        idx = batched_nms(boxes, scores, classes, iou_threshold)
    idx = idx[:max_det]
    return boxes[idx], scores[idx], classes[idx].astype(np.int64)


# -- matching and AP ------------------------------------------------------------------------
def match_image(det_boxes, det_scores, gt_boxes, gt_ignore, iou_threshold: float = 0.5):
    """Greedy matching of one image and one class, detections by descending score.
    Returns per detection: 1 true positive, 0 false positive, -1 ignored (no free real box at
    IoU >= threshold, but an ignore box there; ignore boxes are never used up)."""
    det_boxes = np.asarray(det_boxes, np.float32).reshape(-1, 4)
    gt_boxes = np.asarray(gt_boxes, np.float32).reshape(-1, 4)
    gt_ignore = np.asarray(gt_ignore, bool).reshape(-1)
    result = np.zeros(len(det_boxes), np.int8)
    if len(det_boxes) == 0 or len(gt_boxes) == 0:
        return result
    order = np.argsort(-np.asarray(det_scores), kind="stable")
    iou = iou_matrix(det_boxes, gt_boxes)
    used = np.zeros(len(gt_boxes), bool)
    for d in order:
        # best unused real box first; else an ignore box (never consumed)
        cand = np.where(~gt_ignore & ~used & (iou[d] >= iou_threshold))[0]
        if cand.size:
            g = cand[np.argmax(iou[d, cand])]
            used[g] = True
            result[d] = 1
        elif np.any(gt_ignore & (iou[d] >= iou_threshold)):
            result[d] = -1
    return result


def average_precision(tp: np.ndarray, scores: np.ndarray, n_gt: int) -> float:
    """All-point interpolated AP from per-detection TP flags (1/0) and scores; NaN when n_gt == 0."""
    if n_gt == 0:
        return float("nan")
    if len(tp) == 0:
        return 0.0
    order = np.argsort(-np.asarray(scores), kind="stable")
    tp = np.asarray(tp, np.float64)[order]
    ctp, cfp = np.cumsum(tp), np.cumsum(1.0 - tp)
    recall = ctp / n_gt
    precision = ctp / np.maximum(ctp + cfp, 1e-9)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[1.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


class Evaluator:
    """Accumulates detections and ground truth of many images; `summary()` gives mAP@0.5,
    per-class AP and, at `operating_threshold`, precision and recall over all classes
    (class-aware: a detection of the wrong class is a false positive and the box a miss)."""

    def __init__(self, classes: Sequence[str], iou_threshold: float = 0.5, operating_threshold: float = 0.3):
        self.classes = list(classes)
        self.iou = iou_threshold
        self.op = operating_threshold
        self._tp = [[] for _ in self.classes]
        self._scores = [[] for _ in self.classes]
        self._n_gt = np.zeros(len(self.classes), np.int64)
        self.images = 0

    def add(self, det_boxes, det_scores, det_classes, gt: np.ndarray) -> None:
        """gt: (K, 6) rows class, x1, y1, x2, y2, ignore (as training.dataset labels)."""
        gt = np.asarray(gt, np.float32).reshape(-1, 6)
        det_boxes = np.asarray(det_boxes, np.float32).reshape(-1, 4)
        det_scores = np.asarray(det_scores, np.float32).reshape(-1)
        det_classes = np.asarray(det_classes).reshape(-1)
        self.images += 1
        for c in range(len(self.classes)):
            g = gt[gt[:, 0] == c]
            ign = g[:, 5] > 0
            self._n_gt[c] += int((~ign).sum())
            sel = det_classes == c
            if not sel.any():
                continue
            res = match_image(det_boxes[sel], det_scores[sel], g[:, 1:5], ign, self.iou)
            keep = res >= 0
            self._tp[c].append(res[keep].astype(np.int8))
            self._scores[c].append(det_scores[sel][keep])

    def summary(self) -> dict:
        per_class, tps, fps = {}, 0, 0
        for c, name in enumerate(self.classes):
            tp = np.concatenate(self._tp[c]) if self._tp[c] else np.zeros(0, np.int8)
            sc = np.concatenate(self._scores[c]) if self._scores[c] else np.zeros(0, np.float32)
            ap = average_precision(tp, sc, int(self._n_gt[c]))
            at = sc >= self.op
            tps += int(tp[at].sum())
            fps += int((1 - tp[at]).sum())
            per_class[name] = {"ap50": None if np.isnan(ap) else round(ap, 4), "instances": int(self._n_gt[c])}
        aps = [v["ap50"] for v in per_class.values() if v["ap50"] is not None]
        n_gt = int(self._n_gt.sum())
        return {
            "map50": round(float(np.mean(aps)), 4) if aps else None,
            "per_class": per_class,
            "images": self.images,
            "instances": n_gt,
            "at_threshold": {
                "score_threshold": self.op,
                "precision": round(tps / max(tps + fps, 1), 4),
                "recall": round(tps / max(n_gt, 1), 4),
            },
        }


# -- ONNX Runtime evaluation of a rendered split --------------------------------------------
def ort_session(model_path, threads: int = 0):
    import onnxruntime as ort

    so = ort.SessionOptions()
    if threads:
        so.intra_op_num_threads = threads
    return ort.InferenceSession(str(model_path), so, providers=["CPUExecutionProvider"])


def evaluate_onnx(
    model_path,
    images: np.ndarray,
    targets,
    classes: Sequence[str],
    conf_threshold: float = 0.001,
    iou_threshold: float = 0.5,
    operating_threshold: float = 0.3,
    threads: int = 0,
    limit: int = 0,
    groups: Sequence[str] | None = None,
) -> dict:
    """mAP@0.5 of an ONNX model over letterboxed RGB uint8 images and their targets
    (targets(i) -> (K, 6)); also the median ORT latency per image. `groups`: a name per image
    (e.g. its camera view): the same scores per group under "by_group"."""
    session = ort_session(model_path, threads)
    name = session.get_inputs()[0].name
    ev = Evaluator(classes, 0.5, operating_threshold)
    by_group = {g: Evaluator(classes, 0.5, operating_threshold) for g in dict.fromkeys(groups or ())}
    n = len(images) if not limit else min(limit, len(images))
    times = []
    for i in range(n):
        x = np.ascontiguousarray(np.asarray(images[i]).transpose(2, 0, 1)[None], np.float32) / np.float32(255.0)
        t = time.perf_counter()
        out = session.run(None, {name: x})[0]
        times.append(time.perf_counter() - t)
        boxes, scores, cls = decode_yolov8(out, conf_threshold, iou_threshold)
        ev.add(boxes, scores, cls, targets(i))
        if groups is not None:
            by_group[groups[i]].add(boxes, scores, cls, targets(i))
    result = ev.summary()
    result["by_group"] = {g: e.summary() for g, e in by_group.items()}
    result["ort_ms_median"] = round(float(np.median(times)) * 1e3, 2) if times else None
    return result


def benchmark_onnx(model_path, input_shape, threads: int = 2, runs: int = 50, warmup: int = 10) -> dict:
    """ORT CPU latency (ms) on random input with `threads` intra-op threads."""
    session = ort_session(model_path, threads)
    name = session.get_inputs()[0].name
    x = np.random.default_rng(0).random(input_shape, dtype=np.float32)
    for _ in range(warmup):
        session.run(None, {name: x})
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        session.run(None, {name: x})
        times.append(time.perf_counter() - t)
    return {
        "threads": threads,
        "runs": runs,
        "p50_ms": round(float(np.median(times)) * 1e3, 2),
        "p90_ms": round(float(np.percentile(times, 90)) * 1e3, 2),
    }


def main(argv=None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from training.dataset import DetDataset

    ap = argparse.ArgumentParser(description="mAP@0.5 of an ONNX model on a rendered split")
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, help="split folder (images.npy, labels.npy, meta.json)")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--json", default="", help="write the result here")
    args = ap.parse_args(argv)
    ds = DetDataset(Path(args.data))
    res = evaluate_onnx(args.model, ds.images, ds.targets, ds.meta["classes"], threads=args.threads, limit=args.limit)
    print(json.dumps(res, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
