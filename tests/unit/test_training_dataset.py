"""training.dataset: letterbox geometry, label rules, rendered splits (numpy + OpenCV; no torch)."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from argos_common.classes import DEFAULT_CLASSES  # noqa: E402
from argos_common.detections import Detections  # noqa: E402
from argos_sim.scene import GroundTruth  # noqa: E402
from training import dataset as ds  # noqa: E402


def test_letterbox_geometry_of_the_default_camera():
    assert ds.letterbox_geometry(1280, 720) == (0.5, 0, 12, 640, 360)
    scale, px, py, nw, nh = ds.letterbox_geometry(1920, 1080)
    assert (px, py, nw, nh) == (0, 12, 640, 360) and scale == pytest.approx(1 / 3)
    scale, px, py, nw, nh = ds.letterbox_geometry(640, 480)  # 4:3: bars left and right
    assert (px, py, nw, nh) == (64, 0, 512, 384) and scale == pytest.approx(0.8)


def test_letterbox_pads_with_114_and_converts_to_rgb():
    bgr = np.zeros((720, 1280, 3), np.uint8)
    bgr[..., 0] = 255  # pure blue in BGR
    rgb, scale, px, py = ds.letterbox(bgr)
    assert rgb.shape == (384, 640, 3) and rgb.dtype == np.uint8
    assert (rgb[:12] == 114).all() and (rgb[-12:] == 114).all()
    assert (rgb[12:-12, :, 2] == 255).all() and (rgb[12:-12, :, :2] == 0).all()
    x = ds.to_tensor_layout(rgb)
    assert x.shape == (1, 3, 384, 640) and x.dtype == np.float32
    assert x[0, :, 0, 0] == pytest.approx([114 / 255] * 3)


def test_unletterbox_inverts_the_label_mapping():
    boxes = np.array([[100, 200, 140, 216], [0, 0, 1280, 720]], np.float32)
    scale, px, py, _, _ = ds.letterbox_geometry(1280, 720)
    model_px = boxes * scale + [px, py, px, py]
    assert ds.unletterbox_boxes(model_px, scale, px, py, 1280, 720) == pytest.approx(boxes)


def _truth(boxes, scores, labels):
    return GroundTruth(
        Detections(
            np.array(boxes, np.float32), np.array(scores, np.float32), labels, [f"o{i}" for i in range(len(labels))]
        ),
        [],
    )


def test_label_rules_mark_occluded_tiny_and_unknown_boxes_ignored():
    truth = _truth(
        [
            [100, 100, 140, 116],  # car, fully visible -> target
            [200, 100, 240, 116],  # car, 20 % visible -> ignore
            [300, 100, 302, 130],  # 1 px wide at model scale -> ignore
            [400, 100, 416, 105],  # bicycle 8 x 2.5 px at model scale -> target
            [500, 100, 540, 116],
        ],  # a label the model does not know -> ignore
        [1.0, 0.2, 1.0, 0.9, 1.0],
        ["car", "car", "bus", "bicycle", "tram"],
    )
    lab = ds.truth_to_labels(truth, 0.5, 0, 12)
    assert lab.shape == (5, 6)
    assert lab[:, 5].tolist() == [0, 1, 1, 0, 1]
    assert lab[0, 0] == DEFAULT_CLASSES.index("car") and lab[3, 0] == DEFAULT_CLASSES.index("bicycle")
    assert lab[0, 1:5] == pytest.approx([50, 62, 70, 70])


def test_train_and_held_out_seeds_are_disjoint():
    train = ds.make_specs(200, 10, ds.TRAIN_SEED_BASE)
    val = ds.make_specs(50, 10, ds.VAL_SEED_BASE)
    assert not {s.seed for s in train} & {s.seed for s in val}
    assert {s.density for s in train} == set(ds.DENSITIES)
    assert any(not s.occluders for s in train)


def test_scene_options_are_passed_only_when_the_scene_has_them():
    spec = ds.SceneSpec(seed=1, density=1.0, render_size=(1280, 720), frames=1, options={"no_such_option_xyz": True})
    kwargs = ds.scene_kwargs(spec)
    assert "no_such_option_xyz" not in kwargs and kwargs["density"] == 1.0
    assert {"night", "rain", "jitter"} <= set(ds.available_conditions())


def test_conditions_cycle_keeps_clear_scenes_and_covers_every_condition():
    conditions = ds.available_conditions()
    specs = ds.make_specs(len(conditions) + 3, 1, 100, conditions=conditions)
    looks = [s.options.get("conditions", ()) for s in specs]
    assert looks.count(()) >= 2
    assert set(conditions) <= {c for look in looks for c in look}
    assert ds.scene_kwargs(specs[2])["conditions"] == looks[2]


def test_rendered_split_is_complete_and_deterministic(tmp_path):
    specs = [
        ds.SceneSpec(seed=5, density=2.0, render_size=(1280, 720), frames=3, stride=2, warmup_s=5.0),
        ds.SceneSpec(seed=6, density=1.0, render_size=(960, 540), frames=2, stride=2, warmup_s=5.0),
    ]
    meta = ds.build_split(tmp_path / "a", specs, workers=1)
    ds.build_split(tmp_path / "b", specs, workers=2)
    a, b = ds.DetDataset(tmp_path / "a"), ds.DetDataset(tmp_path / "b")
    assert len(a) == 5 and a.images.shape == (5, 384, 640, 3)
    assert np.array_equal(np.asarray(a.images), np.asarray(b.images))
    assert np.array_equal(a.labels, b.labels)
    assert meta["classes"] == list(DEFAULT_CLASSES) and meta["images"] == 5
    assert meta["instances"] == int((a.labels[:, 6] == 0).sum()) > 0
    for i in range(len(a)):
        t = a.targets(i)
        assert t.shape[1] == 6
        assert ((t[:, 0] >= 0) & (t[:, 0] < len(DEFAULT_CLASSES))).all()
        assert (t[:, 3] > t[:, 1]).all() and (t[:, 4] > t[:, 2]).all()
        assert (t[:, 1:5] >= 0).all() and (t[:, [1, 3]] <= 640).all()
        assert (t[:, [2, 4]] >= 12).all() and (t[:, [2, 4]] <= 372).all()  # inside the image, not the bars
    # the boxes sit on vehicles: inside a target box the image differs from the road around it
    assert (np.asarray(a.images[:, :12]) == 114).all()


def test_views_alternate_and_pole_mounts_cycle():
    specs = ds.make_specs(8, 1, 100, views=("top", "pole"))
    views = [s.options.get("view", "top") for s in specs]
    assert views == ["top", "pole"] * 4
    mounts = {(s.options["pole"].height_m, s.options["pole"].tilt_deg) for s in specs if "pole" in s.options}
    assert len(mounts) == 4  # four pole scenes, four different mounts
    from argos_sim.views import PoleCamera, PoleView

    for mount in ds.POLE_MOUNTS:  # every mount is a camera the scene can place (all lines in view)
        PoleView(PoleCamera(*mount), 1280, 720)


def test_a_split_with_both_views_knows_the_view_of_every_image(tmp_path):
    specs = ds.make_specs(2, 2, 100, stride=1, views=("top", "pole"))
    specs = [ds.SceneSpec(**{**s.__dict__, "warmup_s": 5.0, "render_size": (640, 360)}) for s in specs]
    meta = ds.build_split(tmp_path / "split", specs, workers=1)
    assert ds.image_views(meta) == ["top", "top", "pole", "pole"]
    split = ds.DetDataset(tmp_path / "split")
    assert all(len(split.targets(i)) for i in range(len(split)))  # vehicles in both views
    assert meta["scenes"][1]["options"]["pole"]["height_m"] == ds.POLE_MOUNTS[0][0]
