"""`argos eval counting`: turning-movement counts and line counts against the synthetic scene's
ground truth, with the detector in the loop (or, `--detector truth`, detections derived from
the ground truth as `argos eval tracker` makes them).

Each frame of the scene, in each view asked for, is rendered and goes through the configured
detector (`model`, the default: config/edge.yaml's inference section, whose model is the bundled
int8 argos-traffic-v1; see detectors.py) and the tracker node's own pipeline with
config/edge.yaml's tracker parameters (movement table; the lines as the view shows them). One
cell per detector x view x scene x seed, several at a time with `workers`. Ground truth is
the scene's own: every vehicle's planned route and the lines where it entered and left
(argos_sim.GroundTruthMovement), and its line crossings. Scene time starts on a bin boundary
(T0), so the interval bins are those a unit started at :00 would publish.

Reported per scene and seed: the movement matrix (ours vs truth), per-movement and per-line
(and direction) errors, the errors per movement and class, incomplete movements by reason, how
often a broken track was linked inside the box, and the share of movement x interval cells
with GEH < 5 (GEH on hourly rates of each cell's counts; a cell where both counts are 0 is not
a cell). Only complete movements are compared: a vehicle already inside at frame 0 or still
inside at the end is incomplete on both sides.
"""

from __future__ import annotations

import calendar
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from argos_common.bins import bin_start_ns
from argos_common.movements import geh_for_interval, movement_name

from .cells import run_cells
from .counting import scene_named
from .detectors import DetectorChoice
from .tables import table, timing_table
from .views import DEFAULT_VIEW, FPS, SIZE

T0_NS = calendar.timegm((2025, 3, 1, 7, 0, 0)) * 1_000_000_000  # 07:00 UTC: a bin boundary
# the scenes of counting.SCENES this evaluation runs (jitter: a tracking test, no movement one)
SCENE_NAMES = ("clean", "night", "rain", "dense", "stop_and_go")
GEH_OK = 5.0
MINUTE_NS = 60 * 1_000_000_000


@dataclass
class SceneResult:
    scene: str
    seed: int
    duration_s: float
    frames: int
    seconds: float  # wall time of the run
    # (1-min bin start, movement, class) -> complete movements: every supported interval is a
    # multiple of one minute, so one run gives the cells of each (see `rebinned`)
    ours: Counter
    truth: Counter
    lines_ours: Counter  # (line, direction) -> crossings
    lines_truth: Counter
    incomplete: Counter  # reason -> n (ours)
    linked: int
    view: str = DEFAULT_VIEW
    detector: str = "model"
    timing: dict[str, Any] = field(default_factory=dict)  # ms per frame (SceneLoop.timing)

    def by_movement(self, which: Counter) -> Counter:
        out: Counter = Counter()
        for (_, movement, _), n in which.items():
            out[movement] += n
        return out

    def cells(self, interval_ns: int) -> list[tuple[int, str, int, int, float]]:
        """(bin start, movement, ours, truth, GEH) of every movement x interval cell with a count."""
        ours: Counter = Counter()
        truth: Counter = Counter()
        for (start, movement, _), n in self.ours.items():
            ours[bin_start_ns(start, interval_ns), movement] += n
        for (start, movement, _), n in self.truth.items():
            truth[bin_start_ns(start, interval_ns), movement] += n
        end_ns = T0_NS + int(round(self.duration_s * 1e9))
        out = []
        for start, movement in sorted(set(ours) | set(truth)):
            covered_s = (min(start + interval_ns, end_ns) - max(start, T0_NS)) / 1e9
            a, b = ours[start, movement], truth[start, movement]
            out.append((start, movement, a, b, geh_for_interval(a, b, covered_s)))
        return out

    def geh(self, interval_min: int) -> dict[str, Any]:
        """The movement x interval cells of `interval_min` bins: how many, exact, GEH < 5, max GEH."""
        cells = self.cells(interval_min * MINUTE_NS)
        ok = sum(1 for c in cells if c[4] < GEH_OK)
        return {
            "interval_min": interval_min,
            "cells": len(cells),
            "cells_exact": sum(1 for c in cells if c[2] == c[3]),
            "cells_geh_lt_5": ok,
            "geh_lt_5_pct": round(100.0 * ok / len(cells), 1) if cells else 100.0,
            "geh_max": round(max((c[4] for c in cells), default=0.0), 2),
        }

    def summary(self, intervals_min: Sequence[int]) -> dict[str, Any]:
        """The scene's figures; the cell figures of the first interval at the top level (as before
        several intervals were measured at once), every interval's under `by_interval`."""
        by_interval = [self.geh(m) for m in intervals_min]
        mo, mt = self.by_movement(self.ours), self.by_movement(self.truth)
        by_class_ours: Counter = Counter()
        by_class_truth: Counter = Counter()
        for (_, m, c), n in self.ours.items():
            by_class_ours[m, c] += n
        for (_, m, c), n in self.truth.items():
            by_class_truth[m, c] += n
        return {
            "detector": self.detector,
            "view": self.view,
            "scene": self.scene,
            "seed": self.seed,
            "duration_s": self.duration_s,
            "frames": self.frames,
            "run_s": round(self.seconds, 1),
            "movements": {m: {"ours": mo[m], "truth": mt[m]} for m in sorted(set(mo) | set(mt))},
            "movement_abs_error": sum(abs(mo[m] - mt[m]) for m in set(mo) | set(mt)),
            "movement_class_abs_error": sum(
                abs(by_class_ours[k] - by_class_truth[k]) for k in set(by_class_ours) | set(by_class_truth)
            ),
            "true_movements": sum(mt.values()),
            "lines": {
                f"{line} {d}": {"ours": self.lines_ours[line, d], "truth": self.lines_truth[line, d]}
                for line, d in sorted(set(self.lines_ours) | set(self.lines_truth))
            },
            "line_abs_error": sum(
                abs(self.lines_ours[k] - self.lines_truth[k]) for k in set(self.lines_ours) | set(self.lines_truth)
            ),
            **{k: v for k, v in by_interval[0].items() if k != "interval_min"},
            "interval_min": by_interval[0]["interval_min"],
            "by_interval": by_interval,
            "incomplete": dict(self.incomplete),
            "linked": self.linked,
            "timing": self.timing,
        }


