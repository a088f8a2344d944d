"""Publish bridge payloads to an MQTT broker (paho-mqtt 2.x) with store-and-forward; never blocks
or raises into the caller.

Topics: `<prefix>/<site>/<device>/<camera>/<kind>`, kind in detections | counts | totals | status.
`status` is retained: "online" is published on every (re)connect and the broker holds a retained
"offline" last will that it publishes when the connection dies without a goodbye; an orderly
`close()` publishes "offline" itself before disconnecting (a clean disconnect suppresses the will).

The network runs on paho's own thread (connect_async + loop_start); paho reconnects in the
background with a doubling delay up to `reconnect_max_s`. Security (TLS, username/password,
protocol version) is applied to the client before the first connection attempt.

Store-and-forward (all on the caller's thread, the bridge writer):
- connected and the spool empty: the message goes straight to paho (the fast path);
- otherwise it is appended to the spool (argos_bridge.spool), so order is kept: once the
  spool has rows, new messages queue behind them;
- `pump()` sends spooled rows in order while connected, at most `_FLUSH_WINDOW` unacknowledged
  at a time, and removes a row only when paho reports it sent: PUBACK for QoS 1, PUBCOMP for
  QoS 2, written to the socket for QoS 0.
Duplicates (at-least-once): a spooled row whose acknowledgement was lost (connection dropped,
process killed after sending) is sent again on the next connection or start.
Loss: a QoS 0 message written to a socket the broker already dropped (before paho notices,
at most the keepalive) is gone, as QoS 0 allows; QoS 1/2 messages handed to paho on the fast
path live in paho's memory until acknowledged (resent on reconnect), and are lost only if the
process dies in that window; spool overflow drops the oldest rows (counted).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from argos_common.endpoints import DEFAULT_MQTT_URL, parse_mqtt_url
from argos_common.params import ConfigError

from .mqtt_security import MqttSecurity, diagnose_tls
from .spool import Spool

KINDS = ("detections", "counts", "totals", "status", "movements", "bins")
_RECONNECT_MIN_S = 0.5
_FLUSH_WINDOW = 100  # spooled messages handed to paho and not yet acknowledged
# what the spool cannot take (its disk full, an I/O error) waits in memory when it is one of these:
# rare and small, and what the field counts on; detections are dropped (counted in `failed`)
_OVERFLOW_KINDS = ("counts", "totals", "movements", "bins")
_OVERFLOW_MAX = 10_000

PUBLISHED, SPOOLED, REJECTED, FAILED = "published", "spooled", "rejected", "failed"


def topic_base(prefix: str, site: str, device: str, camera: str) -> str:
    levels = (prefix, site, device, camera)
    for name, level in zip(("topic_prefix", "site", "device", "camera"), levels):
        if not level or any(c in level for c in "/+#\0"):
            raise ConfigError(name, f"{level!r} cannot be an MQTT topic level (empty, or contains / + # or NUL)")
    return "/".join(levels)


def paho_keeps(rc: MQTTErrorCode, qos: int) -> bool:
    """Whether paho holds a message after publish() returned `rc`: sent (or being sent), or queued
    for the next connection. With NO_CONN (the socket died before paho noticed) it keeps QoS 1/2
    messages to resend, but drops QoS 0 ones; a full queue keeps nothing."""
    if rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
        return True
    return rc == MQTTErrorCode.MQTT_ERR_NO_CONN and qos > 0


class MqttSink:
    def __init__(
        self,
        url: str,
        base_topic: str,
        client_id: str,
        *,
        qos: Mapping[str, int],
        online_payload: Callable[[], str],
        shutdown_payload: Callable[[], str],
        keepalive_s: int = 30,
        reconnect_max_s: float = 30.0,
        max_queued: int = 1000,
        security: MqttSecurity | None = None,
        spool: Spool | None = None,
        logger=None,
    ):
        self.url = url or DEFAULT_MQTT_URL
        self._host, self._port = parse_mqtt_url(url)
        self.topics = {kind: f"{base_topic}/{kind}" for kind in KINDS}
        self._qos = {kind: int(qos.get(kind, 0)) for kind in KINDS}
        self._online_payload = online_payload
        self._shutdown_payload = shutdown_payload
        self._keepalive_s = keepalive_s
        self._reconnect_max_s = max(reconnect_max_s, _RECONNECT_MIN_S)
        self._security = security or MqttSecurity()
        self._log = logger or logging.getLogger(__name__)
        self._lock = threading.Lock()
        self._outage_logged = False
        self._last_outage = ""
        self._session_up = False
        self._started = False
        self.spool = spool if spool is not None else Spool(None, max_messages=100_000, max_bytes=64 << 20)
        # spool flushing state, writer thread only
        self._flush_cursor = 0  # highest seq handed to paho in this process
        self._mid_to_seq: dict[int, int] = {}
        self._acked_mids: deque[int] = deque()  # appended by paho's thread, drained by the writer
        self._next_purge = 0.0  # monotonic: when to retry deleting acknowledged rows the disk refused
        self.published = 0  # sent directly and confirmed: PUBACK/PUBCOMP (QoS 1/2), written to the socket (QoS 0)
        self._in_flight: deque[mqtt.MQTTMessageInfo] = deque()  # sent directly, not confirmed yet (under _lock)
        self.lost_at_shutdown = 0  # in flight or in the in-memory spool when the sink closed
        self.spooled = 0  # appended to the spool
        self.flushed = 0  # spooled rows acknowledged and removed
        self.rejected = 0  # refused by paho (e.g. over the broker's packet size)
        self.failed = 0  # neither published nor spooled
        self._overflow: deque[tuple[str, str, int]] = deque()  # (topic, payload, qos), writer thread only
        self.overflowed = 0  # counts/totals kept in memory because the spool refused them
        self.overflow_dropped = 0  # refused with the overflow full
        self.delivered = 0  # paho's on_publish for any message (status included)
        self.connects = 0

        sec = self._security
        if sec.protocol == "5":
            self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        else:
            self._client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True, protocol=mqtt.MQTTv311
            )
        # credentials and TLS go on the client before any connection attempt
        self._ssl_context = sec.ssl_context()
        if self._ssl_context is not None:
            self._client.tls_set_context(self._ssl_context)
        if sec.username:
            self._client.username_pw_set(sec.username, sec.password)
        # paho keeps QoS>0 messages it could not send yet; bound that memory
        self._client.max_queued_messages_set(max(max_queued, 2 * _FLUSH_WINDOW))
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
        if len(self.spool):
            self._log.info(
                f"mqtt: {len(self.spool)} messages from an earlier run wait in the spool; "
                f"they are sent first, in order, once the broker is reachable"
            )
        self._client.will_set(self.topics["status"], will_payload, qos=self._qos["status"], retain=True)
        # paho annotates the delays as int, but only adds, doubles and compares them: seconds as float work
        self._client.reconnect_delay_set(_RECONNECT_MIN_S, self._reconnect_max_s)  # type: ignore[arg-type]
        if self._security.protocol == "5":
            self._client.connect_async(self._host, self._port, keepalive=self._keepalive_s, clean_start=True)
        else:
            self._client.connect_async(self._host, self._port, keepalive=self._keepalive_s)
        self._client.loop_start()
        self._started = True

    def publish(self, kind: str, payload_json: str) -> str:
        """Send or spool one message; returns PUBLISHED, SPOOLED, REJECTED or FAILED."""
        topic, qos = self.topics[kind], self._qos[kind]
        if len(self.spool) == 0 and not self._overflow and self._client.is_connected():
            try:
                info = self._client.publish(topic, payload_json, qos=qos, retain=(kind == "status"))
            except ValueError as exc:  # paho refuses e.g. a payload over the MQTT size limit
                self._reject(kind, str(exc))
                return REJECTED
            if paho_keeps(info.rc, qos):
                with self._lock:
                    self._in_flight.append(info)
                self._settle()
                return PUBLISHED
            # paho has no copy (QoS 0 on a socket that just died) or its queue is full: spool it
        return self._spool(topic, payload_json, qos, kind)

    def _settle(self) -> None:
        """Count the direct messages paho has confirmed, in order (any thread: the writer, stats)."""
        with self._lock:
            while self._in_flight and self._in_flight[0].is_published():
                self._in_flight.popleft()
                self.published += 1

    def _spool(self, topic: str, payload: str, qos: int, kind: str = "") -> str:
        try:
            self.spool.append(topic, payload, qos)
        except Exception as exc:  # noqa: BLE001 - disk full, I/O error: count, never raise into the writer
            if kind in _OVERFLOW_KINDS and len(self._overflow) < _OVERFLOW_MAX:
                if not self._overflow:
                    self._log.error(
                        f"mqtt: the spool refused a message ({exc}); counts, totals, movements and bins wait in memory"
                    )
                self._overflow.append((topic, payload, qos))
                with self._lock:
                    self.overflowed += 1
                return SPOOLED
            with self._lock:
                if kind in _OVERFLOW_KINDS:
                    self.overflow_dropped += 1
                else:
                    self.failed += 1
            self._log.error(f"mqtt: could not spool a message for {topic}: {exc}")
            return FAILED
        with self._lock:
            self.spooled += 1
        return SPOOLED

    def _reject(self, kind: str, reason: str) -> None:
        with self._lock:
            self.rejected += 1
        self._log.warning(f"mqtt: rejected a {kind} message: {reason}")

    def pump(self) -> bool:
        """Remove acknowledged spool rows and, while connected, send the next ones in order.
        Returns True while the spool still holds rows (call again soon)."""
        self._remove_acknowledged()
        self._settle()
        if len(self.spool) == 0:
            self._flush_cursor = 0
            return self._pump_overflow()
        if not self._client.is_connected():
            return True
        room = _FLUSH_WINDOW - len(self._mid_to_seq)
        if room > 0:
            for row in self.spool.peek(self._flush_cursor, room):
                try:
                    info = self._client.publish(row.topic, row.payload, qos=row.qos)
                except ValueError as exc:
                    self._reject("spooled", str(exc))
                    self.spool.remove([row.seq])
                    self._flush_cursor = row.seq
                    continue
                if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                    break  # paho's queue is full; try again on the next pump
                self._mid_to_seq[info.mid] = row.seq
                self._flush_cursor = row.seq
        return True

    def _pump_overflow(self) -> bool:
        """After the spool: what waited in memory, in order, handed to paho like a direct publish.
        True while some remains."""
        if not self._overflow:
            return False
        if not self._client.is_connected():
            return True
        with self._lock:
            room = _FLUSH_WINDOW - len(self._in_flight)
        while self._overflow and room > 0:
            topic, payload, qos = self._overflow[0]
            info = self._client.publish(topic, payload, qos=qos)
            if not paho_keeps(info.rc, qos):
                break  # the connection just went: try again later
            with self._lock:
                self._in_flight.append(info)
            self._overflow.popleft()
            room -= 1
        if not self._overflow:
            self._log.info("mqtt: counts and totals kept in memory are sent; publishing directly again")
        return bool(self._overflow)

    def _remove_acknowledged(self) -> None:
        done = []
        while self._acked_mids:
            seq = self._mid_to_seq.pop(self._acked_mids.popleft(), None)
            if seq is not None:
                done.append(seq)
        if done:
            unremoved = self.spool.unremoved
            removed = self.spool.remove(done)
            with self._lock:
                self.flushed += removed
            if self.spool.unremoved and not unremoved:
                self._log.warning(
                    f"mqtt: the spool's disk refuses deletes; {self.spool.unremoved} sent rows stay in "
                    f"{self.spool.path} until it has room (sent again if the bridge restarts before)"
                )
            if len(self.spool) == 0:
                self._log.info("mqtt: spool flushed; publishing directly again")
        elif self.spool.unremoved and time.monotonic() >= self._next_purge:
            self._next_purge = time.monotonic() + 1.0  # a full disk: one failing DELETE a second
            if self.spool.purge():
                self._log.info("mqtt: the spool's disk has room again; sent rows deleted")

    def flush(self, timeout_s: float, sleep: Callable[[float], None] | None = None) -> int:
        """Pump until the spool is empty or `timeout_s` passed; returns the rows still spooled."""
        deadline = time.monotonic() + timeout_s
        while self.pump() and time.monotonic() < deadline:
            (sleep or time.sleep)(0.01)
        return len(self.spool)

    def counters(self) -> dict[str, int]:
        self._settle()
        with self._lock:
            return {
                "published": self.published,
                "in_flight": len(self._in_flight),
                "lost_at_shutdown": self.lost_at_shutdown,
                "spooled": self.spooled,
                "flushed": self.flushed,
                "rejected": self.rejected,
                "failed": self.failed,
                "delivered": self.delivered,
                "connects": self.connects,
                "spool_depth": len(self.spool),
                "spool_dropped": self.spool.dropped,
                "spool_recovered": self.spool.recovered,
                "spool_unremoved": self.spool.unremoved,
                "overflow_depth": len(self._overflow),
                "overflowed": self.overflowed,
                "overflow_dropped": self.overflow_dropped,
            }

    def close(self, timeout_s: float = 2.0) -> None:
        if not self._started:
            self.spool.close()
            return
        self._started = False
        if self._client.is_connected():
            try:
                info = self._client.publish(
                    self.topics["status"], self._shutdown_payload(), qos=self._qos["status"], retain=True
                )
                info.wait_for_publish(timeout_s)
            except (ValueError, RuntimeError, OSError):
                pass
        self._client.disconnect()
        self._client.loop_stop()
        self._remove_acknowledged()
        self._settle()
        unconfirmed = len(self._in_flight)  # in paho's memory only: gone with the process
        unsent = (0 if self.spool.path else len(self.spool)) + len(self._overflow)
        if self._overflow:
            self._log.warning(f"mqtt: {len(self._overflow)} counts/totals that the spool refused are lost")
        with self._lock:
            self.lost_at_shutdown += unconfirmed + unsent
        if unconfirmed:
            self._log.warning(f"mqtt: {unconfirmed} messages sent but never confirmed by the broker are lost")
        if len(self.spool):
            where = (
                f"kept in {self.spool.path} for the next start"
                if self.spool.path
                else "lost (spool_dir is empty: the spool is in memory)"
            )
            self._log.warning(f"mqtt: {len(self.spool)} unsent messages {where}")
        self.spool.close()

    # paho callbacks: run on paho's network thread
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            hint = ""
            if reason_code.value in (0x04, 0x05, 0x86, 0x87):  # bad credentials / not authorised (3.1.1 and 5)
                hint = " (check mqtt_username and mqtt_password_file)"
            self._report_outage(f"broker at {self.url} refused the connection: {reason_code}{hint}")
            return
        with self._lock:
            self.connects += 1
        self._session_up = True
        self._log.info(f"mqtt: connected to {self.url}; publishing under {self.topics['status'].rsplit('/', 1)[0]}/")
        self._outage_logged = False
        self._last_outage = ""
        client.publish(self.topics["status"], self._online_payload(), qos=self._qos["status"], retain=True)

    def _on_connect_fail(self, client, userdata) -> None:
        if self._outage_logged:
            return
        reason = diagnose_tls(self._host, self._port, self._ssl_context) if self._ssl_context else None
        self._report_outage(
            f"cannot connect to the broker at {self.url} (mqtt_url)"
            + (f": {reason} (check mqtt_tls_ca_file)" if reason else "")
        )

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        # after a refused CONNACK paho reports a disconnect too: only a live session is "lost"
        was_up, self._session_up = self._session_up, False
        if self._started and was_up:
            self._report_outage(f"lost the connection to {self.url} ({reason_code})")

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        # called with paho's message lock held: only hand the mid over, the writer does the rest
        self._acked_mids.append(mid)
        with self._lock:
            self.delivered += 1

    def _report_outage(self, what: str) -> None:
        # once per outage and cause: paho retries every few seconds for as long as it lasts
        if what != self._last_outage:
            self._last_outage = what
            self._outage_logged = True
            self._log.warning(
                f"mqtt: {what}; messages go to the spool ({len(self.spool)} waiting), "
                f"reconnecting in the background (up to every {self._reconnect_max_s:g} s)"
            )
