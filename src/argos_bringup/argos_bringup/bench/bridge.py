"""`argos bench bridge`: messages/s through the bridge's sinks next to the raw clients doing the
same work, against private redis-server and mosquitto instances on this machine.

Same payload (a detections message with 5 objects), same server, same client settings; each
figure is the best of `--repeats` runs of `--messages` messages, timed until the server has
everything (Redis: XADD returned; MQTT: paho's on_publish, i.e. written for QoS 0, PUBACK for
QoS 1). The sink/raw ratio is what the bridge's own work costs (the issue's target: >= 80 %).
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import threading
import time

import numpy as np
import paho.mqtt.client as mqtt
import redis
from paho.mqtt.enums import CallbackAPIVersion

from argos_bridge import schema
from argos_bridge.bridge import Bridge
from argos_bridge.mqtt_sink import MqttSink
from argos_bridge.redis_sink import RedisSink
from argos_bringup.services import MosquittoServer, RedisServer
from argos_common.classes import DEFAULT_CLASSES
from argos_common.detections import Detections
from argos_common.endpoints import parse_mqtt_url
from argos_common.machine import cpu_model

_TARGET = 0.8


def _payload() -> str:
    boxes = np.array([[10 + 40 * i, 20, 60 + 40 * i, 80] for i in range(5)], dtype=float)
    dets = Detections(boxes, [0.9] * 5, ["car", "bus", "van", "truck", "car"], [str(i) for i in range(5)])
    return schema.to_json(
        schema.detections_payload(
            site="bench",
            device="edge",
            camera="cam0",
            stamp_ns=time.time_ns(),
            frame_id="f",
            bridge_frame=0,
            dets=dets,
            classes=DEFAULT_CLASSES,
        )
    )


def _best(runs: int, measure) -> float:
    return max(measure() for _ in range(runs))


def _redis_raw(url: str, n: int, payload: str) -> float:
    client = redis.Redis.from_url(url)
    fields = {"type": "tracks", "payload": payload, "stamp_ns": "1"}
    t0 = time.perf_counter()
    for _ in range(n):
        client.xadd("bench:raw", fields, maxlen=100_000, approximate=True)
    rate = n / (time.perf_counter() - t0)
    client.close()
    return rate


def _redis_sink(url: str, n: int, payload: str) -> float:
    sink = RedisSink(url, "bench:sink", 100_000)
    t0 = time.perf_counter()
    for _ in range(n):
        sink.write("tracks", payload, 1)
    rate = n / (time.perf_counter() - t0)
    sink.close()
    return rate


class _Acks:
    def __init__(self):
        self.count = 0
        self.cond = threading.Condition()

    def on_publish(self, *args) -> None:
        with self.cond:
            self.count += 1
            self.cond.notify_all()

    def wait(self, target: int, timeout_s: float = 60.0) -> None:
        with self.cond:
            self.cond.wait_for(lambda: self.count >= target, timeout_s)


def _connected(client_is_connected, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not client_is_connected() and time.monotonic() < deadline:
        time.sleep(0.01)


def _mqtt_raw(url: str, n: int, payload: str, qos: int) -> float:
    host, port = parse_mqtt_url(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw", clean_session=True)
    client.max_queued_messages_set(1000)
    acks = _Acks()
    client.on_publish = acks.on_publish
    client.connect(host, port, keepalive=30)
    client.loop_start()
    _connected(client.is_connected)
    t0 = time.perf_counter()
    sent = 0
    while sent < n:
        info = client.publish("bench/raw", payload, qos=qos)
        if info.rc == mqtt.MQTT_ERR_SUCCESS:
            sent += 1
        else:
            acks.wait(acks.count + 1, 1.0)  # paho's queue is full: the same back-pressure the sink sees
    acks.wait(n)
    rate = n / (time.perf_counter() - t0)
    client.disconnect()
    client.loop_stop()
    return rate


def _mqtt_sink(url: str, n: int, payload: str, qos: int) -> float:
    sink = MqttSink(
        url,
        "bench/sink",
        "bench-sink",
        qos={"detections": qos, "status": 0},
        online_payload=lambda: "online",
        shutdown_payload=lambda: "offline",
        max_queued=1000,
    )
    sink.start(will_payload="offline")
    _connected(lambda: sink.connected)
    time.sleep(0.05)
    base = sink.counters()["delivered"]
    t0 = time.perf_counter()
    for _ in range(n):
        sink.publish("detections", payload)
        sink.pump()
    deadline = time.monotonic() + 60
    while sink.counters()["delivered"] - base < n and time.monotonic() < deadline:
        sink.pump()
        time.sleep(0.0005)
    rate = n / (time.perf_counter() - t0)
    sink.close()
    return rate


def _bridge_end_to_end(redis_url: str, mqtt_url: str, n: int) -> float:
    boxes = Detections(
        np.array([[10 + 40 * i, 20, 60 + 40 * i, 80] for i in range(5)], dtype=float),
        [0.9] * 5,
        ["car", "bus", "van", "truck", "car"],
        [str(i) for i in range(5)],
    )
    bridge = Bridge(
        {
            "redis_url": redis_url,
            "mqtt_url": mqtt_url,
            "queue_size": n + 10,
            "site": "bench",
            "totals_interval_s": 600.0,
            "mqtt_qos_detections": 1,
        }
    )
    bridge.start()
    _connected(lambda: bridge.mqtt.connected)
    time.sleep(0.05)
    base = bridge.stats()["mqtt_delivered"]
    t0 = time.perf_counter()
    for _ in range(n):
        bridge.submit_tracks(time.time_ns(), "f", boxes)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        s = bridge.stats()
        if s["redis_written"] >= n and s["mqtt_delivered"] - base >= n:
            break
        time.sleep(0.002)
    rate = n / (time.perf_counter() - t0)
    bridge.close()
    return rate


def _version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=5)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "?"


def machine_lines() -> list[str]:
    return [
        f"machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        f"python {platform.python_version()}, paho-mqtt {importlib.metadata.version('paho-mqtt')}, "
        f"redis-py {importlib.metadata.version('redis')}",
        f"servers: {_version(['redis-server', '--version'])}; {_version(['mosquitto', '-h'])}",
    ]


def run_bench(args) -> int:
    n, runs = args.messages, args.repeats
    payload = _payload()
    rows = []
    with RedisServer() as redis_server, MosquittoServer() as broker:
        for label, raw, sink in (
            (
                "Redis XADD (MAXLEN ~)",
                lambda: _redis_raw(redis_server.url, n, payload),
                lambda: _redis_sink(redis_server.url, n, payload),
            ),
            (
                "MQTT publish QoS 0",
                lambda: _mqtt_raw(broker.url, n, payload, 0),
                lambda: _mqtt_sink(broker.url, n, payload, 0),
            ),
            (
                "MQTT publish QoS 1",
                lambda: _mqtt_raw(broker.url, n, payload, 1),
                lambda: _mqtt_sink(broker.url, n, payload, 1),
            ),
        ):
            raw_rate, sink_rate = _best(runs, raw), _best(runs, sink)
            rows.append((label, raw_rate, sink_rate))
        end_to_end = _best(runs, lambda: _bridge_end_to_end(redis_server.url, broker.url, n))

    print("\n".join(machine_lines()))
    print(f"payload {len(payload)} bytes (detections, 5 objects); {n} messages per run, best of {runs}\n")
    print(f"| {'path':<24} | {'raw client msg/s':>16} | {'bridge sink msg/s':>17} | {'sink/raw':>8} | target |")
    print(f"|{'-' * 26}|{'-' * 18}|{'-' * 19}|{'-' * 10}|--------|")
    failed = False
    for label, raw_rate, sink_rate in rows:
        ratio = sink_rate / raw_rate
        failed |= ratio < _TARGET
        print(
            f"| {label:<24} | {raw_rate:>16,.0f} | {sink_rate:>17,.0f} | {ratio:>7.0%} | "
            f"{'ok' if ratio >= _TARGET else 'MISSED':>6} |"
        )
    print(
        f"\nwhole bridge (submit_tracks -> payload JSON -> Redis + MQTT QoS 1, both confirmed): "
        f"{end_to_end:,.0f} msg/s ({end_to_end / 15:.0f}x a 15 FPS camera)"
    )
    return 1 if failed else 0
