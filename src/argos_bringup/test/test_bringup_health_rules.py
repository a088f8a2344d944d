from argos_bridge.health import health as bridge_health
from argos_bringup.status import HealthBoard
from argos_camera.health import health as camera_health
from argos_common.health import ERROR, OK, STALE, WARN, worst
from argos_inference.health import health as inference_health

HEALTHY_BRIDGE = {"mqtt_connected": 1, "redis_connected": 1, "mqtt_published": 5, "redis_written": 5}


def test_worst_keeps_the_most_severe_and_joins_equals():
    assert worst((OK, "fine"), (WARN, "a"), (WARN, "b")) == (WARN, "a; b")
    assert worst() == (OK, "ok")


def test_bridge_names_the_unreachable_sink_and_data_loss():
    assert bridge_health(HEALTHY_BRIDGE)[0] == OK
    level, message = bridge_health({**HEALTHY_BRIDGE, "mqtt_connected": 0, "mqtt_spool_depth": 7})
    assert level == WARN and "MQTT broker unreachable" in message and "7 waiting" in message
    level, message = bridge_health({**HEALTHY_BRIDGE, "mqtt_connected": 0, "redis_connected": 0})
    assert level == ERROR and "both down" in message
    level, message = bridge_health({**HEALTHY_BRIDGE, "queue_dropped": 3})
    assert level == WARN and "queue_dropped 3" in message


def test_camera_and_inference_rules():
    assert camera_health({"source_state": "streaming", "fps": 15.0})[0] == OK
    assert camera_health({"source_state": "reconnecting", "last_error": "connection refused"}) == (
        WARN,
        "source reconnecting (0 reconnects): connection refused",
    )
    assert camera_health({"source_state": "failed", "last_error": "no such file"})[0] == ERROR
    assert inference_health({"engine": "onnxruntime", "errors": 2})[0] == WARN


def test_health_board_marks_silent_nodes_stale():
    now = [0.0]
    board = HealthBoard(stale_after_s=5.0, clock=lambda: now[0])
    board.update("/cam0/camera", OK, "streaming", {"fps": "15.0"})
    assert board.rows()[0]["level"] == "OK"
    now[0] = 6.0
    assert board.rows()[0]["level"] == "STALE" and STALE == 3
