"""ms per frame of the tracker against its peers at a given number of objects.

Objects move at constant velocity in random directions across a 1280 x 720 image (bouncing off
its edges), detected every frame with 1 px box noise; every tracker gets the same detections.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from argos_common.detections import Detections

FPS = 15.0
SIZE = (1280.0, 720.0)


def moving_objects(count: int, frames: int, seed: int = 0) -> list[Detections]:
    rng = np.random.default_rng(seed)
    pos = rng.uniform((40, 40), (SIZE[0] - 40, SIZE[1] - 40), (count, 2))
    vel = rng.normal(0.0, 60.0, (count, 2))
    half = rng.uniform((8, 5), (25, 12), (count, 2))
    out = []
    for _ in range(frames):
        pos += vel / FPS
        for axis in (0, 1):
            hit = (pos[:, axis] < half[:, axis]) | (pos[:, axis] > SIZE[axis] - half[:, axis])
            vel[hit, axis] *= -1
        boxes = np.c_[pos - half, pos + half] + rng.normal(0.0, 1.0, (count, 4))
        out.append(
            Detections(boxes.astype(np.float32), rng.uniform(0.6, 0.95, count).astype(np.float32), ["car"] * count)
        )
    return out


def run_once(make_tracker, frames: list[Detections], warmup: int = 5) -> float:
    """Mean ms per frame of a fresh tracker after `warmup` frames."""
    tracker = make_tracker()
    for i, dets in enumerate(frames[:warmup]):
        tracker.update(dets, int(i / FPS * 1e9))
    started = time.perf_counter()
    for i, dets in enumerate(frames[warmup:], start=warmup):
        tracker.update(dets, int(i / FPS * 1e9))
    return 1000.0 * (time.perf_counter() - started) / max(1, len(frames) - warmup)


def ms_per_frame(make_tracker, frames: list[Detections], warmup: int = 5, repeats: int = 5) -> float:
    """Median over `repeats` fresh trackers of the mean ms per frame after `warmup` frames (the
    median, because the machine is shared and single runs vary by tens of percent)."""
    return float(statistics.median(run_once(make_tracker, frames, warmup) for _ in range(repeats)))


def compare(makers: dict, frames: list[Detections], warmup: int = 5, repeats: int = 5) -> dict[str, float]:
    """Name -> median ms per frame, the trackers taking turns within each repeat: load from other
    work on the shared machine then falls on all of them alike instead of on whichever ran last."""
    runs: dict[str, list[float]] = {name: [] for name in makers}
    for _ in range(repeats):
        for name, make in makers.items():
            runs[name].append(run_once(make, frames, warmup))
    return {name: float(statistics.median(r)) for name, r in runs.items()}
