"""Runs the evaluations and benchmark and prints their tables."""

from __future__ import annotations

import statistics

from argos_common.classes import DEFAULT_CLASSES
from argos_tracker.pipeline import resolve_tracker_params
from argos_tracker.tracker import Tracker

from ..bench import tracker as bench
from . import counting as counting_eval
from . import machine, mot
from .peer import PEER_NAMES, peer_factories


def _table(header: list[str], rows: list[list]) -> None:
    cells = [header] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for k, row in enumerate(cells):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if k == 0:
            print("  ".join("-" * w for w in widths))


def _fmt(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _mot_row(label: list, m: dict) -> list:
    return label + [
        m["mota"],
        m["idf1"],
        m["hota"],
        int(m["num_switches"]),
        int(m["num_false_positives"]),
        int(m["num_misses"]),
    ]


_MOT_HEADER = ["MOTA", "IDF1", "HOTA", "IDSW", "FP", "FN"]


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
            rows += [_mot_row([name, seed, who], m) for who, m in out[name][seed].items()]
    _table(["sequence", "seed", "tracker"] + _MOT_HEADER, rows)
    if len(seeds) > 1:
        print(f"\nMedian over seeds {seeds[0]}..{seeds[-1]} ({len(seeds)} runs per sequence)")
        rows = []
        for name in mot.SEQUENCES:
            for who in makers:
                runs = [out[name][seed][who] for seed in seeds]
                median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                rows.append(_mot_row([name, who], median))
        _table(["sequence", "tracker"] + _MOT_HEADER, rows)
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
) -> dict:
    print(machine.describe())
    resolve_tracker_params(overrides)  # a bad override fails here, naming the key
    results: dict = {"machine": machine.describe(), "seed": seed, "tracker_overrides": overrides}
    if with_mot:
        results["mot"] = run_mot(mot_seeds or [seed], overrides)
    scenes = [s for s in counting_eval.SCENES if not scene_names or s.name in scene_names]
    unknown = set(scene_names) - {s.name for s in counting_eval.SCENES}
    if unknown:
        raise ValueError(f"unknown scene(s) {sorted(unknown)} (known: {[s.name for s in counting_eval.SCENES]})")
    if not scenes or not with_scenes:
        return results
    print(f"\nCounting error, {duration_s:g} s per synthetic scene (seed {seed}), lines of config/edge.yaml")
    rows, detail, mot_rows, results["counting"] = [], [], [], {}
    params = resolve_tracker_params({"classes": list(DEFAULT_CLASSES), **overrides})
    who_all = ("ours",) + PEER_NAMES
    for scene in scenes:
        counts = counting_eval.run_scene(
            scene, duration_s, seed, params, peer_factories(counting_eval.FPS, params), mot=True
        )
        entry = {"conditions": list(scene.conditions), "perturbation": scene.perturbation.__dict__}
        for who in who_all:
            err = counting_eval.count_error(counts["truth"], counts[who])
            entry[who] = {**err, "mot": counts["mot"][who]}
            rows.append([scene.name, who, err["true_total"], err["counted_total"], err["abs_error"], err["error_pct"]])
            mot_rows.append(_mot_row([scene.name, who], counts["mot"][who]))
        keys = sorted(set(counts["truth"]).union(*(counts[who] for who in who_all)))
        entry["by_line_class_direction"] = [
            {
                "line": k[0],
                "class": k[1],
                "direction": k[2],
                "truth": counts["truth"].get(k, 0),
                **{who: counts[who].get(k, 0) for who in who_all},
            }
            for k in keys
        ]
        detail += [
            [scene.name, f"{r['line']}/{r['class']}/{r['direction']}", r["truth"]] + [r[who] for who in who_all]
            for r in entry["by_line_class_direction"]
            if len({r["truth"], *(r[who] for who in who_all)}) > 1
        ]
        results["counting"][scene.name] = entry
    _table(["scene", "tracker", "true", "counted", "|error|", "error %"], rows)
    if detail:
        print("\nKeys where a count differs from the truth (line/class/direction):")
        _table(["scene", "key", "truth"] + list(who_all), detail)
    print(
        f"\nMOT metrics against the scene's ground-truth tracks (objects >= {counting_eval.MIN_VISIBLE:.0%} visible, "
        f"IoU >= {mot.MATCH_IOU})"
    )
    _table(["scene", "tracker"] + _MOT_HEADER, mot_rows)
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
    _table(["objects"] + [f"{k} ms" for k in makers] + ["fastest peer / ours"], rows)
    return out
