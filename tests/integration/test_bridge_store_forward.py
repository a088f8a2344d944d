"""Store-and-forward against a real mosquitto that is killed and restarted, and a bridge process
that is killed with messages in its on-disk spool.

The observing subscriber keeps a persistent session on a broker with persistence on, so the
broker itself holds what arrives while the subscriber is reconnecting after the restart: what
the subscriber sees is what the broker accepted from the bridge.
"""

import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from argos_bridge.bridge import Bridge
from argos_bringup.services import MosquittoServer
from argos_common.detections import Detections
from harness.mqtt_tap import MqttTap
from waiting import wait_until

pytestmark = pytest.mark.integration

BOXES = Detections(np.array([[10, 20, 60, 80]]), [0.8], ["car"], ["5"])
BASE = "argos/s/d/c"
FPS = 15.0


@pytest.fixture
def persistent_broker(tmp_path):
    # the broker saves its sessions every second, so a SIGKILL keeps the subscriber's session
    config = f"persistence true\npersistence_location {tmp_path}/\nautosave_interval 1\n"
    with MosquittoServer(extra_config=config) as server:
        yield server


def first_occurrences(values):
    seen, out = set(), []
    for v in values:
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out


class Producer(threading.Thread):
    """Submits tracks at a steady 15 Hz (absolute schedule) and records how long each submit took."""

    def __init__(self, bridge: Bridge):
        super().__init__(daemon=True)
        self.bridge = bridge
        self.stamps: list[int] = []
        self.submit_s: list[float] = []
        self.wall: list[float] = []
        self._halt = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        i = 0
        while not self._halt.is_set():
            due = start + i / FPS
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            stamp = time.time_ns()
            t0 = time.perf_counter()
            self.bridge.submit_tracks(stamp, "c_optical", BOXES)
            self.submit_s.append(time.perf_counter() - t0)
            self.stamps.append(stamp)
            self.wall.append(time.monotonic())
            i += 1

    def stop(self) -> None:
        self._halt.set()
        self.join(5)

    def rate_between(self, t0: float, t1: float) -> float:
        n = sum(t0 <= t < t1 for t in self.wall)
        return n / (t1 - t0)


def test_broker_killed_for_30_s_at_15_msg_s_every_message_arrives_in_order(redis_server, persistent_broker, tmp_path):
    broker = persistent_broker
    bridge = Bridge(
        {
            "redis_url": redis_server.url,
            "mqtt_url": broker.url,
            "site": "s",
            "device": "d",
            "camera": "c",
            "mqtt_qos_detections": 1,
            "mqtt_reconnect_max_s": 2.0,
            "totals_interval_s": 600.0,
            "spool_dir": str(tmp_path / "spool"),
        }
    )
    tap = MqttTap(broker.url, [f"{BASE}/detections"], client_id="sf-observer", persistent_session=True).start()
    bridge.start()
    producer = Producer(bridge)
    try:
        assert wait_until(lambda: bridge.stats()["mqtt_connected"] == 1, timeout_s=10.0)
        time.sleep(1.5)  # one autosave with the observer's session in it
        producer.start()
        time.sleep(2.0)
        outage_start = time.monotonic()
        broker.kill()
        assert wait_until(lambda: bridge.stats()["mqtt_spooled"] > 0, timeout_s=10.0)
        time.sleep(30.0 - (time.monotonic() - outage_start))
        outage_end = time.monotonic()
        broker.start()  # same port, same persistence directory
        time.sleep(2.0)
        producer.stop()
        sent = len(producer.stamps)
        assert wait_until(lambda: bridge.stats()["mqtt_spool_depth"] == 0, timeout_s=20.0)
        assert tap.wait_for(lambda msgs: len({m.json()["stamp_ns"] for m in msgs}) >= sent, timeout_s=20.0)
    finally:
        producer.stop()
        tap.close()
        bridge.close()

    received = [m.json()["stamp_ns"] for m in tap.messages("/detections")]
    # every message, in the order it was produced; a repeat can only be an at-least-once resend
    assert first_occurrences(received) == producer.stamps
    stats = bridge.stats()
    assert stats["mqtt_spooled"] >= 30 * FPS * 0.9 and stats["mqtt_flushed"] == stats["mqtt_spooled"]
    assert stats["mqtt_spool_dropped"] == 0 and stats["mqtt_failed"] == 0
    # the pipeline never noticed: nothing was dropped from the hand-off queue, Redis got every frame
    assert stats["queue_dropped"] == 0 and stats["redis_failed"] == 0
    assert stats["redis_written"] == sent + 1  # + the final totals entry written on close
    print(
        f"\nsent {sent}, received {len(received)} ({len(received) - sent} duplicates), spooled "
        f"{stats['mqtt_spooled']}; producer rate before/during outage "
        f"{producer.rate_between(outage_start - 2.0, outage_start):.1f}/"
        f"{producer.rate_between(outage_start, outage_end):.1f} msg/s; "
        f"slowest submit {max(producer.submit_s) * 1e3:.2f} ms"
    )


BRIDGE_PROCESS = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    from argos_bridge.bridge import Bridge
    from argos_common.detections import Detections
    redis_url, mqtt_url, spool_dir, stamps = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    bridge = Bridge({"redis_url": redis_url, "mqtt_url": mqtt_url, "site": "s", "device": "d", "camera": "c",
                     "mqtt_qos_detections": 1, "mqtt_reconnect_max_s": 0.5, "totals_interval_s": 600.0,
                     "spool_dir": spool_dir})
    bridge.start()
    boxes = Detections(np.array([[1, 2, 3, 4]]), [0.5], ["car"], ["9"])
    for stamp in stamps:
        bridge.submit_tracks(stamp, "c_optical", boxes)
    while bridge.stats()["mqtt_spooled"] + bridge.stats()["mqtt_published"] < len(stamps):
        time.sleep(0.02)
    print(json.dumps(bridge.stats()), flush=True)
    time.sleep(60)
""")


def test_bridge_killed_with_a_full_spool_sends_it_after_restart(redis_server, mqtt_broker, tmp_path):
    spool_dir = str(tmp_path / "spool")
    mqtt_broker.stop()
    first = [1_800_000_000_000_000_000 + i for i in range(200)]
    proc = subprocess.Popen(
        [sys.executable, "-c", BRIDGE_PROCESS, redis_server.url, mqtt_broker.url, spool_dir, str(first)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        import json

        stats = json.loads(proc.stdout.readline())
        assert stats["mqtt_spooled"] == 200 and stats["mqtt_spool_depth"] == 200
        proc.kill()  # SIGKILL: no chance to flush or close anything
        proc.wait(5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    mqtt_broker.start()
    second = [1_900_000_000_000_000_000 + i for i in range(5)]
    with MqttTap(mqtt_broker.url, [f"{BASE}/detections"]) as tap:
        proc = subprocess.Popen(
            [sys.executable, "-c", BRIDGE_PROCESS, redis_server.url, mqtt_broker.url, spool_dir, str(second)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            proc.stdout.readline()
            assert tap.wait_for(lambda msgs: len({m.json()["stamp_ns"] for m in msgs}) >= 205, timeout_s=20.0)
        finally:
            proc.kill()
            proc.wait()
    received = [m.json()["stamp_ns"] for m in tap.messages("/detections")]
    # the spooled messages of the killed process first, in order, then the new ones
    assert first_occurrences(received) == first + second
