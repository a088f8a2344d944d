"""The pole-camera view of the synthetic intersection: camera model, depth order, ground truth
that a perfect tracker reproduces, the same traffic as the top view, URI options."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml

from argos_common.classes import DEFAULT_CLASSES
from argos_common.lines import parse_lines
from argos_common.params import flatten
from argos_sim import PIXELS_PER_METER, SceneOptions, open_scene, parse_scene_uri
from argos_sim.road_network import BASE_HEIGHT, BASE_WIDTH
from argos_sim.scene import IntersectionScene
from argos_sim.traffic import Vehicle, unit_pose
from argos_sim.vehicle_classes import build_units, class_for
from argos_sim.views import PoleCamera, PoleView, coverage_points, map_points

CONFIG = Path(__file__).resolve().parents[3] / "config" / "edge.yaml"


@pytest.fixture(scope="module")
def lines():
    return parse_lines(flatten(yaml.safe_load(CONFIG.read_text())["/**"]["ros__parameters"]))


def pole_scene(lines=(), width=1280, height=720, **kw):
    args = dict(seed=7, render=False)
    args.update(kw)
    return IntersectionScene(
        width, height, 15.0, args.pop("seed"), list(DEFAULT_CLASSES), list(lines), view="pole", **args
    )


def anchors(boxes):
    """The tracker's anchor: bottom centre of each box."""
    return [((float(b[0]) + float(b[2])) / 2.0, float(b[3])) for b in boxes]


# -- camera model ---------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(1280, 720), (640, 360)])
def test_homography_round_trip_and_projection_agree(size):
    view = PoleView(PoleCamera(), *size)
    scale = np.array([size[0] / BASE_WIDTH, size[1] / BASE_HEIGHT])
    rng = np.random.default_rng(0)
    ground = rng.uniform((400, 180), (880, 540), (200, 2)) * scale  # scene map px around the junction
    image, w = map_points(view.ground_to_image, ground)
    assert np.all(w > 0)
    back, _ = map_points(view.image_to_ground, image)
    np.testing.assert_allclose(back, ground, atol=1e-6)
    # the 3D projection of the same ground points (z = 0, metres) lands on the same pixels
    metres = ground / scale / PIXELS_PER_METER
    projected, depth = view.project(np.c_[metres, np.zeros(len(metres))])
    assert np.all(depth > 0)
    np.testing.assert_allclose(projected, image, atol=1e-6)
    metres_back, _ = map_points(view.image_to_metres, image)
    np.testing.assert_allclose(metres_back, metres, atol=1e-6)


def test_the_junction_all_counting_lines_and_the_road_beyond_them_are_in_the_image(lines):
    scene = pole_scene(lines)
    coverage, _ = map_points(scene.ground_to_image, coverage_points())
    assert np.all((coverage > 0) & (coverage < (1280, 720)))
    for line in lines:
        on_image, _ = map_points(scene.ground_to_image, line.points)
        assert np.all((on_image > 0) & (on_image < (1280, 720))), line.id


def test_view_lines_keep_ids_lanes_and_the_in_side(lines):
    scene = pole_scene(lines)
    assert [line.id for line in scene.view_lines] == [line.id for line in lines]
    for line, seen in zip(lines, scene.view_lines):
        assert seen.lanes == line.lanes
        # a point on the map's positive ("in" starts there) side is on the image line's positive side
        a, b = line.points[0], line.points[1]
        probe = (a + b) / 2 + np.array([-(b - a)[1], (b - a)[0]]) * 0.1  # to the right of a -> b (y down)
        assert line.side(probe) > 0
        probe_image, _ = map_points(scene.ground_to_image, probe[None])
        assert seen.side(probe_image[0]) > 0, line.id


