"""Where the evaluations' detections come from, frame by frame.

- `truth`: the scene's ground-truth boxes of objects at least MIN_VISIBLE visible (those less
  than WEAK_VISIBLE visible as weak, 0.3-score detections, as a detector would see them), then
  the scene's seeded Perturbation (perturb.py). Needs no image, so the scene is not drawn.
- `model`: every frame is rendered and goes through the inference node's own detector, built
  by argos_inference.factory.create_detector from the inference parameters of config/edge.yaml
  (engine, model file, letterbox, decoder, NMS, score threshold): the same code the node runs,
  called without ROS.

A choice is plain data (`DetectorChoice`), so a worker process can open its own detector.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from argos_common.detections import Detections

from .perturb import CLEAN, Perturbation, Perturber
from .views import SIZE

TRUTH = "truth"
MODEL = "model"
DETECTORS = (TRUTH, MODEL)
MIN_VISIBLE = 0.3
WEAK_VISIBLE = 0.6


@dataclass(frozen=True)
class DetectorChoice:
    kind: str = TRUTH
    inference: dict[str, Any] = field(default_factory=dict)  # model: resolved inference parameters

    def describe(self) -> str:
        if self.kind == TRUTH:
            return "truth: ground truth + the scene's seeded perturbation"
        p = self.inference
        threads = p.get("model.threads", 0) or "onnxruntime default"
        return (
            f"model: {p['model.path']} ({p['engine']}, score_threshold {p['score_threshold']}, "
            f"intra-op threads {threads})"
        )


TRUTH_CHOICE = DetectorChoice()


def parse_detectors(text: str, option: str = "--detector") -> tuple[str, ...]:
    """'truth,model' -> ('truth', 'model'); ValueError naming `option` for anything else."""
    kinds = tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    if not kinds:
        raise ValueError(f"{option}: name one or more of {', '.join(DETECTORS)}")
    unknown = [k for k in kinds if k not in DETECTORS]
    if unknown:
        raise ValueError(f"{option} {','.join(unknown)}: unknown (known: {', '.join(DETECTORS)})")
    return kinds


def model_choice(
    model: str | None = None, threads: int = 0, config_path: str | None = None, overrides: dict | None = None
) -> DetectorChoice:
    """The inference parameters of the config (default config/edge.yaml, whose model is the
    bundled int8 argos-traffic-v1), with `model` (--model) in place of model.path and `threads`
    (> 0) intra-op threads. ValueError naming --model when the file is not there."""
    from argos_common.paths import resolve_path

    from ..config import default_config_path, load_config

    params = dict(load_config(config_path or default_config_path(), overrides).node("inference"))
    if model:
        params["model.path"] = model
        # the config's card describes the config's model: another model is read with the card
        # beside it that names it, else with what the ONNX file says about itself
        from argos_inference.model_metadata import card_beside

        card = card_beside(model)
        params["model.metadata"] = str(card) if card else ""
    if threads > 0:
        params["model.threads"] = int(threads)
    path = resolve_path(params["model.path"], "model.path")
    if not Path(path).is_file():
        raise ValueError(f"--model {model or params['model.path']}: model file not found ({path})")
    return DetectorChoice(MODEL, params)


def truth_to_detections(objects: Detections) -> Detections:
    visible = objects.scores >= MIN_VISIBLE
    scores = np.where(objects.scores >= WEAK_VISIBLE, 1.0, 0.3)[visible]
    return Detections(
        objects.boxes[visible],
        scores,
        [lab for lab, v in zip(objects.labels, visible) if v],
        [i for i, v in zip(objects.ids, visible) if v],
    )


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


class TruthDetections:
    needs_images = False

    def __init__(self, perturbation: Perturbation, seed: int, classes):
        self.perturbation = perturbation
        self._perturber = Perturber(perturbation, seed + 1000, SIZE, list(classes))

    def __call__(self, image, truth) -> Detections:
        seen = truth_to_detections(truth.objects)
        return _weak_stay_weak(self._perturber(seen), seen) if self.perturbation != CLEAN else seen

    def close(self) -> None:
        pass


class ModelDetections:
    needs_images = True

    def __init__(self, inference: dict[str, Any]):
        from argos_inference.factory import create_detector

        self.detector = create_detector(inference)

    def __call__(self, image, truth) -> Detections:
        # the rendered frame itself: the detector's letterbox reads it, nothing copies it first
        return self.detector.detect((image,))[0]

    def close(self) -> None:
        self.detector.close()


def open_detections(choice: DetectorChoice, perturbation: Perturbation, seed: int, classes):
    """The frame -> Detections callable of `choice` for one scene (its perturbation and seed
    matter to `truth` only)."""
    if choice.kind == TRUTH:
        return TruthDetections(perturbation, seed, classes)
    if choice.kind == MODEL:
        return ModelDetections(choice.inference)
    raise ValueError(f"--detector {choice.kind}: expected one of {', '.join(DETECTORS)}")


def detector_choices(
    kinds: tuple[str, ...],
    model: str | None = None,
    workers: int = 1,
    config_path: str | None = None,
    overrides: dict | None = None,
) -> tuple[DetectorChoice, ...]:
    """One choice per kind (parse_detectors). With several workers side by side each model gets
    one onnxruntime intra-op thread: N workers then use N cores, not N x the config's threads."""
    return tuple(
        TRUTH_CHOICE if kind == TRUTH else model_choice(model, 1 if workers > 1 else 0, config_path, overrides)
        for kind in kinds
    )
