"""Counting error on the synthetic intersection, per view, scene, line, class and direction.

Detections come from the scene's ground truth with the scene's seeded Perturbation (`truth`,
the default: the comparison is of tracking) or from the bundled detector on the rendered frames
(`model`: the detector in the loop); see detectors.py. The counts of the tracker node's own
pipeline (argos_tracker.pipeline, with the node's defaults and the lines of config/edge.yaml as
the view's image shows them) are compared with the scene's ground-truth crossings per (line,
class, direction). The same run scores each tracker's reported tracks (the `tracks` topic)
against the scene's ground-truth tracks (objects at least MIN_VISIBLE visible, the ones a
detector could see) with MOTA, IDF1 and HOTA (scoring.MotScore). Peers get the same detections.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from argos_common.classes import DEFAULT_CLASSES
from argos_common.lines import parse_lines
from argos_tracker.pipeline import TrackingPipeline

from .detectors import MIN_VISIBLE, TRUTH_CHOICE, WEAK_VISIBLE, DetectorChoice, truth_to_detections
from .loop import SceneLoop
from .occlusion import OcclusionEvents
from .perturb import CLEAN, Perturbation
from .scoring import MotScore
from .views import DEFAULT_VIEW, FPS, SIZE

__all__ = [
    "FPS",
    "MIN_VISIBLE",
    "SCENES",
    "SIZE",
    "WEAK_VISIBLE",
    "Scene",
    "SceneCell",
    "config_lines",
    "count_error",
    "run_cell",
    "run_scene",
    "scene_named",
    "truth_to_detections",
]


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


def scene_named(name: str) -> Scene:
    for scene in SCENES:
        if scene.name == name:
            return scene
    raise ValueError(f"unknown scene {name!r} (known: {', '.join(s.name for s in SCENES)})")


def run_scene(
    scene: Scene,
    duration_s: float,
    seed: int,
    params: dict,
    peers: dict | None = None,
    mot: bool = False,
    view: str = DEFAULT_VIEW,
    detector: DetectorChoice = TRUTH_CHOICE,
) -> dict:
    """{'truth': Counter, 'ours': Counter, peer name: Counter} of (line, class, direction) over the
    scene, and 'timing' (ms per frame). `params`: tracker parameters (the lines of
    config/edge.yaml are added, as `view` shows them); `peers`: name -> factory of another
    tracker, run through the same pipeline (the same counting) on the same detections. With
    `mot`, also 'mot': {tracker name: MOT scores against the scene's ground-truth tracks}."""
    params = {**params, **config_lines()}
    loop = SceneLoop(view, scene.conditions, seed, parse_lines(params), detector, scene.perturbation, DEFAULT_CLASSES)
    params = loop.tracker_params(params)
    pipelines = {
        "ours": TrackingPipeline(params),
        **{name: TrackingPipeline(params, tracker=make()) for name, make in (peers or {}).items()},
    }
    counts = {name: Counter() for name in pipelines}
    scores = {name: MotScore(f"{view}/{scene.name}/{name}") for name in pipelines} if mot else {}
    occlusions = {name: OcclusionEvents() for name in pipelines} if mot else {}
    truth = Counter()

    def tally(name: str, records) -> None:
        for r in records:
            counts[name][(r.line_id, r.class_id, r.direction)] += 1

    frames = int(round(duration_s * FPS))
    try:
        for frame, gt, dets in loop.frames(frames):
            for c in gt.crossings:
                truth[(c.crossing.line_id, c.label, c.crossing.direction)] += 1
            visible = gt.objects.scores >= MIN_VISIBLE
            gt_ids = [i for i, v in zip(gt.objects.ids, visible) if v]
            gt_boxes = gt.objects.boxes[visible]
            with loop.track_time():
                for name, pipeline in pipelines.items():
                    result = pipeline.update(dets, loop.stamp_ns(frame))
                    tally(name, result.counts)
                    if mot:
                        shown = result.confirmed
                        scores[name].add(frame, gt_ids, gt_boxes, shown.ids, shown.boxes)
                        occlusions[name].add(
                            gt.objects.ids, gt.objects.boxes, gt.objects.scores, shown.ids, shown.boxes
                        )
    finally:
        loop.close()
    # tracks still alive at the end: let the counters settle what they hold
    for name, pipeline in pipelines.items():
        tally(name, pipeline.finish(loop.stamp_ns(frames + 1)))
    out: dict = {"truth": truth, **counts, "timing": loop.timing()}
    if mot:
        out["mot"] = {name: {**score.compute(), **occlusions[name].summary()} for name, score in scores.items()}
    return out


@dataclass(frozen=True)
class SceneCell:
    """One run of `argos eval tracker`'s scenes, as plain data (it may run in a worker process)."""

    scene: str
    view: str
    seed: int
    duration_s: float
    params: dict[str, Any] = field(default_factory=dict)  # resolved tracker parameters
    detector: DetectorChoice = TRUTH_CHOICE
    peers: bool = True
    mot: bool = True


def run_cell(cell: SceneCell) -> dict:
    """run_scene of one cell, ours and (cell.peers) every peer, with the cell's detector."""
    from .peer import peer_factories

    peers = peer_factories(FPS, cell.params) if cell.peers else None
    return run_scene(
        scene_named(cell.scene), cell.duration_s, cell.seed, cell.params, peers, cell.mot, cell.view, cell.detector
    )


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
