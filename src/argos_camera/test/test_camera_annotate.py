"""annotate(): boxes, class and track id labels, counting lines and the totals panel are drawn on a
copy; the input frame (read-only, as GStreamer frames are) is never touched."""

import numpy as np
import pytest

from argos_camera.annotate import LINE_COLOR, MovementOverlay, annotate, class_color, movement_rows, panel_rows
from argos_camera.annotator_node import ANNOTATOR_PARAMS
from argos_common.counts import CountRecord, CountTotals
from argos_common.detections import Detections
from argos_common.lines import CountingLine
from argos_common.params import ConfigError, resolve

CLASSES = ["motorcycle", "car", "van"]


def frame(h=360, w=640):
    img = np.full((h, w, 3), 90, np.uint8)
    img.setflags(write=False)
    return img


def tracks():
    return Detections(
        np.array([[100, 150, 220, 260], [400, 100, 500, 180]], np.float32),
        np.array([0.9, 0.8], np.float32),
        ["car", "van"],
        ["7", "12"],
    )


def test_draws_on_a_copy_and_leaves_the_frame_alone():
    img = frame()
    before = img.copy()
    out = annotate(
        img, tracks(), [CountingLine("stop", np.array([[0.0, 300.0], [640.0, 300.0]]))], CountTotals(), CLASSES
    )
    assert out is not img and not np.shares_memory(out, img)
    assert np.array_equal(img, before)
    assert out.shape == img.shape and out.dtype == np.uint8 and out.flags.writeable
    assert not np.array_equal(out, img)


def test_boxes_are_drawn_in_their_class_colour():
    out = annotate(frame(), tracks(), classes=CLASSES)
    # right edge of the car box, below its label: the car colour; inside the box: untouched
    assert tuple(out[230, 220]) == class_color("car", CLASSES)
    assert tuple(out[170, 500]) == class_color("van", CLASSES)
    assert tuple(out[220, 160]) == (90, 90, 90)
    assert class_color("car", CLASSES) != class_color("van", CLASSES)
    assert class_color("not_configured") == class_color("not_configured")  # stable for unknown labels


def test_track_id_and_class_label_are_drawn_above_the_box():
    plain = annotate(
        frame(), Detections(np.array([[100, 150, 220, 260]], np.float32), [0.9], ["car"], ["7"]), classes=CLASSES
    )
    longer = annotate(
        frame(), Detections(np.array([[100, 150, 220, 260]], np.float32), [0.9], ["car"], ["7777777"]), classes=CLASSES
    )
    label_band = (slice(125, 150), slice(100, 400))
    color = np.array(class_color("car", CLASSES))
    filled = lambda img: int(np.all(img[label_band] == color, axis=-1).sum())  # noqa: E731
    assert filled(plain) > 0
    assert filled(longer) > filled(plain)  # the id is part of the label


def test_counting_line_is_drawn_along_its_polyline():
    line = CountingLine("north", np.array([[50.0, 200.0], [300.0, 200.0], [300.0, 340.0]]))
    out = annotate(frame(), lines=[line])
    assert np.all(out[200, 60:290] == LINE_COLOR)
    assert np.all(out[210:330, 300] == LINE_COLOR)
    assert tuple(out[100, 600]) == (90, 90, 90)


def test_totals_panel_counts_per_line_direction_and_class():
    totals = CountTotals(
        CountRecord(line_id, "", cls, direction, "1", 0)
        for line_id, cls, direction in [
            ("north", "car", "in"),
            ("north", "car", "out"),
            ("north", "van", "in"),
            ("south", "car", "in"),
        ]
    )
    rows = panel_rows(totals, ["north", "south", "east"])
    assert rows[0] == "total 4"
    assert "north: in 2 out 1" in rows and "south: in 1 out 0" in rows and "east: in 0 out 0" in rows
    assert rows[-2:] == ["car 3", "van 1"]
    empty = annotate(frame(), totals=CountTotals())
    counted = annotate(frame(), totals=totals)
    panel = (slice(0, 150), slice(0, 250))
    assert not np.array_equal(empty[panel], counted[panel])  # more rows, more text
    assert empty[10, 12].max() < 90  # the panel darkens what is under it


def test_grayscale_and_boxes_outside_the_image_are_handled():
    gray = np.full((120, 160), 50, np.uint8)
    dets = Detections(
        np.array([[-50, -20, 500, 400], [np.nan, 0, 10, 10]], np.float32), [0.5, 0.5], ["car", "car"], ["1", "2"]
    )
    out = annotate(gray, dets, classes=CLASSES)
    assert out.shape == (120, 160, 3)


def test_annotator_params_include_classes_lines_and_rtsp():
    values = resolve(
        ANNOTATOR_PARAMS, {"lines.names": ["a"], "lines.a.points": [0.0, 1.0, 2.0, 3.0], "rtsp_port": 8555}
    )
    assert values["rtsp_path"] == "/annotated" and values["rtsp_rate_hz"] == 5.0 and values["rtsp_port"] == 8555
    assert "car" in values["classes"] and values["lines.a.points"] == [0.0, 1.0, 2.0, 3.0]
    with pytest.raises(ConfigError, match="rtsp_rate_hz"):
        resolve(ANNOTATOR_PARAMS, {"rtsp_rate_hz": 0.0})
    with pytest.raises(ConfigError, match="rtsp_port"):
        resolve(ANNOTATOR_PARAMS, {"rtsp_port": 70000})


def test_movement_overlay_draws_the_matrix_top_right_and_renders_text_only_on_change():
    overlay = MovementOverlay()
    assert annotate(frame(), movements=overlay).tolist() == frame().tolist()  # no movement yet: nothing
    matrix = {"WBT": {"car": 10, "van": 2}, "NBL": {"bus": 1}}
    assert movement_rows(matrix, 3) == ["movements", "WBT 12: car 10 van 2", "NBL 1: bus 1", "incomplete 3"]
    overlay.update(matrix, 3)
    img = frame()
    out = annotate(img, movements=overlay)
    assert np.array_equal(img, frame())  # the frame itself untouched
    changed = np.argwhere(np.any(out != img, axis=2))
    # a darkened patch with white text in the top-right corner, clear of the totals panel's corner
    assert changed[:, 1].min() > 640 // 3 and changed[:, 1].max() < 640 and changed[:, 0].max() < 360 // 2
    patch = out[changed[:, 0].min() : changed[:, 0].max() + 1, changed[:, 1].min() : changed[:, 1].max() + 1]
    assert (patch == 36).all(axis=2).any() and (patch > 200).all(axis=2).any()  # 90 * 2 // 5, and white text
    assert overlay.renders == 1
    for _ in range(5):  # frames with the same matrix reuse the rendered text
        again = annotate(frame(), movements=overlay)
    assert overlay.renders == 1 and np.array_equal(again, out)
    overlay.update({"WBT": {"car": 11, "van": 2}, "NBL": {"bus": 1}}, 3)
    changed_text = annotate(frame(), movements=overlay)
    assert overlay.renders == 2 and not np.array_equal(changed_text, out)
    annotate(frame(720, 1280), movements=overlay)  # another size: drawn for it
    assert overlay.renders == 3
    # an overlay taller than a tiny frame is clipped, not an error
    overlay.update({f"M{i}": {"car": i + 1} for i in range(40)})
    assert annotate(frame(60, 80), movements=overlay).shape == (60, 80, 3)
