"""MotionDetector on scenes synthesized here: a noisy textured background with rectangles of
known position moving across it, so every expected box is exact."""

import time
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from argos_common.params import resolve
from argos_inference.factory import create_detector
from argos_inference.motion import MotionDetector
from argos_inference.params import PARAMS

WIDTH, HEIGHT = 1280, 720


@dataclass(frozen=True)
class MovingRectangle:
    colour: tuple[int, int, int]
    size: tuple[int, int]  # width, height in source pixels
    start: tuple[int, int]  # top-left at frame 0
    velocity: tuple[int, int]  # pixels per frame
    label: str  # expected class from the default area bands

    def box(self, t: int) -> tuple[int, int, int, int]:
        x, y = self.start[0] + self.velocity[0] * t, self.start[1] + self.velocity[1] * t
        return x, y, x + self.size[0], y + self.size[1]


# Sizes of the default scene at ~9 px/m: a car 40x16, a bus 108x22, a car driving north.
# Their paths never touch: touching vehicles merge into one blob (a documented limitation).
TRAFFIC = (
    MovingRectangle((40, 40, 210), (40, 16), (80, 300), (8, 0), "car"),
    MovingRectangle((210, 70, 30), (108, 22), (1100, 400), (-7, 0), "bus"),
    MovingRectangle((50, 190, 70), (16, 40), (300, 650), (0, -6), "car"),
)


class Scene:
    def __init__(self, width=WIDTH, height=HEIGHT, noise_sigma=4.0, seed=3):
        self.rng = np.random.default_rng(seed)
        self.width, self.height, self.noise_sigma = width, height, noise_sigma
        texture = self.rng.integers(50, 200, (height, width, 3), dtype=np.uint8)
        self.background = cv2.GaussianBlur(texture, (0, 0), 2.5)

    def frame(self, t: int, objects=()) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
        image = self.background.copy()
        boxes = []
        for obj in objects:
            x1, y1, x2, y2 = obj.box(t)
            cv2.rectangle(image, (x1, y1), (x2 - 1, y2 - 1), obj.colour, -1)
            # a dark windscreen, so a vehicle is not one flat colour
            cv2.rectangle(image, (x1 + (x2 - x1) // 4, y1 + 2), (x1 + (x2 - x1) // 2, y2 - 3), (25, 25, 25), -1)
            boxes.append((x1, y1, x2, y2))
        noise = self.rng.standard_normal(image.shape, dtype=np.float32) * self.noise_sigma
        return np.clip(image + noise, 0, 255).astype(np.uint8), boxes

    def inside(self, box) -> bool:
        x1, y1, x2, y2 = box
        return x1 >= 0 and y1 >= 0 and x2 <= self.width and y2 <= self.height


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


# Short sequences: a short history makes first-frame ghosts fade within the short warm-up.
QUICK = {"motion.history": 50, "motion.warmup_frames": 10}


def default_detector(**overrides) -> MotionDetector:
    return create_detector(resolve(PARAMS, overrides))


@pytest.mark.parametrize("scale", [0.5, 0.25, 1.0])
def test_finds_each_moving_rectangle_after_warmup(scale):
    detector = default_detector(**{"motion.scale": scale})
    scene = Scene()
    frames = detector.warmup_frames + 30
    matched, cost_ms = 0, []
    for t in range(frames):
        image, truth = scene.frame(t, TRAFFIC)
        started = time.perf_counter()
        detections = detector.detect([image])[0]
        cost_ms.append((time.perf_counter() - started) * 1e3)
        if t < detector.warmup_frames:
            assert len(detections) == 0, f"frame {t}: detections during warm-up"
            continue
        for obj, box in zip(TRAFFIC, truth):
            if not scene.inside(box):
                continue
            overlaps = [iou(box, found) for found in detections.boxes]
            best = int(np.argmax(overlaps)) if overlaps else -1
            assert best >= 0 and overlaps[best] > 0.5, f"frame {t}: {box} not found in {detections.boxes.tolist()}"
            assert detections.labels[best] == obj.label
            assert 0.5 < detections.scores[best] <= 1.0
            matched += 1
        if t >= detector.warmup_frames + 5:  # first-frame ghosts have faded by now
            assert len(detections) == sum(scene.inside(b) for b in truth), f"frame {t}: {detections.boxes.tolist()}"
    assert matched >= 3 * 25
    steady = np.array(cost_ms[detector.warmup_frames :])
    print(
        f"\nmotion detector at {WIDTH}x{HEIGHT}, scale {scale}: "
        f"mean {steady.mean():.2f} ms, p95 {np.percentile(steady, 95):.2f} ms per frame"
    )


def test_static_sequence_gives_no_detections():
    detector = default_detector(**{"motion.warmup_frames": 10})
    scene = Scene(noise_sigma=6.0, seed=11)
    found = [len(detector.detect([scene.frame(t)[0]])[0]) for t in range(80)]
    assert sum(found) == 0


def test_batch_returns_one_result_per_image_in_order():
    detector = default_detector(**QUICK)
    scene = Scene(640, 360)
    for t in range(0, 16, 2):
        detector.detect([scene.frame(t, TRAFFIC[:1])[0], scene.frame(t + 1, TRAFFIC[:1])[0]])
    first, second = (scene.frame(t, TRAFFIC[:1]) for t in (16, 17))
    results = detector.detect([first[0], second[0]])
    assert len(results) == 2
    for (_, truth), detections in zip((first, second), results):
        assert len(detections) == 1 and iou(truth[0], detections.boxes[0]) > 0.5


def test_blob_below_min_area_is_ignored():
    tiny = MovingRectangle((40, 40, 210), (10, 8), (100, 100), (6, 0), "car")  # 80 px^2 < min_area 120
    detector = default_detector(**QUICK)
    scene = Scene(640, 360)
    results = [detector.detect([scene.frame(t, (tiny, TRAFFIC[0]))[0]])[0] for t in range(30)]
    assert all(len(d) == 1 and d.labels == ["car"] for d in results[16:])


def test_ragged_blob_scores_low_and_is_dropped_by_score_threshold():
    scene = Scene(640, 360)

    def slash_frame(t):
        image, _ = scene.frame(t)
        x = 200 + 6 * t
        cv2.line(image, (x, 380), (x + 80, 300), (230, 230, 40), 4)  # fills ~10% of its box
        return image

    kept_all = default_detector(**QUICK, score_threshold=0.0)
    scores = [s for t in range(25) for s in kept_all.detect([slash_frame(t)])[0].scores]
    assert scores and max(scores) < 0.3

    filtered = default_detector(**QUICK)
    assert sum(len(filtered.detect([slash_frame(t)])[0]) for t in range(25)) == 0


def test_resolution_change_restarts_warmup():
    detector = default_detector(**{"motion.warmup_frames": 5})
    big, small = Scene(), Scene(640, 360)
    for t in range(10):
        detector.detect([big.frame(t, TRAFFIC[:1])[0]])
    assert detector.warmed_up
    detections = detector.detect([small.frame(0, TRAFFIC[:1])[0]])[0]
    assert len(detections) == 0 and not detector.warmed_up
