"""Synthetic scene conditions: default unchanged, each condition does what it says."""

import numpy as np
import pytest

from argos_common.classes import DEFAULT_CLASSES
from argos_sim.scene import CONDITIONS, IntersectionScene, parse_conditions
from argos_sim.traffic import STOP_AND_GO_SIGNAL_PLAN

W, H = 320, 180


def scene(**kw):
    return IntersectionScene(W, H, 15.0, 3, DEFAULT_CLASSES, [], warmup_s=5.0, **kw)


def frames(s, n=5):
    return [s.next_frame() for _ in range(n)]


def test_no_conditions_is_the_default_scene_frame_for_frame():
    a, b = frames(scene()), frames(scene(conditions=()))
    for (ia, ta), (ib, tb) in zip(a, b):
        assert np.array_equal(ia, ib)
        assert np.array_equal(ta.objects.boxes, tb.objects.boxes)


@pytest.mark.parametrize("condition", ["night", "rain", "jitter"])
def test_looks_change_pixels_but_not_the_traffic(condition):
    base, other = frames(scene()), frames(scene(conditions=condition))
    assert not np.array_equal(base[-1][0], other[-1][0])
    assert base[-1][1].objects.ids == other[-1][1].objects.ids


def test_night_is_dark_and_rain_is_noisy():
    day = frames(scene())[-1][0].astype(float)
    assert frames(scene(conditions="night"))[-1][0].mean() < 0.45 * day.mean()
    rain = frames(scene(conditions="rain"))[-1][0].astype(float)
    assert np.abs(np.diff(rain, axis=1)).mean() > 1.5 * np.abs(np.diff(day, axis=1)).mean()


def test_jitter_moves_the_ground_truth_boxes_with_the_image():
    base, shaken = frames(scene(), 10), frames(scene(conditions="jitter"), 10)
    moved = 0
    for (_, tb), (_, ts) in zip(base, shaken):
        dx, dy = ts.camera_offset
        assert abs(dx) <= 1.0 + 4.0 * W / 1280 and abs(dy) <= 1.0 + 4.0 * W / 1280
        inner = [
            i for i, b in enumerate(tb.objects.boxes) if b[0] > 10 and b[2] < W - 10 and b[1] > 10 and b[3] < H - 10
        ]
        for i in inner:
            expected = tb.objects.boxes[i] + np.array([dx, dy, dx, dy], np.float32)
            np.testing.assert_allclose(ts.objects.boxes[ts.objects.ids.index(tb.objects.ids[i])], expected, atol=1e-3)
        moved += (dx, dy) != (0.0, 0.0)
    assert moved > 5


def test_dense_and_stop_and_go_change_the_traffic():
    assert scene(conditions="stop_and_go").traffic.signal_plan == STOP_AND_GO_SIGNAL_PLAN
    dense = scene(conditions="dense", render=False)
    assert dense.traffic.density > scene().traffic.density
    assert dense.renderer.occluder_mask.sum() > scene().renderer.occluder_mask.sum()


def test_render_false_gives_the_same_ground_truth_without_an_image():
    drawn, skipped = frames(scene()), frames(scene(render=False))
    for (_, a), (image, b) in zip(drawn, skipped):
        assert image is None
        np.testing.assert_array_equal(a.objects.boxes, b.objects.boxes)


def test_parse_conditions():
    assert parse_conditions("night, rain,night") == ("night", "rain")
    assert parse_conditions("stop-and-go") == ("stop_and_go",)
    assert set(CONDITIONS) == set(parse_conditions(list(CONDITIONS)))
    with pytest.raises(ValueError, match="fog"):
        parse_conditions("fog")
