"""Box geometry shared by the detector's NMS, the tracker's association and the evaluations.

Boxes are rows x1 y1 x2 y2 in pixels; degenerate boxes (x2 < x1) have area 0 and IoU 0."""

from __future__ import annotations

import numpy as np


def _as_boxes(boxes) -> np.ndarray:
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def _sizes(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.maximum(boxes[:, 2] - boxes[:, 0], 0.0), np.maximum(boxes[:, 3] - boxes[:, 1], 0.0)


def _ratio(inter: np.ndarray, union: np.ndarray) -> np.ndarray:
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def iou_matrix(a, b) -> np.ndarray:
    """IoU of every box in a (N, 4) with every box in b (M, 4): (N, M) float64."""
    a, b = _as_boxes(a), _as_boxes(b)
    # per axis on (N, M) planes, in place: the tracker calls this every frame on every track and
    # detection, and np.clip on (N, M, 2) cost several times the arithmetic
    ox = np.minimum(a[:, None, 2], b[None, :, 2])
    ox -= np.maximum(a[:, None, 0], b[None, :, 0])
    np.maximum(ox, 0.0, out=ox)
    oy = np.minimum(a[:, None, 3], b[None, :, 3])
    oy -= np.maximum(a[:, None, 1], b[None, :, 1])
    np.maximum(oy, 0.0, out=oy)
    inter = ox
    inter *= oy
    wa, ha = _sizes(a)
    wb, hb = _sizes(b)
    return _ratio(inter, (wa * ha)[:, None] + (wb * hb)[None, :] - inter)


def centred_iou_matrix(a, b) -> np.ndarray:
    """IoU of every box in a with every box in b after moving them onto one centre: how alike
    their sizes and shapes are, wherever they are."""
    a, b = _as_boxes(a), _as_boxes(b)
    wa, ha = _sizes(a)
    wb, hb = _sizes(b)
    inter = np.minimum(wa[:, None], wb[None, :]) * np.minimum(ha[:, None], hb[None, :])
    return _ratio(inter, (wa * ha)[:, None] + (wb * hb)[None, :] - inter)


def match_boxes(a, b, iou_threshold: float) -> list[tuple[int, int]]:
    """One-to-one pairs (i, j) of a box of a with a box of b at IoU >= iou_threshold, the most
    overlapping pairs first (greedy): each box is in at most one pair."""
    iou = iou_matrix(a, b)
    rows, cols = np.nonzero(iou >= iou_threshold)
    order = np.argsort(-iou[rows, cols], kind="stable")
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for i, j in zip(rows[order].tolist(), cols[order].tolist()):
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((i, j))
    return pairs
