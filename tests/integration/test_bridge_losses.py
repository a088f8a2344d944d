"""Every way the bridge can lose a message is counted (and logged), never hidden in "published":
against real redis-server and mosquitto, each path provoked for real."""

import logging
import math
import signal
import time

import numpy as np
import pytest
from paho.mqtt.enums import MQTTErrorCode

from argos_bridge.bridge import Bridge
from argos_bridge.health import health
from argos_bridge.mqtt_sink import paho_keeps
from argos_common.detections import Detections
from argos_common.endpoints import free_port
from waiting import wait_until

pytestmark = pytest.mark.integration

ONE = Detections(np.array([[10, 20, 60, 80]]), [0.8], ["car"], ["5"])


def params(redis_url, mqtt_url, **extra):
    return {
        "redis_url": redis_url,
        "mqtt_url": mqtt_url,
        "site": "s",
        "device": "d",
        "camera": "loss",
        "totals_interval_s": 600.0,
        "mqtt_qos_detections": 1,
        **extra,
    }


def test_paho_keeps_qos1_on_a_dead_socket_but_not_qos0():
    assert paho_keeps(MQTTErrorCode.MQTT_ERR_SUCCESS, 0) and paho_keeps(MQTTErrorCode.MQTT_ERR_SUCCESS, 1)
    assert paho_keeps(MQTTErrorCode.MQTT_ERR_NO_CONN, 1) and paho_keeps(MQTTErrorCode.MQTT_ERR_NO_CONN, 2)
    assert not paho_keeps(MQTTErrorCode.MQTT_ERR_NO_CONN, 0)  # paho drops it: it goes to the spool
    assert not paho_keeps(MQTTErrorCode.MQTT_ERR_QUEUE_SIZE, 1)


def test_unconfirmed_qos1_messages_are_not_published_and_counted_lost_at_shutdown(redis_server, mqtt_broker, caplog):
    bridge = Bridge(params(redis_server.url, mqtt_broker.url))
    bridge.start()
    assert wait_until(lambda: bridge.stats()["mqtt_connected"] == 1)
    bridge.submit_tracks(time.time_ns(), "f", ONE)
    assert wait_until(lambda: bridge.stats()["mqtt_published"] == 1)  # PUBACK came
    mqtt_broker.proc.send_signal(signal.SIGSTOP)  # the socket stays open, nothing is acknowledged
    try:
        for _ in range(5):
            bridge.submit_tracks(time.time_ns(), "f", ONE)
        assert wait_until(lambda: bridge.stats()["mqtt_in_flight"] == 5)
        assert bridge.stats()["mqtt_published"] == 1
        with caplog.at_level(logging.WARNING):
            bridge.close(drain_timeout_s=1.0)
    finally:
        mqtt_broker.proc.send_signal(signal.SIGCONT)
    stats = bridge.stats()
    # the 5 detections and the final totals payload were sent and never confirmed
    assert stats["mqtt_published"] == 1 and stats["mqtt_lost_at_shutdown"] == 6
    assert "never confirmed by the broker" in caplog.text


def test_redis_buffer_left_at_shutdown_is_counted_and_logged(mqtt_broker, caplog):
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    bridge = Bridge(params(dead_redis, mqtt_broker.url, redis_timeout_s=0.1))
    bridge.start()
    for _ in range(7):
        bridge.submit_tracks(time.time_ns(), "f", ONE)
    assert wait_until(lambda: bridge.stats()["redis_buffer_depth"] >= 7)
    with caplog.at_level(logging.WARNING):
        bridge.close()
    stats = bridge.stats()
    assert stats["redis_lost_at_shutdown"] >= 7 and stats["redis_buffer_depth"] == 0
    assert "lost at shutdown" in caplog.text


def test_in_memory_spool_left_at_shutdown_is_counted(redis_server):
    dead_broker = f"mqtt://127.0.0.1:{free_port()}"
    bridge = Bridge(params(redis_server.url, dead_broker))
    bridge.start()
    for _ in range(4):
        bridge.submit_tracks(time.time_ns(), "f", ONE)
    assert wait_until(lambda: bridge.stats()["mqtt_spool_depth"] >= 4)
    bridge.close(drain_timeout_s=0.5)
    # 4 detections + the final totals, all in the in-memory spool (spool_dir empty)
    assert bridge.stats()["mqtt_lost_at_shutdown"] >= 5 and bridge.stats()["mqtt_published"] == 0


def test_a_message_the_writer_cannot_encode_is_counted_and_the_writer_goes_on(redis_server, mqtt_broker):
    bridge = Bridge(params(redis_server.url, mqtt_broker.url))
    bridge.start()
    nan_box = Detections(np.array([[math.nan, 20, 60, 80]]), [0.8], ["car"], ["5"])  # not JSON
    bridge.submit_tracks(time.time_ns(), "f", nan_box)
    bridge.submit_tracks(time.time_ns(), "f", ONE)
    assert wait_until(lambda: bridge.stats()["redis_written"] == 1)
    stats = bridge.stats()
    bridge.close()
    assert stats["writer_errors"] == 1
    level, message = health(stats)
    assert level == 1 and "writer_errors 1" in message


