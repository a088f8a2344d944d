"""Malformed count events and oversized payloads are rejected with a logged reason, never raised."""

import logging

import numpy as np

from argos_bridge.bridge import Bridge
from argos_common.detections import Detections


def test_malformed_count_events_are_rejected_and_logged(caplog):
    bridge = Bridge({})
    with caplog.at_level(logging.WARNING):
        bridge.submit_count({"stamp_ns": 1, "class_id": "car", "direction": "in"})  # no line_id
        bridge.submit_count({"stamp_ns": 1, "line_id": "w", "class_id": "car", "direction": "up"})
        bridge.submit_count({"stamp_ns": "soon", "line_id": "w", "class_id": "car", "direction": "in"})
        bridge.submit_count({"stamp_ns": 2, "line_id": "w", "class_id": "car", "direction": "out"})
    stats = bridge.stats()
    assert stats["rejected"] == 3 and stats["counts"] == 1 and stats["queue_depth"] == 1
    reasons = [r.getMessage() for r in caplog.records]
    assert any("'line_id'" in r for r in reasons) and any("'up'" in r for r in reasons)
    assert all(r.startswith("bridge: rejected malformed count event") for r in reasons)


def test_oversized_payload_reaches_neither_sink(caplog):
    bridge = Bridge({"max_payload_bytes": 2048})
    n = 40
    many = Detections(
        np.tile(np.array([[1.0, 2.0, 30.0, 40.0]]), (n, 1)), [0.5] * n, ["car"] * n, [str(i) for i in range(n)]
    )
    with caplog.at_level(logging.WARNING):
        bridge._write(("tracks", 1, "f", many, 0))
    stats = bridge.stats()
    assert stats["rejected"] == 1 and stats["redis_buffered"] == 0 and stats["redis_written"] == 0
    assert stats["mqtt_spooled"] == 0 and stats["mqtt_published"] == 0
    assert "max_payload_bytes 2048" in caplog.text
