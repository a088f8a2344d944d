"""Counting error on the synthetic intersection, per scene, line, class and direction.

Detections come from the scene's ground truth (the detector is evaluated elsewhere): objects at
least MIN_VISIBLE visible; those less than WEAK_VISIBLE visible are scored as weak (low-score)
detections, as a detector would; then the scene's seeded Perturbation. The counts of the
tracker node's own pipeline (argos_tracker.pipeline, with the node's defaults and the lines of
config/edge.yaml) are compared with the scene's ground-truth crossings per (line, class, direction).
The same run scores each tracker's reported tracks (the `tracks` topic) against the scene's
ground-truth tracks (objects at least MIN_VISIBLE visible, the ones a detector could see) with
MOTA, IDF1 and HOTA (scoring.MotScore).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from argos_common.classes import DEFAULT_CLASSES
from argos_common.detections import Detections
from argos_common.lines import parse_lines
from argos_tracker.pipeline import TrackingPipeline

from .perturb import CLEAN, Perturbation, Perturber
from .scoring import MotScore

MIN_VISIBLE = 0.3
WEAK_VISIBLE = 0.6
FPS = 15.0
SIZE = (1280, 720)


def config_lines() -> dict[str, Any]:
    """The counting lines of the shipped config/edge.yaml (the scene's arms), as tracker parameters."""
    from ..config import default_config_path, load_config

    tracker = load_config(default_config_path()).node("tracker")
    return {key: value for key, value in tracker.items() if key.startswith("lines.")}


_DETECTOR_NOISE = Perturbation(
    position_noise=0.03, size_noise=0.04, miss_rate=0.05, low_score_rate=0.1, confusion_rate=0.03
)


@dataclass(frozen=True)
class Scene:
    name: str
    conditions: tuple[str, ...]
    perturbation: Perturbation


SCENES = (
    Scene("clean", (), CLEAN),
    Scene("dense", ("dense",), Perturbation(**{**_DETECTOR_NOISE.__dict__, "burst_rate": 0.01})),
    Scene("stop_and_go", ("stop_and_go",), _DETECTOR_NOISE),
    Scene(
        "night",
        ("night",),
        Perturbation(**{**_DETECTOR_NOISE.__dict__, "miss_rate": 0.12, "low_score_rate": 0.3, "position_noise": 0.05}),
    ),
    Scene(
        "rain",
        ("rain",),
        Perturbation(**{**_DETECTOR_NOISE.__dict__, "false_positives_per_frame": 1.0, "position_noise": 0.05}),
    ),
    Scene("jitter", ("jitter",), _DETECTOR_NOISE),
)


def truth_to_detections(objects: Detections) -> Detections:
    visible = objects.scores >= MIN_VISIBLE
    scores = np.where(objects.scores >= WEAK_VISIBLE, 1.0, 0.3)[visible]
    return Detections(
        objects.boxes[visible],
        scores,
        [lab for lab, v in zip(objects.labels, visible) if v],
        [i for i, v in zip(objects.ids, visible) if v],
    )


def run_scene(
    scene: Scene, duration_s: float, seed: int, params: dict, peers: dict | None = None, mot: bool = False
) -> dict:
    """{'truth': Counter, 'ours': Counter, peer name: Counter} of (line, class, direction) over the
    scene. `params`: tracker parameters (the lines of config/edge.yaml are added); `peers`: name ->
    factory of another tracker, run through the same pipeline (the same counting). With `mot`,
    also 'mot': {tracker name: MOT scores against the scene's ground-truth tracks}."""
    from argos_sim import IntersectionScene

    params = {**params, **config_lines()}
    lines = parse_lines(params)
    sim = IntersectionScene(
        SIZE[0], SIZE[1], FPS, seed, DEFAULT_CLASSES, lines, conditions=scene.conditions, render=False
    )
    perturber = Perturber(scene.perturbation, seed + 1000, SIZE, DEFAULT_CLASSES)
    pipelines = {
        "ours": TrackingPipeline(params),
        **{name: TrackingPipeline(params, tracker=make()) for name, make in (peers or {}).items()},
    }
    counts = {name: Counter() for name in pipelines}
    scores = {name: MotScore(f"{scene.name}/{name}") for name in pipelines} if mot else {}
    truth = Counter()

    def tally(name: str, records) -> None:
        for r in records:
            counts[name][(r.line_id, r.class_id, r.direction)] += 1

    for frame in range(1, int(round(duration_s * FPS)) + 1):
        _, gt = sim.next_frame()
        stamp_ns = int(round(frame / FPS * 1e9))
        seen = truth_to_detections(gt.objects)
        dets = _weak_stay_weak(perturber(seen), seen) if scene.perturbation != CLEAN else seen
        for c in gt.crossings:
            truth[(c.crossing.line_id, c.label, c.crossing.direction)] += 1
        gt_ids = [i for i, v in zip(gt.objects.ids, gt.objects.scores >= MIN_VISIBLE) if v]
        gt_boxes = gt.objects.boxes[gt.objects.scores >= MIN_VISIBLE]
        for name, pipeline in pipelines.items():
            result = pipeline.update(dets, stamp_ns)
            tally(name, result.counts)
            if mot:
                scores[name].add(frame, gt_ids, gt_boxes, result.confirmed.ids, result.confirmed.boxes)
    # tracks still alive at the end: let the counters settle what they hold
    end_ns = int(round((duration_s * FPS + 1) / FPS * 1e9))
    for name, pipeline in pipelines.items():
        tally(name, pipeline.finish(end_ns))
    out: dict = {"truth": truth, **counts}
    if mot:
        out["mot"] = {name: score.compute() for name, score in scores.items()}
    return out


def _weak_stay_weak(perturbed: Detections, seen: Detections) -> Detections:
    """The perturber draws fresh scores; an object the scene shows only partly stays a weak detection."""
    if not len(perturbed) or not len(seen):
        return perturbed
    from argos_common.geometry import iou_matrix

    weak = seen.boxes[seen.scores < 1.0]
    if not len(weak):
        return perturbed
    overlap = iou_matrix(perturbed.boxes, weak).max(axis=1) > 0.5
    scores = np.where(overlap, np.minimum(perturbed.scores, 0.3), perturbed.scores)
    return Detections(perturbed.boxes, scores, perturbed.labels, perturbed.ids)


def count_error(truth: Counter, counted: Counter) -> dict:
    """Absolute error summed over (line, class, direction) keys, and relative to the true total."""
    keys = set(truth) | set(counted)
    abs_error = sum(abs(counted.get(k, 0) - truth.get(k, 0)) for k in keys)
    total = sum(truth.values())
    return {
        "true_total": total,
        "counted_total": sum(counted.values()),
        "abs_error": abs_error,
        "error_pct": 100.0 * abs_error / total if total else 0.0,
    }
