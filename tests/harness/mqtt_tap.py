"""A small MQTT subscriber that records what arrives on the bridge's topics.

For checking a deployment by hand (`argos status` can build on it) and for the integration
tests: it is an independent paho client, so it sees exactly what any consumer would see.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from argos_common.endpoints import parse_mqtt_url


@dataclass(frozen=True)
class TappedMessage:
    topic: str
    payload: bytes
    retain: bool
    qos: int

    def json(self) -> Any:
        return json.loads(self.payload)


class MqttTap:
    def __init__(
        self,
        url: str,
        topics: Iterable[str] = ("argos/#",),
        client_id: str = "",
        persistent_session: bool = False,
        reconnect_s: float = 0.1,
    ):
        """`persistent_session` (needs a `client_id`): the broker keeps the subscription and queues
        QoS 1 messages while this subscriber is away, e.g. across a broker restart with persistence."""
        if persistent_session and not client_id:
            raise ValueError("a persistent session needs a client_id")
        self._host, self._port = parse_mqtt_url(url)
        self._topics = list(topics)
        self._cond = threading.Condition()
        self._messages: list[TappedMessage] = []
        self._subscribed = threading.Event()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=not persistent_session
        )
        self._client.reconnect_delay_set(reconnect_s, reconnect_s)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    def start(self, timeout_s: float = 5.0) -> MqttTap:
        """Connect and subscribe; returns once the broker acknowledged the subscription."""
        self._client.connect(self._host, self._port, keepalive=30)
        self._client.loop_start()
        if not self._subscribed.wait(timeout_s):
            self.close()
            raise TimeoutError(f"no SUBACK from {self._host}:{self._port} within {timeout_s:g} s")
        return self

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> MqttTap:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def messages(self, topic_suffix: str = "") -> list[TappedMessage]:
        with self._cond:
            return [m for m in self._messages if m.topic.endswith(topic_suffix)]

    def wait_for(self, predicate: Callable[[list[TappedMessage]], bool], timeout_s: float = 5.0) -> bool:
        """Wait until `predicate(all messages so far)` holds; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not predicate(list(self._messages)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        client.subscribe([(t, 1) for t in self._topics])

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        self._subscribed.set()

    def _on_message(self, client, userdata, message) -> None:
        with self._cond:
            self._messages.append(
                TappedMessage(message.topic, bytes(message.payload), bool(message.retain), message.qos)
            )
            self._cond.notify_all()