@pytest.fixture
def full_disk(tmp_path):
    """A real 256 KiB filesystem: the spool on it fills up and then refuses inserts and deletes."""
    from argos_bringup.services import ServiceError, small_disk

    try:
        with small_disk(tmp_path / "disk") as path:
            yield path
    except ServiceError as exc:
        pytest.skip(str(exc))


def test_acknowledged_spool_rows_on_a_full_disk_leave_the_queue_and_are_deleted_once_it_has_room(full_disk):
    import sqlite3

    from argos_bridge.spool import Spool

    ballast = full_disk / "ballast"
    ballast.write_bytes(b"\0" * (64 << 10))  # room to give back later
    spool = Spool(full_disk / "spool.db", max_messages=10_000, max_bytes=1 << 20)
    with pytest.raises(sqlite3.OperationalError, match="full"):
        for _ in range(10_000):
            spool.append("argos/counts", "x" * 400, 1)
    stored = len(spool)
    sent = spool.peek(0, 3)
    assert stored > 4 and spool.remove([m.seq for m in sent]) == 3  # their delete refused by the disk
    assert spool.unremoved == 3 and len(spool) == stored - 3
    assert spool.peek(0, 1)[0].seq == sent[-1].seq + 1
    assert spool.remove([sent[0].seq]) == 0  # acknowledged twice, counted once
    assert not spool.purge()
    ballast.unlink()
    assert spool.purge() and spool.unremoved == 0
    spool.close()
    reopened = Spool(full_disk / "spool.db", max_messages=10_000, max_bytes=1 << 20)
    assert reopened.recovered == stored - 3 and reopened.peek(0, 1)[0].seq == sent[-1].seq + 1
    reopened.close()


def test_a_full_spool_disk_loses_no_counts_and_counts_the_detections_it_refuses(redis_server, tmp_path, full_disk):
    """Broker away, the spool's disk fills: the counts spooled before it filled and those kept in
    memory after all reach a persistent subscriber once the broker is back, though the disk still
    refuses to delete the sent rows; the detections it refused are counted as failed."""
    import json
    import threading

    import paho.mqtt.client as mqtt

    from argos_bringup.services import MosquittoServer
    from argos_common.counts import CountRecord

    broker = MosquittoServer(workdir=tmp_path / "mosquitto", persistent=True).start()
    seqs: set[int] = set()
    subscribed = threading.Event()
    subscriber = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="dashboard", clean_session=False)
    subscriber.on_connect = lambda c, *_: c.subscribe("argos/s/d/loss/counts", qos=1)
    subscriber.on_subscribe = lambda *_: subscribed.set()
    subscriber.on_message = lambda _c, _u, msg: seqs.add(json.loads(msg.payload)["count_seq"])
    subscriber.reconnect_delay_set(0.2, 1)
    subscriber.connect_async("127.0.0.1", broker.port)
    subscriber.loop_start()
    bridge = Bridge(params(redis_server.url, broker.url, spool_dir=str(full_disk), mqtt_reconnect_max_s=1.0))
    try:
        assert subscribed.wait(10)
        broker.stop()  # the broker away (the subscriber's session stays)
        bridge.start()
        for i in range(60):
            bridge.submit_tracks(time.time_ns(), "f", ONE)
            bridge.submit_count(CountRecord("west", "", "car", "in", str(i), time.time_ns()))
        assert wait_until(lambda: bridge.stats()["mqtt_overflowed"] > 0 and bridge.stats()["mqtt_failed"] > 0)
        stats = bridge.stats()
        assert stats["mqtt_spool_depth"] > 0  # counts both in the spool and in memory
        broker.start()
        assert wait_until(lambda: len(seqs) == 60, timeout_s=30), sorted(seqs)
        stats = bridge.stats()
        assert stats["mqtt_overflow_depth"] == 0 and stats["mqtt_spool_depth"] == 0
        assert stats["mqtt_spool_unremoved"] > 0  # sent, still in the file: the disk is full
    finally:
        bridge.close(drain_timeout_s=1.0)
        subscriber.loop_stop()
        subscriber.disconnect()
        broker.stop()
    assert bridge.stats()["mqtt_lost_at_shutdown"] == 0 and bridge.stats()["mqtt_overflow_dropped"] == 0


def test_a_writer_that_cannot_drain_in_time_gives_up_the_queue_counted_and_ends_before_its_connections_close(
    redis_server, mqtt_broker
):
    import threading

    errors: list = []
    previous = threading.excepthook
    threading.excepthook = errors.append
    bridge = Bridge(params(redis_server.url, mqtt_broker.url, queue_size=20_000))
    try:
        bridge.start()
        for _ in range(20_000):  # far more than the writer writes in 10 ms
            bridge.submit_tracks(time.time_ns(), "f", ONE)
        writer = bridge._worker
        bridge.close(drain_timeout_s=0.01)
    finally:
        threading.excepthook = previous
    stats = bridge.stats()
    assert stats["queue_lost_at_shutdown"] > 0
    assert stats["queue_lost_at_shutdown"] + stats["redis_written"] >= 20_000 - stats["queue_dropped"]
    assert writer is not None and not writer.is_alive()  # ended before close() closed Redis and MQTT
    assert errors == [] and stats["writer_errors"] == 0
