"""Detector-like detections from ground truth, by a documented, seeded perturbation.

Per frame, for each true box (in this order, one generator, so a seed replays exactly):
1. occlusion bursts: an object not in a burst starts one with probability `burst_rate`, lasting
   a uniform `burst_frames` frames; while in a burst it is not detected;
2. independent misses with probability `miss_rate`;
3. centre noise: normal, std `position_noise` x the box's width (x) and height (y);
   size noise: width and height each times exp(normal(0, `size_noise`));
4. score: uniform in [0.6, 0.95], or with probability `low_score_rate` uniform in [0.15, 0.45]
   (a weak detection that ByteTrack-style trackers match only in their second stage);
5. class confusion: with probability `confusion_rate` the label is replaced by another class.
Then Poisson(`false_positives_per_frame`) false boxes are added, each the size of a random true
box of the frame (or 40 x 20 px), placed uniformly in the image, score uniform in [0.3, 0.7].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from argos_common.detections import Detections


@dataclass(frozen=True)
class Perturbation:
    position_noise: float = 0.0
    size_noise: float = 0.0
    miss_rate: float = 0.0
    burst_rate: float = 0.0
    burst_frames: tuple[int, int] = (5, 15)
    low_score_rate: float = 0.0
    confusion_rate: float = 0.0
    false_positives_per_frame: float = 0.0


CLEAN = Perturbation()


class Perturber:
    def __init__(self, perturbation: Perturbation, seed: int, image_size: tuple[int, int], classes: Sequence[str] = ()):
        self.p = perturbation
        self.rng = np.random.default_rng(seed)
        self.image_size = image_size
        self.classes = list(classes)
        self._burst_left: dict[str, int] = {}

    def __call__(self, truth: Detections) -> Detections:
        p, rng = self.p, self.rng
        boxes, scores, labels = [], [], []
        for box, label, object_id in zip(truth.boxes.astype(np.float64), truth.labels, truth.ids):
            left = self._burst_left.get(object_id, 0)
            if left == 0 and rng.random() < p.burst_rate:
                left = int(rng.integers(p.burst_frames[0], p.burst_frames[1] + 1))
            if left > 0:
                self._burst_left[object_id] = left - 1
                continue
            if rng.random() < p.miss_rate:
                continue
            w, h = box[2] - box[0], box[3] - box[1]
            cx = (
                (box[0] + box[2]) / 2 + rng.normal(0.0, p.position_noise * w)
                if p.position_noise
                else (box[0] + box[2]) / 2
            )
            cy = (
                (box[1] + box[3]) / 2 + rng.normal(0.0, p.position_noise * h)
                if p.position_noise
                else (box[1] + box[3]) / 2
            )
            if p.size_noise:
                w, h = w * np.exp(rng.normal(0.0, p.size_noise)), h * np.exp(rng.normal(0.0, p.size_noise))
            boxes.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
            low = p.low_score_rate and rng.random() < p.low_score_rate
            scores.append(rng.uniform(0.15, 0.45) if low else rng.uniform(0.6, 0.95))
            if p.confusion_rate and len(self.classes) > 1 and rng.random() < p.confusion_rate:
                label = str(rng.choice([c for c in self.classes if c != label]))
            labels.append(label)
        if p.false_positives_per_frame:
            width, height = self.image_size
            sizes = truth.boxes[:, 2:] - truth.boxes[:, :2] if len(truth) else np.array([[40.0, 20.0]])
            for _ in range(int(rng.poisson(p.false_positives_per_frame))):
                w, h = sizes[int(rng.integers(len(sizes)))]
                x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
                boxes.append((x, y, x + w, y + h))
                scores.append(rng.uniform(0.3, 0.7))
                labels.append(str(rng.choice(self.classes)) if self.classes else (labels[0] if labels else "car"))
        if not boxes:
            return Detections.empty()
        return Detections(np.array(boxes, np.float32), np.array(scores, np.float32), labels)
