"""Plain-text tables of the evaluations (fixed-width columns, first column left-aligned)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [list(header)] + [[fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for k, row in enumerate(cells):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if k == 0:
            print("  ".join("-" * w for w in widths))


def _one_decimal(value) -> str:
    return "-" if value is None else f"{value:.1f}"


CELL_HEADER = ["detector", "view", "scene", "seed"]


def cell_label(entry: dict[str, Any]) -> list[Any]:
    """The detector, view, scene and seed of one evaluation cell's result."""
    return [entry["detector"], entry["view"], entry["scene"], entry["seed"]]


def timing_table(machine: str, entries: Sequence[dict[str, Any]]) -> None:
    """Where each cell's time went, per frame: the scene (rendering), the detections, the
    trackers (all that run on the cell), and the cell's wall time, for planning longer runs."""
    print(f"\nTime per frame (ms) on {machine.removeprefix('machine: ')}")
    keys = ("scene_ms", "detector_ms", "detector_ms_p50", "detector_ms_p95", "tracking_ms", "wall_s")
    rows = [cell_label(e) + [e["timing"]["frames"]] + [_one_decimal(e["timing"][k]) for k in keys] for e in entries]
    table(
        CELL_HEADER + ["frames", "scene ms", "detector ms", "det p50", "det p95", "tracking ms", "wall s"],
        rows,
    )


MOT_HEADER = ["MOTA", "IDF1", "HOTA", "IDSW", "FP", "FN"]


def mot_row(label: list, m: dict) -> list:
    return label + [
        m["mota"],
        m["idf1"],
        m["hota"],
        int(m["num_switches"]),
        int(m["num_false_positives"]),
        int(m["num_misses"]),
        *([_per_100(m, "vehicle")] if "vehicle_events" in m else []),
    ]


def _per_100(m: dict, by: str) -> str:
    """ID switches per 100 occlusion events (and the events): "2.1 (48)"."""
    n = int(m[f"{by}_events"])
    return f"{m[f'{by}_switches_per_100']:.1f} ({n})" if n else "- (0)"
