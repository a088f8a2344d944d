import numpy as np

from argos_common.detections import Detections
from argos_common.ros.conversions import (
    detections_to_msg,
    image_to_msg,
    msg_to_detections,
    msg_to_image,
    ns_from_stamp,
    stamp_from_ns,
)


def test_image_round_trip_and_encodings():
    img = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    msg = image_to_msg(img, 1_700_000_000_123_456_789, "cam")
    assert (msg.width, msg.height, msg.step, msg.encoding) == (64, 48, 192, "bgr8")
    assert np.array_equal(msg_to_image(msg), img)
    rgb = image_to_msg(img[:, :, ::-1], 0, "cam", encoding="rgb8")
    assert np.array_equal(msg_to_image(rgb), img)


def test_stamp_round_trip():
    ns = 1_700_000_000_987_654_321
    assert ns_from_stamp(stamp_from_ns(ns)) == ns


def test_detections_round_trip():
    dets = Detections([[10, 20, 50, 40], [0, 0, 5, 5]], [0.9, 0.4], ["car", "bus"], ["7", "8"])
    back = msg_to_detections(detections_to_msg(dets, 5, "cam"))
    assert np.allclose(back.boxes, dets.boxes) and np.allclose(back.scores, dets.scores)
    assert back.labels == ["car", "bus"] and back.ids == ["7", "8"]