def run_scene(
    scene: str,
    seed: int,
    duration_s: float,
    tracker_params: dict,
    detector: DetectorChoice,
    classes: Sequence[str],
    view: str = DEFAULT_VIEW,
) -> SceneResult:
    """One scene in one view: its frames through `detector`, the tracking pipeline, and the
    scene's ground truth, in 1-min bins from T0."""
    from argos_common.lines import parse_lines
    from argos_tracker.movements import movement_table
    from argos_tracker.pipeline import TrackingPipeline

    from .loop import SceneLoop

    interval_ns = MINUTE_NS
    which = scene_named(scene)
    # the configured lines are drawn on the top view: the scene's ground truth is counted on them
    loop = SceneLoop(
        view, which.conditions, seed, parse_lines(tracker_params, SIZE), detector, which.perturbation, classes
    )
    # the view's lines are in its image pixels already (and may run past the frame's edge)
    pipeline = TrackingPipeline(loop.tracker_params(tracker_params))
    names = movement_table(pipeline.params)
    ours: Counter = Counter()
    truth: Counter = Counter()
    lines_ours: Counter = Counter()
    lines_truth: Counter = Counter()
    incomplete: Counter = Counter()

    def take(movements) -> None:
        for m in movements:
            if m.complete:
                ours[bin_start_ns(m.entered_ns, interval_ns), m.movement, m.class_id] += 1
            else:
                incomplete[m.reason] += 1

    started = time.perf_counter()
    frames = int(round(duration_s * FPS))
    try:
        for _, gt, dets in loop.frames(frames):
            with loop.track_time():
                result = pipeline.update(dets, T0_NS + int(round(gt.time_s * 1e9)))
            take(result.movements)
            for c in result.counts:
                lines_ours[c.line_id, c.direction] += 1
            for c in gt.crossings:
                lines_truth[c.crossing.line_id, c.crossing.direction] += 1
            for m in gt.movements:
                entered_ns = T0_NS + int(round(m.entered_s * 1e9))
                truth[bin_start_ns(entered_ns, interval_ns), movement_name(m.from_line, m.to_line, names), m.label] += 1
    finally:
        loop.close()
    end = pipeline.finish_frame(T0_NS + int(round((frames + 1) / FPS * 1e9)))
    take(end.movements)
    for c in end.counts:
        lines_ours[c.line_id, c.direction] += 1
    return SceneResult(
        scene,
        seed,
        duration_s,
        frames,
        time.perf_counter() - started,
        ours,
        truth,
        lines_ours,
        lines_truth,
        incomplete,
        pipeline.movements.linked,
        view,
        detector.kind,
        loop.timing(),
    )


@dataclass(frozen=True)
class CountingCell:
    """One run of `argos eval counting`, as plain data (it may run in a worker process)."""

    scene: str
    view: str
    seed: int
    duration_s: float
    tracker_params: dict[str, Any]
    detector: DetectorChoice
    classes: tuple[str, ...]
    intervals_min: tuple[int, ...]


def run_cell(cell: CountingCell) -> dict[str, Any]:
    result = run_scene(
        cell.scene, cell.seed, cell.duration_s, cell.tracker_params, cell.detector, cell.classes, cell.view
    )
    return result.summary(cell.intervals_min)


