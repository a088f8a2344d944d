"""`argos eval tracker` on the synthetic scenes: one cell per detector x view x scene x seed
(counting.run_cell: ours and every peer on the same detections), then the tables: counting
error, the keys where a count differs, MOT scores against the scene's ground-truth tracks, the
detectors side by side (when there are several), and the time per frame."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import counting
from .cells import run_cells
from .detectors import TRUTH, DetectorChoice
from .peer import PEER_NAMES
from .scoring import MATCH_IOU
from .tables import CELL_HEADER, MOT_HEADER, cell_label, mot_row, table, timing_table

TRACKERS = ("ours",) + PEER_NAMES


def scene_cells(
    scene_names: Sequence[str],
    views: Sequence[str],
    seeds: Sequence[int],
    detectors: Sequence[DetectorChoice],
    duration_s: float,
    params: dict[str, Any],
) -> list[counting.SceneCell]:
    """Every detector x view x scene x seed, in that nesting (a table's row order)."""
    return [
        counting.SceneCell(scene.name, view, seed, duration_s, params, detector)
        for detector in detectors
        for view in views
        for scene in counting.SCENES
        if not scene_names or scene.name in scene_names
        for seed in seeds
    ]


def _entry(cell: counting.SceneCell, counts: dict) -> dict[str, Any]:
    scene = counting.scene_named(cell.scene)
    entry: dict[str, Any] = {
        "detector": cell.detector.kind,
        "view": cell.view,
        "scene": cell.scene,
        "seed": cell.seed,
        "duration_s": cell.duration_s,
        "conditions": list(scene.conditions),
        # the perturbation applies to ground-truth-derived detections only
        "perturbation": scene.perturbation.__dict__ if cell.detector.kind == TRUTH else None,
        "timing": counts["timing"],
    }
    for who in TRACKERS:
        entry[who] = {**counting.count_error(counts["truth"], counts[who]), "mot": counts["mot"][who]}
    keys = sorted(set(counts["truth"]).union(*(counts[who] for who in TRACKERS)))
    entry["by_line_class_direction"] = [
        {
            "line": k[0],
            "class": k[1],
            "direction": k[2],
            "truth": counts["truth"].get(k, 0),
            **{who: counts[who].get(k, 0) for who in TRACKERS},
        }
        for k in keys
    ]
    return entry


def _progress(cells: Sequence[counting.SceneCell]):
    def done(index: int, counts: dict) -> None:
        cell, t = cells[index], counts["timing"]
        print(
            f"  done {cell.detector.kind}/{cell.view}/{cell.scene} seed {cell.seed}: {t['frames']} frames in "
            f"{t['wall_s']} s (detections {t['detector_ms']} ms/frame)",
            flush=True,
        )

    return done


def run_scenes(cells: Sequence[counting.SceneCell], workers: int, machine: str) -> list[dict[str, Any]]:
    """Run the cells (up to `workers` at a time), print the tables, return one entry per cell."""
    for choice in {c.detector.kind: c.detector for c in cells}.values():
        print(f"  detections {choice.describe()}")
    results = run_cells(counting.run_cell, cells, workers, _progress(cells))
    entries = [_entry(cell, counts) for cell, counts in zip(cells, results)]
    print_tables(entries, machine)
    return entries


def print_tables(entries: Sequence[dict[str, Any]], machine: str) -> None:
    rows, detail, mot_rows = [], [], []
    for e in entries:
        for who in TRACKERS:
            err = e[who]
            rows.append(
                cell_label(e) + [who, err["true_total"], err["counted_total"], err["abs_error"], err["error_pct"]]
            )
            mot_rows.append(mot_row(cell_label(e) + [who], err["mot"]))
        detail += [
            cell_label(e) + [f"{r['line']}/{r['class']}/{r['direction']}", r["truth"]] + [r[who] for who in TRACKERS]
            for r in e["by_line_class_direction"]
            if len({r["truth"], *(r[who] for who in TRACKERS)}) > 1
        ]
    print(f"\nCounting error per cell ({machine.removeprefix('machine: ')})")
    table(CELL_HEADER + ["tracker", "true", "counted", "|error|", "error %"], rows)
    if detail:
        print("\nKeys where a count differs from the truth (line/class/direction):")
        table(CELL_HEADER + ["key", "truth"] + list(TRACKERS), detail)
    print(
        f"\nMOT metrics against the scene's ground-truth tracks (objects >= {counting.MIN_VISIBLE:.0%} visible, "
        f"IoU >= {MATCH_IOU})"
    )
    table(CELL_HEADER + ["tracker"] + MOT_HEADER + ["IDSW/100 occl. (events)"], mot_rows)
    kinds = list(dict.fromkeys(e["detector"] for e in entries))
    if len(kinds) > 1:
        print_side_by_side(entries, kinds)
    timing_table(machine, entries)


def print_side_by_side(entries: Sequence[dict[str, Any]], kinds: Sequence[str]) -> None:
    """Per view, scene, seed and tracker: count |error| and MOTA / IDF1 / HOTA of each detector."""
    by_cell = {(e["detector"], e["view"], e["scene"], e["seed"]): e for e in entries}
    rows = []
    for view, scene, seed in dict.fromkeys((e["view"], e["scene"], e["seed"]) for e in entries):
        for who in TRACKERS:
            row: list[Any] = [view, scene, seed, who]
            for kind in kinds:
                e = by_cell.get((kind, view, scene, seed))
                if e is None:
                    row += ["-", "-"]
                    continue
                m = e[who]["mot"]
                row += [
                    f"{e[who]['abs_error']} of {e[who]['true_total']}",
                    f"{m['mota']:.3f} / {m['idf1']:.3f} / {m['hota']:.3f}",
                ]
            rows.append(row)
    print("\nDetectors side by side: count |error| and MOTA / IDF1 / HOTA")
    header = ["view", "scene", "seed", "tracker"]
    for kind in kinds:
        header += [f"{kind} |error|", f"{kind} MOTA / IDF1 / HOTA"]
    table(header, rows)
