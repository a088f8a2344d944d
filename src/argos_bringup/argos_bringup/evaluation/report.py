"""Runs the evaluations and benchmark and prints their tables."""

from __future__ import annotations

from argos_common.classes import DEFAULT_CLASSES
from argos_tracker.pipeline import resolve_tracker_params
from argos_tracker.tracker import Tracker

from ..bench import tracker as bench
from . import counting as counting_eval
from . import machine, mot
from .peer import PeerByteTrack


def _table(header: list[str], rows: list[list]) -> None:
    cells = [header] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for k, row in enumerate(cells):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if k == 0:
            print("  ".join("-" * w for w in widths))


def _fmt(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def run_evaluation(duration_s: float, seed: int, scene_names: list[str], with_mot: bool, overrides: dict) -> dict:
    print(machine.describe())
    resolve_tracker_params(overrides)  # a bad override fails here, naming the key
    results: dict = {"machine": machine.describe(), "seed": seed, "tracker_overrides": overrides}
    if with_mot:
        print(f"\nMOT metrics (IoU >= {mot.MATCH_IOU}), detections = ground truth + {mot.MOT_PERTURBATION}")
        rows, results["mot"] = [], {}
        for name in mot.SEQUENCES:
            seq = mot.load_sequence(name)
            dets = mot.detections_for(seq, mot.MOT_PERTURBATION, seed)
            # resolved, so the peer gets our defaults too (coasting time, thresholds), not its own
            params = resolve_tracker_params({"classes": [mot.LABEL], **overrides})
            ours = mot.evaluate(seq, dets, lambda: Tracker(params))
            peer = mot.evaluate(seq, dets, lambda: PeerByteTrack(mot.SEQUENCE_FPS, params))
            results["mot"][name] = {"ours": ours, "supervision_bytetrack": peer}
            for who, m in (("ours", ours), ("supervision ByteTrack", peer)):
                rows.append(
                    [
                        name,
                        who,
                        m["mota"],
                        m["idf1"],
                        int(m["num_switches"]),
                        int(m["num_false_positives"]),
                        int(m["num_misses"]),
                    ]
                )
        _table(["sequence", "tracker", "MOTA", "IDF1", "IDSW", "FP", "FN"], rows)
    scenes = [s for s in counting_eval.SCENES if not scene_names or s.name in scene_names]
    unknown = set(scene_names) - {s.name for s in counting_eval.SCENES}
    if unknown:
        raise ValueError(f"unknown scene(s) {sorted(unknown)} (known: {[s.name for s in counting_eval.SCENES]})")
    print(f"\nCounting error, {duration_s:g} s per synthetic scene (seed {seed}), lines of config/edge.yaml")
    rows, detail, results["counting"] = [], [], {}
    params = resolve_tracker_params({"classes": list(DEFAULT_CLASSES), **overrides})
    for scene in scenes:
        counts = counting_eval.run_scene(
            scene, duration_s, seed, params, {"peer": lambda: PeerByteTrack(counting_eval.FPS, params)}
        )
        entry = {"conditions": list(scene.conditions), "perturbation": scene.perturbation.__dict__}
        for who in ("ours", "peer"):
            err = counting_eval.count_error(counts["truth"], counts[who])
            entry[who] = err
            rows.append(
                [
                    scene.name,
                    "ours" if who == "ours" else "supervision ByteTrack",
                    err["true_total"],
                    err["counted_total"],
                    err["abs_error"],
                    err["error_pct"],
                ]
            )
        entry["by_line_class_direction"] = [
            {
                "line": k[0],
                "class": k[1],
                "direction": k[2],
                "truth": counts["truth"].get(k, 0),
                "ours": counts["ours"].get(k, 0),
                "peer": counts["peer"].get(k, 0),
            }
            for k in sorted(set(counts["truth"]) | set(counts["ours"]) | set(counts["peer"]))
        ]
        detail += [
            [scene.name, f"{r['line']}/{r['class']}/{r['direction']}", r["truth"], r["ours"], r["peer"]]
            for r in entry["by_line_class_direction"]
            if not r["truth"] == r["ours"] == r["peer"]
        ]
        results["counting"][scene.name] = entry
    _table(["scene", "tracker", "true", "counted", "|error|", "error %"], rows)
    if detail:
        print("\nKeys where a count differs from the truth (line/class/direction):")
        _table(["scene", "key", "truth", "ours", "peer"], detail)
    return results


def run_bench(object_counts: list[int], frames: int) -> None:
    print(machine.describe())
    print(
        f"\nms per frame, {frames} frames of N objects (constant velocity, 1 px noise), after 5 warm-up frames; "
        "median of 5 runs"
    )
    rows = []
    for n in object_counts:
        dets = bench.moving_objects(n, frames + 5)
        params = resolve_tracker_params({"classes": ["car"], "max_tracks": max(256, 2 * n)})
        ours = bench.ms_per_frame(lambda: Tracker(params), dets)
        fixed = bench.ms_per_frame(lambda: Tracker({**params, "filter": "fixed_gain"}), dets)
        peer = bench.ms_per_frame(lambda: PeerByteTrack(bench.FPS, params), dets)
        rows.append([n, ours, fixed, peer, peer / ours, peer / fixed])
    _table(
        [
            "objects",
            "ours kalman ms",
            "ours fixed_gain ms",
            "supervision ByteTrack ms",
            "speed-up kalman",
            "speed-up fixed_gain",
        ],
        rows,
    )