def test_image_to_metres_gives_a_vehicles_speed():
    """The ground homography (image px -> m, the tracker's parameter form) turns a vehicle's
    image motion into its true speed."""
    scene = pole_scene()
    homography = np.array(scene.ground_homography).reshape(3, 3)
    track: dict[int, list] = {}
    for _ in range(45):
        scene.next_frame()
        for v in scene.traffic.vehicles:
            front, _ = unit_pose(v, v.units[0])
            image, _ = map_points(scene.ground_to_image, front[None])
            metres, _ = map_points(homography, image)
            track.setdefault(v.number, []).append((metres[0], v.v / PIXELS_PER_METER))
    checked = 0
    for samples in track.values():
        for (p, speed), (q, speed_next) in zip(samples, samples[1:]):
            if speed > 2.0:
                measured = float(np.hypot(*(q - p))) * 15.0
                assert measured == pytest.approx((speed + speed_next) / 2.0, rel=0.02)
                checked += 1
    assert checked > 100


# -- depth order and visibility -------------------------------------------------------------
def _parked(scene, number, approach, lane, s, label="car"):
    route = scene.traffic.routes[approach, lane, False]
    vclass = class_for(label)
    units = build_units(vclass, np.random.default_rng(number))
    return Vehicle(number, vclass, route, units, desired_speed=1.0, accel=1e-6, s=float(s), v=0.0)


def test_a_vehicle_behind_another_is_partly_hidden_and_the_near_one_not():
    scene = pole_scene(density=0.0, occluders=False, warmup_s=0.0)
    # from the pole at the south-west corner, a southbound bus on the south arm's near lane
    # stands in front of a northbound car in the far lane
    near = _parked(scene, 1, "southbound", 1, 560.0, label="bus")
    far = _parked(scene, 2, "northbound", 1, 266.0)
    for vehicles in ([near, far], [far, near]):  # the order of the traffic list does not matter
        scene.traffic.vehicles = list(vehicles)
        _, truth = scene.next_frame()
        objects = dict(zip(truth.objects.ids, zip(truth.objects.boxes, truth.objects.scores)))
        (box_near, score_near), (box_far, score_far) = objects["gt-1"], objects["gt-2"]
        assert box_near[0] < box_far[2] and box_far[0] < box_near[2]  # overlap in the image
        assert box_near[1] < box_far[3] and box_far[1] < box_near[3]
        assert score_near == 1.0
        assert 0.05 < score_far < 0.95


def test_unoccluded_vehicles_inside_the_image_are_fully_visible_and_boxes_inside():
    scene = pole_scene(occluders=False)
    full = 0
    for _ in range(60):
        _, truth = scene.next_frame()
        boxes = truth.objects.boxes
        assert np.all(boxes[:, :2] >= 0) and np.all(boxes[:, 2] <= 1280) and np.all(boxes[:, 3] <= 720)
        assert np.all(boxes[:, 2] > boxes[:, 0]) and np.all(boxes[:, 3] > boxes[:, 1])
        assert np.all((truth.objects.scores >= 0) & (truth.objects.scores <= 1))
        full += int(np.sum(truth.objects.scores == 1.0))
    assert full > 60


def test_trees_hide_vehicles_in_the_dense_scene():
    with_trees = pole_scene((), 640, 360, conditions="dense", seed=3)
    without = pole_scene((), 640, 360, conditions="dense", seed=3, occluders=False)
    visible: Counter = Counter()
    for _ in range(150):
        for name, scene in (("with", with_trees), ("without", without)):
            _, truth = scene.next_frame()
            visible[name] += float(np.sum(truth.objects.scores))
    assert visible["with"] < visible["without"] - 10.0


# -- ground truth -----------------------------------------------------------------------------
def test_a_perfect_tracker_on_the_boxes_counts_exactly_the_ground_truth(lines):
    scene = pole_scene(lines, conditions="dense")
    previous: dict[str, tuple[float, float]] = {}
    counted, truth_total = 0, 0
    for _ in range(600):
        _, truth = scene.next_frame()
        current = dict(zip(truth.objects.ids, anchors(truth.objects.boxes)))
        found = []
        for object_id, anchor in current.items():
            if object_id in previous:
                for line in scene.view_lines:
                    crossing = line.crossing(previous[object_id], anchor)
                    if crossing is not None:
                        found.append((object_id, crossing))
        expected = [(c.object_id, c.crossing) for c in truth.crossings]
        assert sorted(found, key=repr) == sorted(expected, key=repr)
        counted += len(found)
        truth_total += len(expected)
        previous = current
    assert counted == truth_total > 20


