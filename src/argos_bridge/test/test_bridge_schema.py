"""Payload builders of the bridge: field names, types, classID mapping, unique ids, JSON round trip."""

import json
import math

import numpy as np
import pytest

from argos_bridge import schema
from argos_common.classes import DEFAULT_CLASSES
from argos_common.counts import CountRecord
from argos_common.detections import Detections

IDENTITY = {"site": "s1", "device": "d1", "camera": "camA"}
STAMP_NS = 1_700_000_000_123_456_789  # 2023-11-14T22:13:20.123456789Z

DETECTION_FIELDS = {
    "classID": int,
    "label": str,
    "confidence": float,
    "coor_left": float,
    "coor_top": float,
    "box_width": float,
    "box_height": float,
    "objectID": str,
    "unique_com_id": str,
}


def two_tracks() -> Detections:
    return Detections(
        np.array([[10.0, 20.0, 110.5, 220.25], [300.0, 40.0, 350.0, 90.0]]),
        [0.91234567, 0.5],
        ["bus", "car"],
        ["17", "42"],
    )


def build_detections(dets=None, bridge_frame=5, classes=DEFAULT_CLASSES):
    return schema.detections_payload(
        **IDENTITY,
        stamp_ns=STAMP_NS,
        frame_id="camA_optical",
        bridge_frame=bridge_frame,
        dets=two_tracks() if dets is None else dets,
        classes=classes,
    )


def test_iso_timestamp_is_utc_with_milliseconds():
    assert schema.iso_utc_ms(STAMP_NS) == "2023-11-14T22:13:20.123Z"
    assert schema.iso_utc_ms(0) == "1970-01-01T00:00:00.000Z"


def test_detections_payload_has_the_field_report_model_and_common_fields():
    payload = build_detections()
    assert payload["schema_version"] == schema.SCHEMA_VERSION
    assert {k: payload[k] for k in IDENTITY} == IDENTITY
    assert payload["timestamp"] == "2023-11-14T22:13:20.123Z"
    assert payload["stamp_ns"] == STAMP_NS
    assert payload["frame_id"] == "camA_optical"
    assert payload["detection_frame_number"] == 5
    assert payload["total_num_obj"] == 2 == len(payload["inference_results"])
    for result in payload["inference_results"]:
        assert set(result) == set(DETECTION_FIELDS)
        for name, kind in DETECTION_FIELDS.items():
            assert type(result[name]) is kind, name


def test_detection_geometry_is_top_left_width_height_in_pixels():
    first = build_detections()["inference_results"][0]
    assert (first["coor_left"], first["coor_top"]) == (10.0, 20.0)
    assert (first["box_width"], first["box_height"]) == (100.5, 200.25)
    assert first["confidence"] == pytest.approx(0.9123, abs=1e-4)


def test_class_id_is_the_index_of_the_label_in_classes():
    results = build_detections()["inference_results"]
    assert [r["classID"] for r in results] == [DEFAULT_CLASSES.index("bus"), DEFAULT_CLASSES.index("car")]
    assert [r["label"] for r in results] == ["bus", "car"]
    custom = build_detections(classes=["car", "bus"])["inference_results"]
    assert [r["classID"] for r in custom] == [1, 0]


def test_unknown_label_gets_class_id_minus_one():
    dets = Detections(np.array([[0, 0, 1, 1]]), [0.5], ["tractor"], ["1"])
    assert build_detections(dets)["inference_results"][0]["classID"] == -1


def test_object_id_is_the_track_id():
    assert [r["objectID"] for r in build_detections()["inference_results"]] == ["17", "42"]


def test_unique_com_id_differs_across_detections_frames_and_cameras():
    ids = []
    for frame in range(3):
        ids += [r["unique_com_id"] for r in build_detections(bridge_frame=frame)["inference_results"]]
    other_camera = schema.detections_payload(
        site="s1",
        device="d1",
        camera="camB",
        stamp_ns=STAMP_NS,
        frame_id="f",
        bridge_frame=0,
        dets=two_tracks(),
        classes=DEFAULT_CLASSES,
    )
    ids += [r["unique_com_id"] for r in other_camera["inference_results"]]
    assert len(ids) == len(set(ids)) == 8


def test_empty_frame_has_no_results():
    payload = build_detections(Detections.empty())
    assert payload["total_num_obj"] == 0 and payload["inference_results"] == []


def test_detections_json_round_trip():
    payload = build_detections()
    assert json.loads(schema.to_json(payload)) == payload


def count_record(**changes) -> CountRecord:
    fields = dict(
        stamp_ns=STAMP_NS,
        line_id="west",
        lane="eastbound",
        class_id="truck",
        direction="in",
        track_id="17",
        tracker_frame=99,
        speed_px_s=120.5,
        speed_m_s=math.nan,
    )
    fields.update(changes)
    return CountRecord(**fields)


