"""Drawing the annotated view of a frame: track boxes with class and track id, counting lines and a
live totals panel (OpenCV). Pure: no ROS, no GStreamer; the input image is never modified — every
drawing goes onto a copy, so the frame inference holds by reference stays as captured."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from argos_common.counts import CountTotals
from argos_common.detections import Detections
from argos_common.lines import DIRECTION_IN, DIRECTION_OUT, CountingLine

LINE_COLOR = (0, 215, 255)  # BGR amber
PANEL_BG = (0, 0, 0)
TEXT_COLOR = (255, 255, 255)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def class_color(label: str, classes: Sequence[str] = ()) -> tuple[int, int, int]:
    """A stable, saturated BGR colour per class (by its index in `classes`, else by its name)."""
    idx = list(classes).index(label) if label in classes else zlib.crc32(label.encode())
    hue = (idx * 47) % 180  # spread neighbouring indices around the hue circle
    hsv = np.array([[[hue, 220, 255]]], dtype=np.uint8)
    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


def panel_rows(totals: CountTotals, line_ids: Iterable[str] = ()) -> list[str]:
    """The totals panel: total, then one row per line (configured ones first), then per class."""
    rows = [f"total {totals.total}"]
    by_line = totals.by_line_direction()
    for lid in dict.fromkeys([*line_ids, *by_line]):
        row = by_line.get(lid, {})
        rows.append(f"{lid}: in {row.get(DIRECTION_IN, 0)} out {row.get(DIRECTION_OUT, 0)}")
    for cls, n in sorted(totals.by_class().items(), key=lambda kv: (-kv[1], kv[0])):
        rows.append(f"{cls} {n}")
    return rows


def _scale(image: np.ndarray) -> float:
    return max(0.4, min(image.shape[0], image.shape[1]) / 720.0)


def _label(img: np.ndarray, text: str, org: tuple[int, int], color, scale: float) -> None:
    fs, th = 0.5 * scale, max(1, int(round(scale)))
    (w, h), base = cv2.getTextSize(text, FONT, fs, th)
    x, y = org
    y = max(y, h + base + 2)
    cv2.rectangle(img, (x, y - h - base - 2), (x + w + 2, y), color, -1)
    cv2.putText(img, text, (x + 1, y - base), FONT, fs, (0, 0, 0), th, cv2.LINE_AA)


def draw_tracks(img: np.ndarray, tracks: Detections, classes: Sequence[str] = ()) -> None:
    s = _scale(img)
    th = max(2, int(round(2 * s)))  # >= 2 px: survives H.264 chroma subsampling
    h, w = img.shape[:2]
    for (x1, y1, x2, y2), label, tid in zip(tracks.boxes, tracks.labels, tracks.ids):
        if not np.all(np.isfinite((x1, y1, x2, y2))):
            continue
        p1 = (int(np.clip(x1, 0, w - 1)), int(np.clip(y1, 0, h - 1)))
        p2 = (int(np.clip(x2, 0, w - 1)), int(np.clip(y2, 0, h - 1)))
        color = class_color(label, classes)
        cv2.rectangle(img, p1, p2, color, th)
        _label(img, f"{label} #{tid}" if tid else label, (p1[0], p1[1]), color, s)


def draw_lines(img: np.ndarray, lines: Sequence[CountingLine]) -> None:
    s = _scale(img)
    th = max(2, int(round(2 * s)))  # >= 2 px: survives H.264 chroma subsampling
    for line in lines:
        pts = np.round(line.points).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(img, [pts], False, LINE_COLOR, th, cv2.LINE_8)
        x, y = int(line.points[0][0]), int(line.points[0][1])
        _label(img, line.id, (x, y - 4), LINE_COLOR, s)


def draw_panel(img: np.ndarray, rows: Sequence[str]) -> None:
    """Totals in the top-left corner on a half-transparent background."""
    if not rows:
        return
    s = _scale(img)
    fs, th = 0.55 * s, max(1, int(round(s)))
    sizes = [cv2.getTextSize(r, FONT, fs, th) for r in rows]
    row_h = max(h + b for (_, h), b in sizes) + int(6 * s)
    width = max(w for (w, _), _ in sizes) + int(16 * s)
    x0, y0 = int(8 * s), int(8 * s)
    x1 = min(img.shape[1], x0 + width)
    y1 = min(img.shape[0], y0 + row_h * len(rows) + int(8 * s))
    roi = img[y0:y1, x0:x1]
    roi[:] = (roi.astype(np.uint16) * 2 // 5).astype(np.uint8)  # 60 % darker, in place on the copy
    for i, row in enumerate(rows):
        y = y0 + int(4 * s) + row_h * (i + 1) - int(4 * s)
        cv2.putText(img, row, (x0 + int(8 * s), y), FONT, fs, TEXT_COLOR, th, cv2.LINE_AA)


def annotate(
    image: np.ndarray,
    tracks: Detections | None = None,
    lines: Sequence[CountingLine] = (),
    totals: CountTotals | None = None,
    classes: Sequence[str] = (),
    title: str = "",
) -> np.ndarray:
    """A new BGR image: `image` with lines, track boxes (class, #track id) and the totals panel.
    `image` itself is left untouched (it may be read-only, as GStreamer frames are)."""
    if image.ndim == 2:
        out = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    else:
        out = np.array(image[..., :3], dtype=np.uint8, copy=True, order="C")
    draw_lines(out, lines)
    if tracks is not None and len(tracks):
        draw_tracks(out, tracks, classes)
    rows = ([title] if title else []) + (panel_rows(totals, (line.id for line in lines)) if totals is not None else [])
    draw_panel(out, rows)
    return out