def test_same_seed_same_traffic_and_counts_in_both_views(lines):
    top = IntersectionScene(1280, 720, 15.0, 7, list(DEFAULT_CLASSES), lines, render=False, density=2.0)
    pole = pole_scene(lines, density=2.0)
    at_start = {v.number for v in top.traffic.vehicles}
    events: dict[str, Counter] = {"top": Counter(), "pole": Counter()}
    labels = {}
    for _ in range(1200):
        _, truth_top = top.next_frame()
        _, truth_pole = pole.next_frame()
        assert [(v.number, v.s) for v in top.traffic.vehicles] == [(v.number, v.s) for v in pole.traffic.vehicles]
        assert set(truth_pole.objects.ids) <= {v.object_id for v in pole.traffic.vehicles}
        for name, truth in (("top", truth_top), ("pole", truth_pole)):
            for c in truth.crossings:
                events[name][c.object_id, c.crossing.line_id, c.crossing.direction] += 1
                labels[c.object_id] = c.label
    at_end = {v.object_id for v in top.traffic.vehicles}
    # vehicles seen from arrival to departure cross the same lines the same way in both views
    whole = {i for i in labels if int(i[3:]) not in at_start and i not in at_end}
    assert len(whole) > 15
    kept = {name: Counter({k: n for k, n in e.items() if k[0] in whole}) for name, e in events.items()}
    assert kept["pole"] == kept["top"]
    totals = {name: Counter({(line, labels[i], d): n for (i, line, d), n in e.items()}) for name, e in kept.items()}
    assert totals["pole"] == totals["top"]


def test_render_false_gives_the_same_ground_truth(lines):
    drawn, skipped = pole_scene(lines, 640, 360, render=True), pole_scene(lines, 640, 360)
    for _ in range(20):
        image, a = drawn.next_frame()
        none, b = skipped.next_frame()
        assert image.shape == (360, 640, 3) and none is None
        np.testing.assert_array_equal(a.objects.boxes, b.objects.boxes)
        np.testing.assert_array_equal(a.objects.scores, b.objects.scores)
        assert a.crossings == b.crossings


# -- conditions -------------------------------------------------------------------------------
SMALL = (320, 180)


def _frames(condition, n=4):
    scene = pole_scene((), *SMALL, render=True, conditions=condition, seed=3)
    return [scene.next_frame() for _ in range(n)]


@pytest.mark.parametrize("condition", ["night", "rain", "jitter"])
def test_pole_looks_change_pixels_but_not_the_traffic(condition):
    base, other = _frames(""), _frames(condition)
    assert not np.array_equal(base[-1][0], other[-1][0])
    assert base[-1][1].objects.ids == other[-1][1].objects.ids


def test_pole_night_is_dark_and_rain_is_noisy():
    day = _frames("")[-1][0].astype(float)
    assert _frames("night")[-1][0].mean() < 0.45 * day.mean()
    rain = _frames("rain")[-1][0].astype(float)
    assert np.abs(np.diff(rain, axis=1)).mean() > 1.3 * np.abs(np.diff(day, axis=1)).mean()


def test_pole_jitter_moves_boxes_with_the_image_and_keeps_crossings(lines):
    still = pole_scene(lines, 640, 360)
    shaken = pole_scene(lines, 640, 360, conditions="jitter")
    moved = 0
    for _ in range(60):
        _, a = still.next_frame()
        _, b = shaken.next_frame()
        dx, dy = b.camera_offset
        assert a.crossings == b.crossings
        for i, box in enumerate(a.objects.boxes):
            if box[0] > 10 and box[1] > 10 and box[2] < 630 and box[3] < 350:
                j = b.objects.ids.index(a.objects.ids[i])
                np.testing.assert_allclose(b.objects.boxes[j], box + np.array([dx, dy, dx, dy]), atol=1e-3)
        moved += (dx, dy) != (0.0, 0.0)
    assert moved > 30


