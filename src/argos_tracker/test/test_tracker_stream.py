"""End-to-end core check: a simulated stream of 20 road users through the configured
intersection, detected with box noise, must give exactly the true counts per line, lane,
class and direction."""

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pytest
from tracker_test_lines import EDGE_LINES as CONFIG_LINES

from argos_common.detections import Detections
from argos_tracker.params import PARAMS
from argos_tracker.pipeline import TrackingPipeline

FPS = 15
WIDTH, HEIGHT = 1280, 720
# lane -> (start centre, unit direction, px per frame); boxes are long along the direction of travel
LANES = {
    "eastbound": ((-30.0, 386.0), (1.0, 0.0), 7.0),
    "westbound": ((WIDTH + 30.0, 316.0), (-1.0, 0.0), 8.5),
    "southbound": ((605.0, -30.0), (0.0, 1.0), 5.0),
    "northbound": ((675.0, HEIGHT + 30.0), (0.0, -1.0), 10.0),
}
SIZES = {"car": (40.0, 18.0), "van": (48.0, 20.0), "truck": (80.0, 24.0), "motorcycle": (20.0, 8.0)}


@dataclass
class RoadUser:
    lane: str
    label: str
    spawn: int

    def box(self, frame):
        (x0, y0), (dx, dy), speed = LANES[self.lane]
        t = frame - self.spawn
        cx, cy = x0 + dx * speed * t, y0 + dy * speed * t
        length, width = SIZES[self.label]
        w, h = (length, width) if dx else (width, length)
        return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def make_scene(seed):
    rng = np.random.default_rng(seed)
    users = []
    for lane in LANES:
        spawn = int(rng.integers(0, 20))
        for _ in range(5):
            users.append(RoadUser(lane, str(rng.choice(list(SIZES))), spawn))
            spawn += int(rng.integers(22, 40))  # headway: at least ~110 px between followers
    return users


def true_totals(users, lines, frames):
    # Paths are straight, so the chord from the first to the last anchor crosses exactly the
    # lines the object crosses (per-frame steps could land exactly on a line at integer speeds).
    totals = Counter()
    for u in users:
        first, last = u.box(u.spawn), u.box(frames - 1)
        p, q = ((first[0] + first[2]) / 2, first[3]), ((last[0] + last[2]) / 2, last[3])
        for line in lines:
            c = line.crossing(p, q)
            if c:
                totals[(c.line_id, c.lane, u.label, c.direction)] += 1
    return totals


def detect(users, frame, rng, miss_rate, confusion_rate):
    boxes, scores, labels = [], [], []
    for u in users:
        if frame < u.spawn or rng.random() < miss_rate:
            continue
        b = np.clip(u.box(frame) + rng.normal(0.0, 1.0, 4), 0, [WIDTH, HEIGHT, WIDTH, HEIGHT])
        if (b[2] - b[0]) * (b[3] - b[1]) < 60:  # (almost) outside the image
            continue
        label, score = u.label, rng.uniform(0.6, 0.95)
        if rng.random() < confusion_rate:  # a weaker, wrong class now and then
            label, score = "unclassified", rng.uniform(0.3, 0.55)
        boxes.append(b)
        scores.append(score)
        labels.append(label)
    return Detections(np.array(boxes).reshape(-1, 4), np.array(scores), labels)


@pytest.mark.parametrize("seed, miss_rate, confusion_rate", [(0, 0.0, 0.0), (1, 0.0, 0.0), (2, 0.1, 0.1)])
def test_simulated_intersection_counts_exactly(seed, miss_rate, confusion_rate):
    users = make_scene(seed)
    assert len(users) == 20
    frames = max(u.spawn for u in users) + 200
    pipeline = TrackingPipeline(CONFIG_LINES)  # the node's pipeline with its defaults
    rng = np.random.default_rng(100 + seed)
    events = []
    for frame in range(frames):
        stamp = frame * 1_000_000_000 // FPS
        events += pipeline.update(detect(users, frame, rng, miss_rate, confusion_rate), stamp).counts

    expected = true_totals(users, pipeline.lines, frames)
    assert sum(expected.values()) == 40  # every road user passes two lines
    assert pipeline.totals.as_dict() == dict(expected)
    # one track per road user: every track that counted did so on exactly two lines
    per_track = Counter(e.track_id for e in events)
    assert len(per_track) == 20 and set(per_track.values()) == {2}


def test_config_section_keys_are_parameters():
    names = {getattr(p, "name", None) for p in PARAMS}
    for key, kind in [
        ("high_score", "float"),
        ("low_score", "float"),
        ("iou_threshold", "float"),
        ("confirm_hits", "int"),
        ("max_coast_s", "float"),
        ("anchor", "str"),
        ("classes", "str[]"),
    ]:
        assert key in names
        assert next(p for p in PARAMS if getattr(p, "name", None) == key).type == kind
