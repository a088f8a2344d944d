"""An independent MQTT subscriber that counts what actually reached the broker during a run."""

from __future__ import annotations

import threading
from collections import Counter
from urllib.parse import urlparse

import paho.mqtt.client as mqtt


class MqttWatcher:
    def __init__(self, url: str, topic: str = "argos/#"):
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 1883
        self.topic = topic
        self.received: Counter = Counter()
        self._lock = threading.Lock()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv311)
        self._client.on_connect = lambda c, _u, _f, rc, _p: (
            c.subscribe(self.topic, qos=1) if not rc.is_failure else None
        )
        self._client.on_message = self._on_message

    def _on_message(self, _client, _userdata, msg) -> None:
        kind = msg.topic.rsplit("/", 1)[-1]
        with self._lock:
            self.received[kind] += 1

    def start(self) -> MqttWatcher:
        self._client.connect_async(self.host, self.port, keepalive=30)
        self._client.loop_start()
        return self

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self.received)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
