"""The annotation overlay of a frame as plain shapes (no Foxglove SDK, no ROS): track boxes with
"class #id" labels and the counting lines, in source pixels and in the colours of the annotated
view. One description, two encodings: the live Foxglove channel (foxglove_out) and the
foxglove_msgs/ImageAnnotations topic that bags record (annotator_node)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from argos_common.detections import Detections
from argos_common.lines import CountingLine

from .annotate import LINE_COLOR, class_color

Rgba = tuple[float, float, float, float]  # each 0..1, as Foxglove's Color


def rgba(bgr: tuple[int, int, int], alpha: float = 1.0) -> Rgba:
    b, g, r = bgr
    return (r / 255.0, g / 255.0, b / 255.0, alpha)


BLACK: Rgba = (0.0, 0.0, 0.0, 1.0)


@dataclass(frozen=True)
class Polyline:
    points: list[tuple[float, float]]
    closed: bool  # a box (line loop) or a counting line (line strip)
    color: Rgba
    thickness: float


@dataclass(frozen=True)
class Label:
    position: tuple[float, float]
    text: str
    font_size: float
    text_color: Rgba
    background_color: Rgba


def overlay_shapes(
    tracks: Detections | None, lines: Sequence[CountingLine], classes: Sequence[str] = ()
) -> tuple[list[Polyline], list[Label]]:
    polylines, labels = [], []
    for line in lines:
        polylines.append(Polyline([(float(x), float(y)) for x, y in line.points], False, rgba(LINE_COLOR), 3.0))
        x, y = line.points[0]
        labels.append(Label((float(x), float(y) - 4.0), line.id, 14.0, BLACK, rgba(LINE_COLOR)))
    if tracks is not None:
        for (x1, y1, x2, y2), label, tid in zip(tracks.boxes.tolist(), tracks.labels, tracks.ids):
            if not np.all(np.isfinite((x1, y1, x2, y2))):
                continue
            color = rgba(class_color(label, classes))
            polylines.append(Polyline([(x1, y1), (x2, y1), (x2, y2), (x1, y2)], True, color, 2.0))
            labels.append(Label((float(x1), float(y1)), f"{label} #{tid}" if tid else label, 12.0, BLACK, color))
    return polylines, labels


@dataclass(frozen=True)
class AnnotationTypes:
    """The classes of one flavour of Foxglove's ImageAnnotations: the ROS foxglove_msgs (bags) or
    the SDK's schemas (live channel). Both take the same field names, so one builder serves both."""

    image_annotations: Any
    points_annotation: Any
    text_annotation: Any
    point2: Any
    color: Any
    line_loop: Any
    line_strip: Any


def build_annotations(
    types: AnnotationTypes,
    timestamp: Any,
    tracks: Detections | None,
    lines: Sequence[CountingLine],
    classes: Sequence[str] = (),
) -> Any:
    """The overlay of one frame as `types.image_annotations`, every shape stamped `timestamp`."""
    polylines, labels = overlay_shapes(tracks, lines, classes)

    def color(value: Rgba) -> Any:
        r, g, b, a = value
        return types.color(r=r, g=g, b=b, a=a)

    points = [
        types.points_annotation(
            timestamp=timestamp,
            type=types.line_loop if p.closed else types.line_strip,
            points=[types.point2(x=float(x), y=float(y)) for x, y in p.points],
            outline_color=color(p.color),
            thickness=p.thickness,
        )
        for p in polylines
    ]
    texts = [
        types.text_annotation(
            timestamp=timestamp,
            position=types.point2(x=t.position[0], y=t.position[1]),
            text=t.text,
            font_size=t.font_size,
            text_color=color(t.text_color),
            background_color=color(t.background_color),
        )
        for t in labels
    ]
    return types.image_annotations(timestamp=timestamp, points=points, texts=texts)
