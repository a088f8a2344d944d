"""Publish bridge payloads to an MQTT broker (paho-mqtt 2.x), never blocking or raising into the caller.

Topics: `<prefix>/<site>/<device>/<camera>/<kind>`, kind in detections | counts | totals | status.
`status` is retained: "online" is published on every (re)connect and the broker holds a retained
"offline" last will that it publishes when the connection dies without a goodbye; an orderly
`close()` publishes "offline" itself before disconnecting (a clean disconnect suppresses the will).

The network runs on paho's own thread (connect_async + loop_start): a broker that is absent at
start or goes away later only makes publishes fail (counted in `failed`) while paho reconnects
in the background with a doubling delay up to `reconnect_max_s`. Messages are not queued while
disconnected; store-and-forward is a separate layer (later).
"""
from __future__ import annotations

import logging
import threading
from typing import Callable, Mapping
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from argos_common.params import ConfigError

from .params import DEFAULT_MQTT_URL

KINDS = ("detections", "counts", "totals", "status")
_RECONNECT_MIN_S = 0.5


def parse_mqtt_url(url: str, key: str = "mqtt_url") -> tuple[str, int]:
    """`mqtt://host:port` (port defaults to 1883; empty url: the local default) -> (host, port)."""
    url = url or DEFAULT_MQTT_URL
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise ConfigError(key, f"{url!r} is not an mqtt://host:port URL")
    if parts.path not in ("", "/") or parts.query or parts.username:
        raise ConfigError(key, f"{url!r}: only mqtt://host:port is supported (no path, query or credentials)")
    try:
        port = parts.port or 1883
    except ValueError as exc:
        raise ConfigError(key, f"{url!r}: {exc}") from None
    return parts.hostname, port


def topic_base(prefix: str, site: str, device: str, camera: str) -> str:
    levels = (prefix, site, device, camera)
    for name, level in zip(("topic_prefix", "site", "device", "camera"), levels):
        if not level or any(c in level for c in "/+#\0"):
            raise ConfigError(name, f"{level!r} cannot be an MQTT topic level (empty, or contains / + # or NUL)")
    return "/".join(levels)


class MqttSink:
    def __init__(self, url: str, base_topic: str, client_id: str, *, qos: Mapping[str, int],
                 online_payload: Callable[[], str], shutdown_payload: Callable[[], str],
                 keepalive_s: int = 30, reconnect_max_s: float = 30.0, max_queued: int = 1000, logger=None):
        self.url = url or DEFAULT_MQTT_URL
        self._host, self._port = parse_mqtt_url(url)
        self.topics = {kind: f"{base_topic}/{kind}" for kind in KINDS}
        self._qos = {kind: int(qos.get(kind, 0)) for kind in KINDS}
        self._online_payload = online_payload
        self._shutdown_payload = shutdown_payload
        self._keepalive_s = keepalive_s
        self._reconnect_max_s = max(reconnect_max_s, _RECONNECT_MIN_S)
        self._log = logger or logging.getLogger(__name__)
        self._lock = threading.Lock()
        self._outage_logged = False
        self._started = False
        self.published = 0
        self.failed = 0
        self.delivered = 0
        self.connects = 0

        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        # paho keeps QoS>0 messages it could not send yet; bound that memory
        self._client.max_queued_messages_set(max_queued)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish

    @property
    def connected(self) -> bool:
        return self._client.is_connected()

    def start(self, will_payload: str) -> None:
        """Connect in the background; `will_payload` is what the broker retains on `status` if the
        connection dies without a goodbye."""
        self._client.will_set(self.topics["status"], will_payload, qos=self._qos["status"], retain=True)
        self._client.reconnect_delay_set(_RECONNECT_MIN_S, self._reconnect_max_s)
        self._client.connect_async(self._host, self._port, keepalive=self._keepalive_s)
        self._client.loop_start()
        self._started = True

    def publish(self, kind: str, payload_json: str) -> bool:
        """Hand one message to paho; True when accepted for sending on a live connection."""
        if not self._client.is_connected():
            self._count(ok=False)
            return False
        try:
            info = self._client.publish(self.topics[kind], payload_json, qos=self._qos[kind],
                                        retain=(kind == "status"))
            ok = info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS
        except (ValueError, OSError):
            ok = False
        self._count(ok)
        return ok

    def close(self, timeout_s: float = 2.0) -> None:
        if not self._started:
            return
        self._started = False
        if self._client.is_connected():
            try:
                info = self._client.publish(self.topics["status"], self._shutdown_payload(),
                                            qos=self._qos["status"], retain=True)
                info.wait_for_publish(timeout_s)
            except (ValueError, RuntimeError, OSError):
                pass
        self._client.disconnect()
        self._client.loop_stop()

    def _count(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self.published += 1
            else:
                self.failed += 1

    # paho callbacks: run on paho's network thread
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._report_outage(f"broker at {self.url} refused the connection: {reason_code}")
            return
        with self._lock:
            self.connects += 1
        self._log.info(f"mqtt: connected to {self.url}; publishing under {self.topics['status'].rsplit('/', 1)[0]}/")
        self._outage_logged = False
        client.publish(self.topics["status"], self._online_payload(), qos=self._qos["status"], retain=True)

    def _on_connect_fail(self, client, userdata) -> None:
        self._report_outage(f"cannot reach the broker at {self.url} (mqtt_url)")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if self._started:
            self._report_outage(f"lost the connection to {self.url} ({reason_code})")

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            self.delivered += 1

    def _report_outage(self, what: str) -> None:
        if not self._outage_logged:
            self._outage_logged = True
            self._log.warning(f"mqtt: {what}; messages are dropped and counted, "
                              f"reconnecting in the background (up to every {self._reconnect_max_s:g} s)")