# -- API and URI ------------------------------------------------------------------------------
def test_top_view_is_the_default_and_unchanged(lines):
    default = IntersectionScene(320, 180, 15.0, 3, list(DEFAULT_CLASSES), lines, warmup_s=5.0)
    explicit = IntersectionScene(320, 180, 15.0, 3, list(DEFAULT_CLASSES), lines, warmup_s=5.0, view="top")
    assert default.view == "top" and default.pole_view is None
    assert [line.id for line in default.view_lines] == [line.id for line in lines]
    assert all(a is b for a, b in zip(default.view_lines, lines))
    np.testing.assert_allclose(
        np.array(default.ground_homography).reshape(3, 3) @ [320, 180, 1], [142.2222, 80.0, 1], atol=1e-3
    )
    for _ in range(5):
        (ia, ta), (ib, tb) = default.next_frame(), explicit.next_frame()
        assert np.array_equal(ia, ib) and np.array_equal(ta.objects.boxes, tb.objects.boxes)


def test_scene_arguments_are_checked():
    with pytest.raises(ValueError, match="view"):
        IntersectionScene(320, 180, 15.0, 3, ["car"], [], view="side")
    with pytest.raises(ValueError, match="pole"):
        IntersectionScene(320, 180, 15.0, 3, ["car"], [], pole=PoleCamera())
    with pytest.raises(ValueError, match="fits|distance|fov"):
        IntersectionScene(320, 180, 15.0, 3, ["car"], [], view="pole", pole=PoleCamera(tilt_deg=60, fov_deg=40))


def test_uri_pole_options():
    options = parse_scene_uri("synthetic://intersection?view=pole&height=10&tilt=25&fov=95&corner=ne")
    assert options.view == "pole"
    assert options.pole_camera() == PoleCamera(height_m=10.0, tilt_deg=25.0, fov_deg=95.0, corner="ne")
    assert parse_scene_uri("synthetic://intersection?view=pole").pole_camera() == PoleCamera()
    assert parse_scene_uri("synthetic://intersection").pole_camera() is None
    placed = parse_scene_uri("synthetic://intersection?view=pole&distance=40").pole_camera()
    assert placed == PoleCamera(distance_m=40.0)
    assert PoleView(placed, 1280, 720).distance_m == 40.0
    scene = open_scene("synthetic://intersection?view=pole&tilt=25", 320, 180, 15.0, ["car"], [], render=False)
    assert scene.view == "pole" and scene.pole_view is not None and scene.pole_view.camera.tilt_deg == 25.0
    defaults = SceneOptions(view="pole", pole_fov_deg=110.0)
    assert parse_scene_uri("synthetic://intersection?seed=3", defaults).pole_camera() == PoleCamera(fov_deg=110.0)


@pytest.mark.parametrize(
    "query, words",
    [
        ("height=8", ["height", "view=pole"]),
        ("view=top&tilt=30", ["tilt", "view=pole"]),
        ("view=side", ["view", "top, pole"]),
        ("view=pole&height=x", ["height", "number"]),
        ("view=pole&height=2", ["height", "5..50"]),
        ("view=pole&tilt=90", ["tilt", "5..85"]),
        ("view=pole&fov=nan", ["fov", "30..150"]),
        ("view=pole&corner=north", ["corner", "sw"]),
        ("view=pole&distance=0.5", ["distance", "1..150"]),
        ("distance=40", ["distance", "view=pole"]),
        ("view=pole&tilt=80&fov=120", ["tilt", "fov"]),
    ],
)
def test_uri_errors_name_the_uri_and_the_option(query, words):
    uri = f"synthetic://intersection?{query}"
    with pytest.raises(ValueError) as caught:
        parse_scene_uri(uri)
    assert str(caught.value).startswith(uri)
    for word in words:
        assert word in str(caught.value)


def test_a_pole_camera_that_cannot_see_the_lines_is_an_error_naming_the_uri():
    uri = "synthetic://intersection?view=pole&tilt=60&fov=40"
    with pytest.raises(ValueError, match="no distance shows") as caught:
        open_scene(uri, 320, 180, 15.0, ["car"], [])
    assert str(caught.value).startswith(uri)
