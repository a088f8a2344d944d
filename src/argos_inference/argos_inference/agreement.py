"""How closely one detector's output follows another's on the same frames (int8 against fp32).

The reference's detections stand in for the truth: a candidate detection agrees when it has the
reference's class and overlaps one of its boxes at IoU >= iou_threshold (one-to-one, most
overlapping pairs first). Precision, recall and F1 of that agreement per class and over all
classes, and the score drift of the agreeing pairs (|reference score - candidate score|). It says
how much quantisation changed the detector, not how good either is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from argos_common.detections import Detections
from argos_common.geometry import match_boxes
from argos_common.stats import percentiles


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


@dataclass(frozen=True)
class Counts:
    reference: int  # detections of the reference (fp32)
    candidate: int  # detections of the candidate (int8)
    matched: int

    @property
    def precision(self) -> float | None:
        return _ratio(self.matched, self.candidate)

    @property
    def recall(self) -> float | None:
        return _ratio(self.matched, self.reference)

    @property
    def f1(self) -> float | None:
        return _ratio(2 * self.matched, self.reference + self.candidate)

    def as_dict(self) -> dict:
        rounded = {k: None if v is None else round(v, 4) for k, v in self.rates().items()}
        return {**asdict(self), **rounded}

    def rates(self) -> dict[str, float | None]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclass(frozen=True)
class Agreement:
    frames: int
    iou_threshold: float
    overall: Counts
    per_class: dict[str, Counts]
    score_drift_median: float | None  # over the matched pairs; None without any
    score_drift_p95: float | None

    def as_dict(self) -> dict:
        return {
            "frames": self.frames,
            "iou_threshold": self.iou_threshold,
            "reference": "fp32 detections",
            **self.overall.as_dict(),
            "per_class": {label: counts.as_dict() for label, counts in self.per_class.items()},
            "score_drift": {
                "median": None if self.score_drift_median is None else round(self.score_drift_median, 4),
                "p95": None if self.score_drift_p95 is None else round(self.score_drift_p95, 4),
            },
        }


def compare(reference: Sequence[Detections], candidate: Sequence[Detections], iou_threshold: float = 0.5) -> Agreement:
    if len(reference) != len(candidate):
        raise ValueError(f"{len(reference)} reference frames against {len(candidate)} candidate frames")
    tallies: dict[str, list[int]] = {}
    drift: list[float] = []
    for ref, new in zip(reference, candidate):
        for label in dict.fromkeys(ref.labels + new.labels):
            r = [i for i, lab in enumerate(ref.labels) if lab == label]
            c = [j for j, lab in enumerate(new.labels) if lab == label]
            pairs = match_boxes(ref.boxes[r], new.boxes[c], iou_threshold) if r and c else []
            tally = tallies.setdefault(label, [0, 0, 0])
            tally[0] += len(r)
            tally[1] += len(c)
            tally[2] += len(pairs)
            drift.extend(abs(float(ref.scores[r[i]]) - float(new.scores[c[j]])) for i, j in pairs)
    per_class = {label: Counts(*tallies[label]) for label in sorted(tallies)}
    overall = Counts(*(int(sum(t[k] for t in tallies.values())) for k in range(3)))
    spread = percentiles(np.array(drift), (50, 95), digits=None)
    return Agreement(len(reference), iou_threshold, overall, per_class, spread["p50"], spread["p95"])


def format_table(agreement: Agreement, reference: str = "fp32", candidate: str = "int8") -> str:
    def rate(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    header = ("class", reference, candidate, "matched", "precision", "recall", "F1")
    rows = [header]
    for label, counts in [*agreement.per_class.items(), ("all classes", agreement.overall)]:
        rows.append(
            (
                label,
                str(counts.reference),
                str(counts.candidate),
                str(counts.matched),
                rate(counts.precision),
                rate(counts.recall),
                rate(counts.f1),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        f"{candidate} against {reference} on {agreement.frames} held-out frames "
        f"({reference} detections as reference; same class, IoU >= {agreement.iou_threshold:g}):"
    ]
    for index, row in enumerate(rows):
        lines.append(
            "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        )
        if index == 0 or index == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    lines.append(
        f"score drift of the matched pairs: median {rate(agreement.score_drift_median)}, "
        f"p95 {rate(agreement.score_drift_p95)}"
    )
    return "\n".join(lines)