def evaluate(
    config_path: str | None,
    scenes: Sequence[str],
    seeds: Sequence[int],
    duration_s: float,
    intervals_min: Sequence[int] = (15,),
    overrides: dict | None = None,
    json_path: str | None = None,
    *,
    detectors: Sequence[DetectorChoice] = (),
    views: Sequence[str] = (DEFAULT_VIEW,),
    workers: int = 1,
) -> list[dict[str, Any]]:
    """Every detector x view x seed x scene (`detectors` default: the config's model); with
    `json_path` the results so far are rewritten after each cell, so a long run that is stopped
    keeps what it measured."""
    import json

    from argos_bringup.config import default_config_path, load_config

    from .detectors import model_choice
    from .machine import describe
    from .views import check_view

    for name in scenes:
        if name not in SCENE_NAMES:
            raise ValueError(f"unknown scene {name!r} (known: {', '.join(SCENE_NAMES)})")
    for view in views:
        check_view(view)
    cfg = load_config(config_path or default_config_path(), overrides)
    detectors = tuple(detectors) or (model_choice(None, 0, config_path, overrides),)
    cells = [
        CountingCell(
            name,
            view,
            seed,
            duration_s,
            cfg.node("tracker"),
            detector,
            tuple(cfg.node("camera")["classes"]),
            tuple(intervals_min),
        )
        for detector in detectors
        for view in views
        for seed in seeds
        for name in scenes
    ]
    machine = describe()
    print(machine, flush=True)
    for detector in detectors:
        print(f"  detections {detector.describe()}", flush=True)
    done: dict[int, dict[str, Any]] = {}

    def finished(index: int, summary: dict[str, Any]) -> None:
        done[index] = summary
        print_scene(summary)
        if json_path:
            with open(json_path, "w") as f:
                json.dump({"machine": machine, "results": [done[i] for i in sorted(done)]}, f, indent=2)

    out = run_cells(run_cell, cells, workers, finished)
    for interval_min in intervals_min:
        print_overall(out, interval_min)
    timing_table(machine, out)
    return out


def print_scene(s: dict[str, Any]) -> None:
    print(
        f"\n{s['detector']}/{s['view']}/{s['scene']} seed {s['seed']}: {s['duration_s']:g} s of scene, "
        f"{s['frames']} frames in {s['run_s']} s; "
        f"movements {sum(v['ours'] for v in s['movements'].values())} (truth {s['true_movements']}), "
        f"abs error {s['movement_abs_error']} (by class {s['movement_class_abs_error']}), "
        f"lines abs error {s['line_abs_error']}; incomplete {s['incomplete'] or 0}, linked {s['linked']}"
    )
    for g in s["by_interval"]:
        print(
            f"  {g['interval_min']}-min cells with GEH < 5: {g['cells_geh_lt_5']}/{g['cells']} "
            f"({g['geh_lt_5_pct']} %, exact {g['cells_exact']}, max GEH {g['geh_max']})"
        )
    print("  movement          ours  truth")
    for m, v in s["movements"].items():
        print(f"  {m:<16} {v['ours']:>5}  {v['truth']:>5}")
    print(end="", flush=True)


def print_overall(results: list[dict[str, Any]], interval_min: int) -> None:
    if not results:
        return
    print(f"\n{interval_min}-min bins")
    rows = []
    for detector, view, name in dict.fromkeys((r["detector"], r["view"], r["scene"]) for r in results):
        group = [r for r in results if (r["detector"], r["view"], r["scene"]) == (detector, view, name)]
        ours = sum(sum(v["ours"] for v in r["movements"].values()) for r in group)
        truth = sum(r["true_movements"] for r in group)
        geh = [g for r in group for g in r["by_interval"] if g["interval_min"] == interval_min]
        cells = sum(g["cells"] for g in geh)
        ok = sum(g["cells_geh_lt_5"] for g in geh)
        exact = sum(g["cells_exact"] for g in geh)
        pct = 100.0 * ok / cells if cells else 100.0
        rows.append(
            [
                detector,
                view,
                name,
                ",".join(str(r["seed"]) for r in group),
                f"{ours}/{truth}",
                sum(r["movement_abs_error"] for r in group),
                sum(r["movement_class_abs_error"] for r in group),
                sum(r["line_abs_error"] for r in group),
                f"{ok}/{cells} ({pct:.1f} %)",
                f"{exact}/{cells}",
            ]
        )
    table(
        [
            "detector",
            "view",
            "scene",
            "seeds",
            "movements ours/truth",
            "movement err",
            "movement x class err",
            "line err",
            "GEH<5 cells",
            "exact cells",
        ],
        rows,
    )
