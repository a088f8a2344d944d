"""Runs the evaluations and benchmark and prints their tables."""

from __future__ import annotations

import statistics

from argos_common.classes import DEFAULT_CLASSES
from argos_tracker.pipeline import resolve_tracker_params
from argos_tracker.tracker import Tracker

from ..bench import tracker as bench
from . import counting as counting_eval
from . import machine, mot
from .detectors import TRUTH_CHOICE, DetectorChoice
from .peer import PEER_NAMES, peer_factories
from .scene_eval import run_scenes, scene_cells
from .tables import MOT_HEADER, mot_row, table
from .views import DEFAULT_VIEW, check_view


def run_mot(seeds: list[int], overrides: dict) -> dict:
    """MOT metrics on the TUD sequences for each seed, ours and every peer: {sequence: {seed:
    {tracker: scores}}}; printed per seed, then (several seeds) the median over them."""
    print(f"\nMOT metrics (IoU >= {mot.MATCH_IOU}), detections = ground truth + {mot.MOT_PERTURBATION}")
    # resolved, so the peers get our defaults too (coasting time, thresholds), not their own
    params = resolve_tracker_params({"classes": [mot.LABEL], **overrides})
    makers = {"ours": lambda: Tracker(params), **peer_factories(mot.SEQUENCE_FPS, params)}
    out: dict = {}
    rows = []
    for name in mot.SEQUENCES:
        seq = mot.load_sequence(name)
        out[name] = {}
        for seed in seeds:
            dets = mot.detections_for(seq, mot.MOT_PERTURBATION, seed)
            out[name][seed] = {who: mot.evaluate(seq, dets, make) for who, make in makers.items()}
            rows += [mot_row([name, seed, who], m) for who, m in out[name][seed].items()]
    table(["sequence", "seed", "tracker"] + MOT_HEADER, rows)
    if len(seeds) > 1:
        print(f"\nMedian over seeds {seeds[0]}..{seeds[-1]} ({len(seeds)} runs per sequence)")
        rows = []
        for name in mot.SEQUENCES:
            for who in makers:
                runs = [out[name][seed][who] for seed in seeds]
                median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                rows.append(mot_row([name, who], median))
        table(["sequence", "tracker"] + MOT_HEADER, rows)
        print("\nRuns where ours is below the best peer (of all sequences and seeds):")
        for metric in ("mota", "idf1", "hota"):
            below = sum(
                out[name][seed]["ours"][metric] < max(out[name][seed][p][metric] for p in PEER_NAMES)
                for name in mot.SEQUENCES
                for seed in seeds
            )
            print(f"  {metric.upper()}: {below} of {len(mot.SEQUENCES) * len(seeds)}")
    return out


def run_evaluation(
    duration_s: float,
    seed: int,
    scene_names: list[str],
    with_mot: bool,
    with_scenes: bool,
    overrides: dict,
    mot_seeds: list[int] | None = None,
    *,
    detectors: tuple[DetectorChoice, ...] = (TRUTH_CHOICE,),
    views: tuple[str, ...] = (DEFAULT_VIEW,),
    scene_seeds: list[int] | None = None,
    workers: int = 1,
) -> dict:
    """TUD sequences (detections: ground truth + perturbation; TUD has no images here) and the
    synthetic scenes, one cell per detector x view x scene x seed (`scene_seeds`, default
    [seed]), `workers` cells at a time."""
    described = machine.describe()
    print(described)
    resolve_tracker_params(overrides)  # a bad override fails here, naming the key
    for view in views:
        check_view(view)
    unknown = set(scene_names) - {s.name for s in counting_eval.SCENES}
    if unknown:
        raise ValueError(f"unknown scene(s) {sorted(unknown)} (known: {[s.name for s in counting_eval.SCENES]})")
    results: dict = {
        "machine": described,
        "seed": seed,
        "tracker_overrides": overrides,
        "detectors": {d.kind: d.describe() for d in detectors},
        "views": list(views),
    }
    if with_mot:
        results["mot"] = run_mot(mot_seeds or [seed], overrides)
    params = resolve_tracker_params({"classes": list(DEFAULT_CLASSES), **overrides})
    cells = scene_cells(scene_names, views, scene_seeds or [seed], detectors, duration_s, params)
    if not cells or not with_scenes:
        return results
    print(
        f"\nSynthetic scenes, {duration_s:g} s each (seeds {', '.join(map(str, scene_seeds or [seed]))}), "
        f"views {', '.join(views)}, lines of config/edge.yaml as each view shows them"
    )
    results["counting"] = run_scenes(cells, workers, described)
    return results


def run_bench(object_counts: list[int], frames: int, repeats: int = 5) -> dict:
    print(machine.describe())
    print(
        f"\nms per frame, {frames} frames of N objects (constant velocity, 1 px noise), after 5 warm-up frames; "
        f"median of {repeats} runs, the trackers interleaved within each run"
    )
    rows, out = [], {}
    for n in object_counts:
        dets = bench.moving_objects(n, frames + 5)
        params = resolve_tracker_params({"classes": ["car"], "max_tracks": max(256, 2 * n)})
        makers = {
            "ours kalman": lambda: Tracker(params),
            "ours fixed_gain": lambda: Tracker({**params, "filter": "fixed_gain"}),
            **peer_factories(bench.FPS, params),
        }
        ms = bench.compare(makers, dets, repeats=repeats)
        out[n] = ms
        fastest = min(ms[p] for p in PEER_NAMES)
        rows.append([n] + [ms[k] for k in makers] + [fastest / ms["ours kalman"]])
    table(["objects"] + [f"{k} ms" for k in makers] + ["fastest peer / ours"], rows)
    return out
