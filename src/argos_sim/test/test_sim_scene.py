"""The synthetic intersection: determinism, ground-truth geometry, crossings, traffic rules."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml

from argos_common.classes import DEFAULT_CLASSES
from argos_common.lines import DIRECTION_IN, DIRECTION_OUT, parse_lines
from argos_common.params import flatten
from argos_sim.scene import IntersectionScene, ground_truth_totals

CONFIG = Path(__file__).resolve().parents[3] / "config" / "edge.yaml"
ENTERING_LANE = {"west": "eastbound", "east": "westbound", "north": "southbound", "south": "northbound"}


@pytest.fixture(scope="module")
def lines():
    return parse_lines(flatten(yaml.safe_load(CONFIG.read_text())["/**"]["ros__parameters"]))


def make_scene(lines, **overrides):
    args = dict(width=1280, height=720, fps=15.0, seed=7, classes=list(DEFAULT_CLASSES), lines=lines)
    args.update(overrides)
    return IntersectionScene(**args)


@pytest.fixture(scope="module")
def forty_seconds(lines):
    """600 frames (40 s of scene time) of the default scene: (scene, frames' ground truths, last image)."""
    scene = make_scene(lines)
    truths, image = [], None
    for _ in range(600):
        image, truth = scene.next_frame()
        truths.append(truth)
    return scene, truths, image


def test_same_seed_gives_identical_frames_and_ground_truth(lines):
    a, b = make_scene(lines), make_scene(lines)
    for _ in range(100):
        image_a, truth_a = a.next_frame()
        image_b, truth_b = b.next_frame()
        assert np.array_equal(image_a, image_b)
        assert np.array_equal(truth_a.objects.boxes, truth_b.objects.boxes)
        assert np.array_equal(truth_a.objects.scores, truth_b.objects.scores)
        assert truth_a.objects.labels == truth_b.objects.labels
        assert truth_a.objects.ids == truth_b.objects.ids
        assert truth_a.crossings == truth_b.crossings


def test_other_seed_gives_other_traffic(lines):
    a, b = make_scene(lines, seed=1), make_scene(lines, seed=2)
    _, truth_a = a.next_frame()
    _, truth_b = b.next_frame()
    assert truth_a.objects.ids != truth_b.objects.ids or not np.array_equal(
        truth_a.objects.boxes, truth_b.objects.boxes
    )


def test_image_is_bgr_of_the_requested_size(lines):
    image, _ = make_scene(lines, width=640, height=360).next_frame()
    assert image.shape == (360, 640, 3) and image.dtype == np.uint8


def test_ground_truth_boxes_lie_inside_the_image(forty_seconds):
    _, truths, _ = forty_seconds
    seen = 0
    for truth in truths:
        boxes = truth.objects.boxes
        seen += len(boxes)
        assert np.all(boxes[:, 0] >= 0) and np.all(boxes[:, 1] >= 0)
        assert np.all(boxes[:, 2] <= 1280) and np.all(boxes[:, 3] <= 720)
        assert np.all(boxes[:, 2] > boxes[:, 0]) and np.all(boxes[:, 3] > boxes[:, 1])
        assert np.all((truth.objects.scores >= 0) & (truth.objects.scores <= 1))
        assert all(i.startswith("gt-") for i in truth.objects.ids)
        assert len(set(truth.objects.ids)) == len(truth.objects.ids)
        assert set(truth.objects.labels) <= set(DEFAULT_CLASSES)
    assert seen > 600 * 5  # a busy junction, not an empty road


def test_vehicle_pixels_differ_from_the_empty_road(forty_seconds):
    scene, truths, image = forty_seconds
    background = scene.renderer.background.astype(np.int16)
    objects = truths[-1].objects
    fully_visible = [i for i, s in enumerate(objects.scores) if s == 1.0]
    assert fully_visible
    for i in fully_visible:
        x1, y1, x2, y2 = objects.boxes[i].astype(int)
        diff = np.abs(image[y1:y2, x1:x2].astype(np.int16) - background[y1:y2, x1:x2]).max(axis=2)
        assert np.mean(diff > 25) > 0.1, (objects.labels[i], objects.ids[i])


def test_vehicles_cross_every_line_both_ways_and_entering_is_in(forty_seconds):
    _, truths, _ = forty_seconds
    crossings = [c for t in truths for c in t.crossings]
    by_line_direction = Counter((c.crossing.line_id, c.crossing.direction) for c in crossings)
    for line in ENTERING_LANE:
        assert by_line_direction[line, DIRECTION_IN] > 0, line
        assert by_line_direction[line, DIRECTION_OUT] > 0, line
    for c in crossings:
        entering = c.crossing.lane == ENTERING_LANE[c.crossing.line_id]
        assert (c.crossing.direction == DIRECTION_IN) == entering, c
        assert c.speed_px_s > 0
    # an object crosses a given line at most once
    assert len({(c.object_id, c.crossing.line_id) for c in crossings}) == len(crossings)


def test_totals_match_the_crossings_reported_per_frame(forty_seconds):
    scene, truths, _ = forty_seconds
    expected = ground_truth_totals(c for t in truths for c in t.crossings)
    assert scene.ground_truth_totals() == expected
    assert sum(expected.values()) > 20


def test_traffic_mix_has_cars_most_frequent(forty_seconds):
    _, truths, _ = forty_seconds
    first_ids = {}
    for t in truths:
        for i, label in zip(t.objects.ids, t.objects.labels):
            first_ids.setdefault(i, label)
    per_class = Counter(first_ids.values())
    assert per_class.most_common(1)[0][0] == "car"
    assert len(per_class) >= 4


def test_vehicles_in_one_lane_never_overlap(lines):
    scene = make_scene(lines, density=3.0)
    for _ in range(300):
        scene.next_frame()
        by_lane = {}
        for v in scene.traffic.vehicles:
            if v.s < v.route.box_start:  # still on the shared approach lane
                by_lane.setdefault(v.route.links[0].id, []).append((v.rear, v.s))
        for spans in by_lane.values():
            spans.sort()
            for (_, front), (rear, _) in zip(spans, spans[1:]):
                assert front <= rear


def test_queues_stop_at_red_and_move_again(lines):
    scene = make_scene(lines, density=2.0)
    speeds, before = {}, {}
    for _ in range(600):
        scene.next_frame()
        for v in scene.traffic.vehicles:
            speeds.setdefault(v.number, []).append(v.v)
            passed_stop_line = v.number in before and before[v.number] <= v.route.stop_offset < v.s
            if passed_stop_line and scene.signals[v.route.axis] == "red":
                assert v.committed, "only a vehicle that went on amber may still pass on red"
            before[v.number] = v.s
    # stop and go: some vehicle was standing and later drove at speed again
    assert any(0.0 in s and s[-1] > 50.0 for s in speeds.values())


def test_occluder_hides_part_of_vehicles_and_can_be_removed(lines):
    with_tree = make_scene(lines, seed=3)
    without = make_scene(lines, seed=3, occluders=False)
    hidden_with, hidden_without = 0, 0
    for _ in range(300):
        _, truth_a = with_tree.next_frame()
        _, truth_b = without.next_frame()
        assert truth_a.objects.ids == truth_b.objects.ids  # the occluder changes pixels, not traffic
        inside_a = _fully_inside(truth_a.objects.boxes)
        inside_b = _fully_inside(truth_b.objects.boxes)
        hidden_with += int(np.sum(truth_a.objects.scores[inside_a] < 0.95))
        hidden_without += int(np.sum(truth_b.objects.scores[inside_b] < 0.95))
    assert hidden_with > 0
    assert hidden_with > hidden_without


def _fully_inside(boxes):
    return (boxes[:, 0] > 1) & (boxes[:, 1] > 1) & (boxes[:, 2] < 1279) & (boxes[:, 3] < 719)


def test_occluder_keeps_clear_of_the_counting_lines(lines):
    scene = make_scene(lines)
    mask = scene.renderer.occluder_mask
    assert mask.any()
    for line in lines:
        for a, b in zip(line.points, line.points[1:]):
            for t in np.linspace(0, 1, 50):
                x, y = a + t * (b - a)
                assert not mask[int(y), int(x)], line.id


def test_unknown_class_is_drawn_as_a_generic_vehicle(lines):
    scene = make_scene(lines, classes=["tractor"], density=2.0)
    image, truth = scene.next_frame()
    assert len(truth.objects) > 0 and set(truth.objects.labels) == {"tractor"}


def test_scaled_scene_scales_boxes(lines):
    full = make_scene(lines, occluders=False)
    half = make_scene(lines, width=640, height=360, occluders=False)
    _, truth_full = full.next_frame()
    _, truth_half = half.next_frame()
    assert truth_full.objects.ids == truth_half.objects.ids
    inside = _fully_inside(truth_full.objects.boxes)
    assert np.allclose(truth_half.objects.boxes[inside] * 2, truth_full.objects.boxes[inside], atol=0.5)
