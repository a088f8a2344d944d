"""Drawing the annotated view of a frame: track boxes with class and track id, counting lines, a
live totals panel and the running movement matrix (OpenCV). Pure: no ROS, no GStreamer; the
input image is never modified — every drawing goes onto a copy, so the frame inference holds by
reference stays as captured."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence

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


def movement_rows(matrix: Mapping[str, Mapping[str, int]], incomplete: int = 0) -> list[str]:
    """The overlay's text: one row per movement, `WBT 12: car 10 van 2` (classes by count)."""
    rows = []
    for movement, by_class in matrix.items():
        classes = sorted(by_class.items(), key=lambda kv: (-kv[1], kv[0]))
        rows.append(f"{movement} {sum(by_class.values())}: " + " ".join(f"{c} {n}" for c, n in classes))
    if rows or incomplete:
        rows.insert(0, "movements")
    if incomplete:
        rows.append(f"incomplete {incomplete}")
    return rows


class MovementOverlay:
    """The running movement matrix in the top-right corner. Text rendering (getTextSize, putText)
    costs far more than a frame can spare at 15 FPS while someone watches, and the matrix changes
    a few times a minute: the rows are rendered into a small patch only when they change (or
    the frame size does); every frame only darkens the patch's corner and copies its text pixels.
    Not thread-safe: the annotator node calls it under its lock."""

    def __init__(self) -> None:
        self._rows: list[str] = []
        self._key: tuple | None = None
        self._text: np.ndarray | None = None  # rendered rows, BGR
        self._mask: np.ndarray | None = None  # where the text is (uint8, for cv2.copyTo)
        self.renders = 0  # how often the patch was drawn anew (for tests and stats)

    def update(self, matrix: Mapping[str, Mapping[str, int]], incomplete: int = 0) -> None:
        self._rows = movement_rows(matrix, incomplete)

    def _render(self, shape: tuple[int, ...]) -> None:
        s = max(0.8, min(shape[0], shape[1]) / 720.0)  # smaller is not readable after H.264
        fs, th = 0.45 * s, max(1, int(round(s)))
        sizes = [cv2.getTextSize(r, FONT, fs, th) for r in self._rows]
        row_h = max(h + b for (_, h), b in sizes) + int(5 * s)
        pad = int(6 * s)
        w = min(shape[1], max(w for (w, _), _ in sizes) + 2 * pad)
        h = min(shape[0], row_h * len(self._rows) + pad)
        text = np.zeros((h, w, 3), np.uint8)
        for i, row in enumerate(self._rows):
            cv2.putText(text, row, (pad, row_h * (i + 1)), FONT, fs, TEXT_COLOR, th, cv2.LINE_AA)
        self._text, self._mask = text, np.any(text, axis=2).astype(np.uint8)
        self.renders += 1

    def draw(self, img: np.ndarray) -> None:
        """Onto `img` (a copy being annotated), nothing while there is no movement yet."""
        if not self._rows:
            return
        key = (tuple(self._rows), img.shape[:2])
        if key != self._key:
            self._render(img.shape)
            self._key = key
        text, mask = self._text, self._mask
        assert text is not None and mask is not None
        s = _scale(img)
        h, w = mask.shape
        x0, y0 = max(0, img.shape[1] - w - int(8 * s)), int(8 * s)
        y1 = min(img.shape[0], y0 + h)
        roi = img[y0:y1, x0 : x0 + w]
        rh, rw = roi.shape[:2]
        # OpenCV writes into the strided view in place: ~0.3 ms at 720p, a tenth of rendering
        cv2.convertScaleAbs(roi, roi, 0.4)  # 60 % darker
        cv2.copyTo(text[:rh, :rw], mask[:rh, :rw], roi)


def annotate(
    image: np.ndarray,
    tracks: Detections | None = None,
    lines: Sequence[CountingLine] = (),
    totals: CountTotals | None = None,
    classes: Sequence[str] = (),
    title: str = "",
    movements: MovementOverlay | None = None,
) -> np.ndarray:
    """A new BGR image: `image` with lines, track boxes (class, #track id), the totals panel and
    the movement matrix. `image` itself is left untouched (it may be read-only, as GStreamer
    frames are)."""
    if image.ndim == 2:
        out = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    else:
        out = np.array(image[..., :3], dtype=np.uint8, copy=True, order="C")
    draw_lines(out, lines)
    if tracks is not None and len(tracks):
        draw_tracks(out, tracks, classes)
    rows = ([title] if title else []) + (panel_rows(totals, (line.id for line in lines)) if totals is not None else [])
    draw_panel(out, rows)
    if movements is not None:
        movements.draw(out)
    return out