def test_count_payload_fields_and_nan_speed_becomes_null():
    payload = schema.count_payload(**IDENTITY, record=count_record(), count_seq=3, classes=DEFAULT_CLASSES)
    assert payload["timestamp"] == "2023-11-14T22:13:20.123Z" and payload["stamp_ns"] == STAMP_NS
    assert payload["count_seq"] == 3 and payload["frame_number"] == 99
    assert (payload["line_id"], payload["lane"], payload["direction"], payload["track_id"]) == (
        "west",
        "eastbound",
        "in",
        "17",
    )
    assert payload["class_id"] == "truck" and payload["classID"] == DEFAULT_CLASSES.index("truck")
    assert payload["speed_px_s"] == 120.5 and payload["speed_m_s"] is None
    text = schema.to_json(payload)
    assert "NaN" not in text and json.loads(text) == payload


def test_to_json_refuses_nan():
    with pytest.raises(ValueError):
        schema.to_json({"x": math.nan})


def test_totals_payload_rows_and_sums():
    rows = [(("east", "eastbound", "car", "in"), 5, 2), (("west", "", "bicycle", "out"), 1, 0)]
    payload = schema.totals_payload(
        **IDENTITY,
        started_ns=STAMP_NS - 60_000_000_000,
        interval_start_ns=STAMP_NS - 10_000_000_000,
        now_ns=STAMP_NS,
        rows=rows,
        classes=DEFAULT_CLASSES,
    )
    assert payload["started_at"] == "2023-11-14T22:12:20.123Z"
    assert payload["interval_start"] == "2023-11-14T22:13:10.123Z"
    assert payload["interval_s"] == 10.0
    assert payload["total"] == 6 and payload["interval_total"] == 2
    assert payload["totals"][0] == {
        "line_id": "east",
        "lane": "eastbound",
        "class_id": "car",
        "classID": 1,
        "direction": "in",
        "total": 5,
        "interval": 2,
    }
    assert json.loads(schema.to_json(payload)) == payload


@pytest.mark.parametrize("state,reason", [("online", "connected"), ("offline", "connection_lost")])
def test_status_payload(state, reason):
    payload = schema.status_payload(state=state, reason=reason, stamp_ns=STAMP_NS, **IDENTITY)
    assert payload["state"] == state and payload["reason"] == reason
    assert payload["schema_version"] == schema.SCHEMA_VERSION and payload["camera"] == "camA"


def test_status_payload_rejects_unknown_state():
    with pytest.raises(ValueError):
        schema.status_payload(state="sleeping", reason="", stamp_ns=0, **IDENTITY)


def test_movement_payload_fields_and_the_bin_it_counts_in():
    from argos_common.movements import MovementRecord

    record = MovementRecord(
        "WBT", "east", "westbound", "west", "westbound", "bus", STAMP_NS, STAMP_NS + 4_000_000_000, "17", 90.0
    )
    payload = schema.movement_payload(
        **IDENTITY, record=record, movement_seq=3, classes=DEFAULT_CLASSES, interval_min=15
    )
    assert payload["schema_version"] == schema.SCHEMA_VERSION == 2
    assert payload["stamp_ns"] == record.left_ns  # the instant is the exit
    assert {k: payload[k] for k in ("movement", "status", "reason", "from_line", "to_line", "classID")} == {
        "movement": "WBT",
        "status": "complete",
        "reason": "",
        "from_line": "east",
        "to_line": "west",
        "classID": DEFAULT_CLASSES.index("bus"),
    }
    assert payload["entered_at"] == "2023-11-14T22:13:20.123Z" and payload["bin_start"] == "2023-11-14T22:00:00.000Z"
    assert payload["speed_px_s"] == 90.0 and payload["speed_m_s"] is None
    assert MovementRecord.from_event(json.loads(schema.to_json(payload))) == record


def test_bin_payload_round_trips_into_the_snapshot_a_restart_resumes():
    from argos_common.bins import BinSnapshot, snapshot_from_payload

    start = STAMP_NS - STAMP_NS % 900_000_000_000
    snap = BinSnapshot(
        start,
        start + 900_000_000_000,
        2,
        {("WBT", "car"): 3, ("WBR", "bus"): 1},
        {("u_turn", "east", "car"): 1},
        {("west", "eastbound", "in", "car"): 5},
    )
    payload = schema.bin_payload(**IDENTITY, snapshot=snap, now_ns=STAMP_NS, classes=DEFAULT_CLASSES)
    assert (payload["bin_start"], payload["bin_end"]) == ("2023-11-14T22:00:00.000Z", "2023-11-14T22:15:00.000Z")
    assert (payload["interval_min"], payload["revision"], payload["total_movements"]) == (15, 2, 4)
    assert payload["movements"][0] == {"movement": "WBR", "class_id": "bus", "classID": 7, "count": 1}
    assert payload["incomplete"] == [
        {"reason": "u_turn", "line_id": "east", "class_id": "car", "classID": 1, "count": 1}
    ]
    assert snapshot_from_payload(json.loads(schema.to_json(payload))) == snap
