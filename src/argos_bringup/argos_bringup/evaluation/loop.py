"""The frame loop both scene evaluations share: one scene in one view, its detections frame by
frame (detectors.py), the tracker parameters of that view, and where the time went.

The scene is drawn only when the detections need the image (`model`); the image goes from the
renderer to the detector as it is. Times are per frame: the scene's step (with rendering), the
detections, and whatever the caller does with them (`track_time`: the trackers and scoring).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from argos_common.detections import Detections
from argos_common.lines import CountingLine
from argos_common.stats import percentiles

from .detectors import DetectorChoice, open_detections
from .perturb import Perturbation
from .views import FPS, open_scene, view_tracker_params


class SceneLoop:
    def __init__(
        self,
        view: str,
        conditions: Sequence[str],
        seed: int,
        lines: Sequence[CountingLine],
        detector: DetectorChoice,
        perturbation: Perturbation,
        classes: Sequence[str],
    ):
        """`lines`: the counting lines on the top view (the scene's ground truth is counted on
        them); `perturbation`: what `truth` detections get in this scene."""
        self._started = time.perf_counter()  # the cell's wall time includes loading the model
        self.view = view
        self.detector = detector
        self.lines = list(lines)
        self._detections = open_detections(detector, perturbation, seed, classes)
        self.scene = open_scene(view, seed, classes, self.lines, conditions, render=self._detections.needs_images)
        self._scene_s: list[float] = []
        self._detect_s: list[float] = []
        self._track_s = 0.0

    def tracker_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """`params` with the lines (and ground plane, if known) of this view's image."""
        return view_tracker_params(self.scene, self.lines, params)

    def frames(self, count: int) -> Iterator[tuple[int, Any, Detections]]:
        """(frame number from 1, ground truth, detections) for `count` frames."""
        clock = time.perf_counter
        for frame in range(1, count + 1):
            t0 = clock()
            image, truth = self.scene.next_frame()
            t1 = clock()
            dets = self._detections(image, truth)
            self._scene_s.append(t1 - t0)
            self._detect_s.append(clock() - t1)
            yield frame, truth, dets

    @staticmethod
    def stamp_ns(frame: int) -> int:
        return int(round(frame / FPS * 1e9))

    @contextmanager
    def track_time(self):
        """Time spent on a frame's detections after the loop handed them over."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self._track_s += time.perf_counter() - t0

    def timing(self) -> dict[str, Any]:
        """Milliseconds per frame (detector: mean, p50, p95) and the cell's wall time."""
        frames = len(self._detect_s)
        detect_ms = np.asarray(self._detect_s) * 1e3
        return {
            "frames": frames,
            "scene_ms": round(1e3 * sum(self._scene_s) / frames, 2) if frames else None,
            "detector_ms": round(float(detect_ms.mean()), 2) if frames else None,
            **{f"detector_ms_{k}": v for k, v in percentiles(detect_ms).items()},
            "tracking_ms": round(1e3 * self._track_s / frames, 2) if frames else None,
            "wall_s": round(time.perf_counter() - self._started, 1),
        }

    def close(self) -> None:
        self._detections.close()
