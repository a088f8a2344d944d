"""The bridge core (no ROS): tracks and count events in, Redis stream entries and MQTT messages out.

Callers (ROS callbacks, the runner, replay) only append to a bounded in-memory queue; one worker
thread builds the payloads and does all network I/O, so a slow or absent Redis/broker never
blocks the pipeline. Overflow policy: when the queue is full the oldest *tracks* message is
dropped (counted in `queue_dropped`); count events are never dropped for tracks and may exceed
the queue size up to 10x before the oldest count is dropped (counted in `counts_dropped`).

Per tracks message: one Redis entry (type "tracks"); every `detections_every_n_frames`-th also
goes to MQTT `detections`, and the latency of that publish (wall clock at publish minus capture
stamp) is recorded. Per count event: Redis "count" + MQTT `counts`. Every `totals_interval_s`
and once more on close: Redis "totals" + MQTT `totals`. Per movement event: Redis "movement" +
MQTT `movements`. Movements and counts are also binned (argos_common.bins, `bins.*`); a bin that
closed, or changed after it was published, goes to Redis "bin" + MQTT `bins`. On start the
writer first reads the stream back (`bins.interval_min` + `bins.close_delay_s` + `bins.late_s`)
and resumes the bins from it; the open bin is not published at close (the next run resumes it).

The raw `detections` topic (every box of every frame, before tracking) is not bridged: the
tracks message carries the same boxes for everything that became a track, with the real track
id as objectID, and unconfirmed boxes (noise, a few frames of a new object) are not worth a
cellular link. Outages: Redis entries wait in RedisSink's memory buffer, MQTT messages in the
spool (argos_bridge.spool); both are flushed in order by this worker between new messages.
Rejected before either sink (logged with the reason, counted in `rejected`): payloads above
`max_payload_bytes` and count events that lack a field or carry an unknown direction.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from argos_common.bins import IntervalBins, snapshot_from_payload
from argos_common.counts import CountRecord, CountTotals
from argos_common.detections import Detections
from argos_common.endpoints import read_secret_file, stream_key, url_scheme
from argos_common.health import LEVEL_NAMES
from argos_common.metrics import LatencyHistogram
from argos_common.movements import MovementRecord
from argos_common.params import ConfigError, resolve
from argos_common.stats import SampleWindow, percentiles

from . import schema
from .health import health as bridge_health
from .mqtt_security import security_from_params
from .mqtt_sink import PUBLISHED, MqttSink, topic_base
from .params import PARAMS, validate
from .redis_sink import RedisSink
from .spool import Spool

_LATENCY_WINDOW = 100_000  # latency samples kept (most recent)
_COUNT_OVERFLOW_FACTOR = 10
_DRAIN_TIMEOUT_S = 5.0
_WRITER_EXIT_S = 5.0  # after the drain timeout: for the item at hand, the final totals and flush
_PUMP_INTERVAL_S = 0.02  # how often the worker retries a flush while a buffer or the spool holds data
_DIRECTIONS = ("in", "out")

_TRACKS = "tracks"
_COUNT = "count"
_EPOCH = "epoch"
_MOVEMENT = "movement"
_BINS_POLL_S = 1.0  # how often the writer looks for bins that closed


_HEALTH_COUNTERS = (
    "queue_dropped",
    "writer_errors",
    "mqtt_spool_depth",
    "mqtt_spool_dropped",
    "mqtt_overflow_depth",
    "mqtt_overflow_dropped",
    "mqtt_failed",
    "redis_buffer_depth",
    "redis_dropped",
)


class Bridge:
    def __init__(
        self,
        params: Mapping[str, Any],
        clock_ns: Callable[[], int] = time.time_ns,
        *,
        logger=None,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        """`params`: bridge parameters by name (missing ones take their defaults); raises ConfigError."""
        p = resolve(PARAMS, dict(params))
        validate(p)
        self.params = p
        self._clock_ns = clock_ns
        self._monotonic = monotonic
        self._log = logger or logging.getLogger(__name__)
        self._identity = {"site": p["site"], "device": p["device"], "camera": p["camera"]}
        self._classes = list(p["classes"])
        self._every_n = p["detections_every_n_frames"]
        self._totals_interval_s = p["totals_interval_s"]
        self._last_health: dict[str, Any] = {"level": "OK", "message": "starting"}
        self._queue_size = p["queue_size"]
        self._max_payload = p["max_payload_bytes"]

        base = topic_base(p["topic_prefix"], p["site"], p["device"], p["camera"])
        self.redis = RedisSink(
            p["redis_url"],
            stream_key(p["site"], p["device"], p["camera"]),
            p["stream_maxlen"],
            timeout_s=p["redis_timeout_s"],
            retry_max_s=p["redis_retry_max_s"],
            buffer_size=p["redis_buffer_size"],
            username=p["redis_username"],
            password=read_secret_file(p["redis_password_file"], "redis_password_file"),
            logger=self._log,
            monotonic=monotonic,
        )
        security = security_from_params(p, url_scheme(p["mqtt_url"]))
        spool_path = None
        if p["spool_dir"]:
            spool_path = f"{p['spool_dir']}/{p['site']}-{p['device']}-{p['camera']}.sqlite3"
        else:
            self._log.info("bridge: spool_dir is empty: the MQTT spool is in memory and does not survive a restart")
        try:
            spool = Spool(
                spool_path, max_messages=p["spool_max_messages"], max_bytes=int(p["spool_max_mb"] * (1 << 20))
            )
        except Exception as exc:  # noqa: BLE001 - sqlite/OS errors: the directory is the thing to fix
            raise ConfigError("spool_dir", f"cannot open the spool {spool_path!r}: {exc}") from None
        client_id = p["mqtt_client_id"] or f"argos-{p['site']}-{p['device']}-{p['camera']}"
        self.mqtt = MqttSink(
            p["mqtt_url"],
            base,
            client_id,
            qos={
                "detections": p["mqtt_qos_detections"],
                "counts": p["mqtt_qos_counts"],
                "totals": p["mqtt_qos_totals"],
                "status": p["mqtt_qos_status"],
                "movements": p["mqtt_qos_movements"],
                "bins": p["mqtt_qos_bins"],
            },
            online_payload=lambda: self._status_json(schema.STATE_ONLINE, "connected"),
            shutdown_payload=lambda: self._status_json(schema.STATE_OFFLINE, "shutdown"),
            keepalive_s=p["mqtt_keepalive_s"],
            reconnect_max_s=p["mqtt_reconnect_max_s"],
            max_queued=p["queue_size"],
            security=security,
            spool=spool,
            logger=self._log,
        )

        self._cond = threading.Condition()
        self._queue: deque[tuple] = deque()
        self._stopping = False
        self._drain_timeout_s = _DRAIN_TIMEOUT_S
        self._worker: threading.Thread | None = None
        self._totals = CountTotals()
        self._interval_min = p["bins.interval_min"]
        self._bins = IntervalBins(p["bins.interval_min"], p["bins.close_delay_s"], p["bins.late_s"])
        self._bins_lookback_ns = int((p["bins.interval_min"] * 60 + p["bins.close_delay_s"] + p["bins.late_s"]) * 1e9)
        self._movements = 0
        self._bins_published = 0
        self._bins_resumed = 0  # events taken back from the stream at start
        self._bins_resume_failed = 0
        self._open_bin: dict[str, int] = {}  # running matrix of the open bin, "movement class" -> n
        self._open_bin_start_ns = 0
        self._started_ns = 0
        self._interval_start_ns = 0
        self._epoch = 0  # the tracker's counting epoch the totals belong to
        self._epoch_started_ns = 0
        self._late_counts = 0  # counts of an epoch already closed: sent, not in the totals

        self._stats_lock = threading.Lock()
        self._frames = 0
        self._counts = 0
        self._queue_dropped = 0
        self._counts_dropped = 0
        self._rejected = 0
        self._writer_errors = 0  # messages the writer could not turn into a payload (logged)
        self._lost_in_queue = 0  # still queued when close() gave up waiting for the writer
        self._detections_published = 0
        self._totals_published = 0
        self._latencies_ms = SampleWindow(_LATENCY_WINDOW)
        # for Prometheus: queue wait + Redis write + MQTT publish of a tracks message, and capture
        # stamp -> MQTT publish (the latency above, as a histogram since the start)
        self.stage_latency = LatencyHistogram()
        self.end_to_end_latency = LatencyHistogram()

    # ---- producer side (any thread; never blocks on I/O) ----
    def submit_tracks(self, stamp_ns: int, frame_id: str, dets: Detections) -> None:
        with self._cond:
            bridge_frame = self._frames
            self._frames += 1
            self._enqueue((_TRACKS, int(stamp_ns), frame_id, dets, bridge_frame, time.perf_counter()))

    def submit_count(self, event: Any) -> None:
        """`event`: CountRecord, mapping or attribute object (see CountRecord.from_event). A malformed
        event is rejected with a logged reason, never raised into the (ROS callback) caller."""
        try:
            record = CountRecord.from_event(event)
            if record.direction not in _DIRECTIONS:
                raise ValueError(f"direction {record.direction!r} is not one of {'/'.join(_DIRECTIONS)}")
        except (KeyError, ValueError, TypeError) as exc:
            self._reject(f"malformed count event: {exc}")
            return
        with self._cond:
            count_seq = self._counts
            self._counts += 1
            self._enqueue((_COUNT, record, count_seq))

    def submit_epoch(self, epoch: int, stamp_ns: int) -> None:
        """The tracker announced counting epoch `epoch` (a live change of its lines or zones, or
        its start): in queue order with the counts, the totals of the current epoch are closed
        with a totals payload and a new table begins."""
        with self._cond:
            self._queue.append((_EPOCH, int(epoch), int(stamp_ns)))
            self._cond.notify()

    def retune(self, params: Mapping[str, Any]) -> None:
        """Live parameters (detections_every_n_frames, totals_interval_s); the writer uses them
        from its next message and its next totals deadline."""
        p = resolve(PARAMS, dict(params))
        validate(p)
        self._every_n = p["detections_every_n_frames"]
        with self._cond:
            self._totals_interval_s = p["totals_interval_s"]
            self._cond.notify()  # a shorter interval is due sooner than the wait in progress
        self.params = p

    def submit_movement(self, event: Any) -> None:
        """`event`: MovementRecord, mapping or attribute object (MovementRecord.from_event); a
        malformed one is rejected with a logged reason. Never dropped for tracks (like counts)."""
        try:
            record = MovementRecord.from_event(event)
        except (KeyError, ValueError, TypeError) as exc:
            self._reject(f"malformed movement event: {exc}")
            return
        with self._cond:
            seq = self._movements
            self._movements += 1
            self._enqueue((_MOVEMENT, record, seq))

    def _enqueue(self, item: tuple) -> None:
        # caller holds self._cond
        if len(self._queue) >= self._queue_size and not self._drop_oldest_tracks():
            if item[0] == _TRACKS:
                self._queue_dropped += 1
                return
            if len(self._queue) >= self._queue_size * _COUNT_OVERFLOW_FACTOR:
                self._queue.popleft()
                self._counts_dropped += 1
        self._queue.append(item)
        self._cond.notify()

    def _reject(self, reason: str) -> None:
        with self._stats_lock:
            self._rejected += 1
        self._log.warning(f"bridge: rejected {reason}")

    def _drop_oldest_tracks(self) -> bool:
        for i, queued in enumerate(self._queue):
            if queued[0] == _TRACKS:
                del self._queue[i]
                self._queue_dropped += 1
                return True
        return False

    # ---- lifecycle ----
    def start(self) -> None:
        if self._worker is not None:
            return
        self._started_ns = self._interval_start_ns = self._epoch_started_ns = self._clock_ns()
        self._bins.start(self._started_ns)
        self.mqtt.start(will_payload=self._status_json(schema.STATE_OFFLINE, "connection_lost"))
        self._worker = threading.Thread(target=self._run, name="argos-bridge-writer", daemon=True)
        self._worker.start()

    def close(self, drain_timeout_s: float = _DRAIN_TIMEOUT_S) -> None:
        """Write what is queued (up to `drain_timeout_s`), a final totals payload, then say goodbye."""
        self._drain_timeout_s = drain_timeout_s
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._worker is not None:
            self._worker.join(drain_timeout_s)
            if self._worker.is_alive():
                # the rest of the queue is given up, so the writer ends after the item at hand (final
                # totals and flush included) before its Redis and MQTT connections and spool close
                with self._cond:
                    lost = len(self._queue)
                    self._queue.clear()
                    self._cond.notify()
                with self._stats_lock:
                    self._lost_in_queue += lost
                self._log.warning(
                    f"bridge: writer did not drain within {drain_timeout_s:g} s; {lost} queued messages are lost"
                )
                self._worker.join(_WRITER_EXIT_S)
                if self._worker.is_alive():
                    self._log.error(f"bridge: writer still busy {_WRITER_EXIT_S:g} s later; closing under it")
        self._worker = None
        self.mqtt.close()
        self.redis.close()

    def __enter__(self) -> Bridge:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- worker ----
    def _run(self) -> None:
        self._resume_bins()
        interval = self._totals_interval_s
        next_totals = self._monotonic() + interval
        next_bins = self._monotonic() + _BINS_POLL_S
        backlog = False
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    if self._totals_interval_s != interval:  # retuned: the new period from the last totals
                        next_totals += self._totals_interval_s - interval
                        interval = self._totals_interval_s
                    remaining = min(next_totals, next_bins) - self._monotonic()
                    if remaining <= 0:
                        break
                    if backlog:
                        self._cond.wait(min(remaining, _PUMP_INTERVAL_S))
                        break
                    self._cond.wait(remaining)
                item = self._queue.popleft() if self._queue else None
                finished = self._stopping and not self._queue and item is None
            if finished:
                self._write_totals()
                self._final_flush()
                return
            if item is not None:
                self._write(item)
            backlog = self._pump()
            now = self._monotonic()
            if now >= next_bins:
                self._write_bins()
                next_bins = now + _BINS_POLL_S
            if now >= next_totals:
                self._write_totals()
                self._refresh_status()
                # after a stall, resume the cadence from now rather than bursting
                next_totals = max(next_totals + interval, now)

    def _pump(self) -> bool:
        """Move buffered Redis entries and spooled MQTT messages on; True while any remain."""
        try:
            redis_left = self.redis.flush()
            mqtt_left = self.mqtt.pump()
        except Exception:  # noqa: BLE001 - e.g. a spool I/O error must not kill the writer thread
            self._log.error("bridge: flushing the Redis buffer / MQTT spool failed", exc_info=True)
            return True
        return bool(redis_left) or mqtt_left

    def _final_flush(self) -> None:
        """On close: give a connected broker a moment to take the spool (what remains stays on disk)."""
        if self.mqtt.connected and len(self.mqtt.spool):
            self.mqtt.flush(min(2.0, self._drain_timeout_s / 2))
        self.redis.flush()

    def _write(self, item: tuple) -> None:
        try:
            if item[0] == _TRACKS:
                self._write_tracks(*item[1:])
            elif item[0] == _EPOCH:
                self._start_epoch(*item[1:])
            elif item[0] == _MOVEMENT:
                self._write_movement(*item[1:])
            else:
                self._write_count(*item[1:])
        except Exception:  # noqa: BLE001 - a bad message must not kill the writer thread
            with self._stats_lock:
                self._writer_errors += 1
            self._log.error(f"bridge: could not write a {item[0]} message", exc_info=True)

    def _write_tracks(
        self, stamp_ns: int, frame_id: str, dets: Detections, bridge_frame: int, submitted: float | None = None
    ) -> None:
        """`submitted`: perf_counter() when the message was queued (for the bridge stage latency)."""
        payload = schema.to_json(
            schema.detections_payload(
                **self._identity,
                stamp_ns=stamp_ns,
                frame_id=frame_id,
                bridge_frame=bridge_frame,
                dets=dets,
                classes=self._classes,
            )
        )
        if not self._fits(payload, "tracks"):
            return
        self.redis.write("tracks", payload, stamp_ns)
        if bridge_frame % self._every_n == 0 and self.mqtt.publish("detections", payload) == PUBLISHED:
            latency_ms = (self._clock_ns() - stamp_ns) / 1e6
            with self._stats_lock:
                self._detections_published += 1
                self._latencies_ms.append(latency_ms)
            self.end_to_end_latency.observe(latency_ms / 1e3)
        if submitted is not None:
            self.stage_latency.observe(time.perf_counter() - submitted)

    def _start_epoch(self, epoch: int, stamp_ns: int) -> None:
        if epoch == self._epoch:
            return
        self._write_totals()  # the last totals of the epoch that ends
        self._log.info(f"bridge: counting epoch {epoch} (was {self._epoch}): totals start again")
        self._epoch, self._epoch_started_ns = epoch, stamp_ns or self._clock_ns()
        self._totals = CountTotals()

    def _write_count(self, record: CountRecord, count_seq: int) -> None:
        if record.epoch > self._epoch:  # its count came before the announcement
            self._start_epoch(record.epoch, record.stamp_ns)
        if record.epoch == self._epoch:
            self._totals.add(record)
        else:
            with self._stats_lock:
                self._late_counts += 1
        self._bins.add_count(record, self._clock_ns())
        payload = schema.to_json(
            schema.count_payload(**self._identity, record=record, count_seq=count_seq, classes=self._classes)
        )
        if not self._fits(payload, "count"):
            return
        self.redis.write("count", payload, record.stamp_ns)
        self.mqtt.publish("counts", payload)

    def _write_movement(self, record: MovementRecord, seq: int) -> None:
        self._bins.add_movement(record, self._clock_ns())
        payload = schema.to_json(
            schema.movement_payload(
                **self._identity,
                record=record,
                movement_seq=seq,
                classes=self._classes,
                interval_min=self._interval_min,
            )
        )
        if not self._fits(payload, "movement"):
            return
        self.redis.write("movement", payload, record.left_ns or record.entered_ns)
        self.mqtt.publish("movements", payload)

    def _write_bins(self) -> None:
        """Bins that closed (or changed after they were published) go out; the open bin's
        running matrix is kept for stats()."""
        now_ns = self._clock_ns()
        for snapshot in self._bins.due(now_ns):
            payload = schema.to_json(
                schema.bin_payload(**self._identity, snapshot=snapshot, now_ns=now_ns, classes=self._classes)
            )
            if not self._fits(payload, "bin"):
                continue
            self.redis.write("bin", payload, now_ns)
            self.mqtt.publish("bins", payload)
            with self._stats_lock:
                self._bins_published += 1
        running = self._bins.open_bin(now_ns)
        matrix = {f"{m} {c}": n for (m, c), n in sorted(running.movements.items())}
        with self._stats_lock:
            self._open_bin = matrix
            self._open_bin_start_ns = running.start_ns

    def _resume_bins(self) -> None:
        """After a restart: the events and bins the stream holds from the bins still open or
        revisable, so the open bin goes on counting (argos_common.bins.IntervalBins.restore)."""
        now_ns = self._clock_ns()
        try:
            entries = self.redis.read_back(now_ns - self._bins_lookback_ns, ("movement", "count", "bin"))
        except Exception as exc:  # noqa: BLE001 - Redis down at start: bins start empty, said once
            self._bins_resume_failed += 1
            self._log.warning(f"bridge: could not read the stream back to resume the open bin: {exc}")
            return
        movements, counts, published = [], [], []
        for kind, text in entries:
            try:
                payload = json.loads(text)
                if kind == "movement":
                    movements.append(MovementRecord.from_event(payload))
                elif kind == "count":
                    counts.append(CountRecord.from_event(payload))
                else:
                    published.append(snapshot_from_payload(payload))
            except (KeyError, ValueError, TypeError):
                continue  # not ours to judge here: the collector reports malformed entries
        self._bins_resumed = self._bins.restore(movements, counts, published, now_ns)
        if entries:
            self._log.info(
                f"bridge: resumed the interval bins from the stream: {len(movements)} movements, "
                f"{len(counts)} counts, {len(published)} published bins"
            )

    def _write_totals(self) -> None:
        now_ns = self._clock_ns()
        payload = schema.to_json(
            schema.totals_payload(
                **self._identity,
                started_ns=self._started_ns,
                interval_start_ns=self._interval_start_ns,
                epoch=self._epoch,
                epoch_started_ns=self._epoch_started_ns,
                now_ns=now_ns,
                rows=self._totals.roll(),
                classes=self._classes,
            )
        )
        self._interval_start_ns = now_ns
        if not self._fits(payload, "totals"):
            return
        self.redis.write("totals", payload, now_ns)
        if self.mqtt.publish("totals", payload) == PUBLISHED:
            with self._stats_lock:
                self._totals_published += 1

    def _fits(self, payload: str, kind: str) -> bool:
        size = len(payload.encode())
        if size <= self._max_payload:
            return True
        self._reject(f"a {kind} payload of {size} bytes (max_payload_bytes {self._max_payload})")
        return False

    def _status_json(self, state: str, reason: str) -> str:
        health = self._last_health if state == schema.STATE_ONLINE else None
        return schema.to_json(
            schema.status_payload(
                state=state, reason=reason, stamp_ns=self._clock_ns(), health=health, **self._identity
            )
        )

    def _refresh_status(self) -> None:
        """On the writer thread, every totals interval: recompute the health summary and, while
        connected, re-publish the retained `online` status with it (a stale health is never spooled)."""
        stats = self.stats()
        level, message = bridge_health(stats)
        self._last_health = {
            "level": LEVEL_NAMES[level],
            "message": message,
            **{k: stats.get(k, 0) for k in _HEALTH_COUNTERS},
        }
        if self.mqtt.connected:
            self.mqtt.publish("status", self._status_json(schema.STATE_ONLINE, "health"))

    # ---- observation ----
    def latencies_ms(self) -> list[float]:
        """Capture-to-MQTT-publish latency of each published detections message (most recent 100k)."""
        with self._stats_lock:
            return self._latencies_ms.values().tolist()

    def open_bin_matrix(self) -> dict[str, int]:
        """{"<movement> <class>": n} of the bin now open (refreshed every second by the writer)."""
        with self._stats_lock:
            return dict(self._open_bin)

    def stats(self) -> dict[str, float | int | str | None]:
        """Snapshot of plain values; latency percentiles are None until a detections message was published.

        Per sink: redis_written (stored), redis_failed (failed attempts), redis_buffered /
        redis_flushed / redis_dropped / redis_buffer_depth (the outage buffer); mqtt_published
        (straight to the broker), mqtt_spooled / mqtt_flushed / mqtt_spool_dropped /
        mqtt_spool_depth (the spool), mqtt_failed (neither sent nor spooled), mqtt_rejected."""
        with self._cond:
            frames, counts = self._frames, self._counts
            queue_depth, dropped, counts_dropped = len(self._queue), self._queue_dropped, self._counts_dropped
        with self._stats_lock:
            latencies = self._latencies_ms.values()
            detections_published, totals_published = self._detections_published, self._totals_published
            rejected = self._rejected
            writer_errors, lost_in_queue = self._writer_errors, self._lost_in_queue
            late_counts = self._late_counts
        redis_counters = self.redis.counters()
        mqtt_counters = self.mqtt.counters()
        return {
            "stream": self.redis.key,
            "mqtt_topics": self.mqtt.topics["status"].rsplit("/", 1)[0] + "/#",
            "frames": frames,
            "counts": counts,
            "queue_depth": queue_depth,
            "queue_dropped": dropped,
            "counts_dropped": counts_dropped,
            "rejected": rejected,
            "writer_errors": writer_errors,
            "queue_lost_at_shutdown": lost_in_queue,
            "counting_epoch": self._epoch,
            "counts_of_closed_epochs": late_counts,
            **{f"redis_{k}": v for k, v in redis_counters.items()},
            "redis_connected": int(self.redis.connected),
            **{f"mqtt_{k}": v for k, v in mqtt_counters.items()},
            "mqtt_connected": int(self.mqtt.connected),
            "movements": self._movements,
            "bins_published": self._bins_published,
            "open_bin_start": schema.iso_utc_ms(self._open_bin_start_ns) if self._open_bin_start_ns else "",
            "bins_revisions": self._bins.revisions,
            "bins_too_late": self._bins.too_late,
            "bins_resumed_events": self._bins_resumed,
            "bins_resume_failed": self._bins_resume_failed,
            "detections_published": detections_published,
            "totals_published": totals_published,
            "latency_samples": len(latencies),
            **{f"latency_{q}_ms": v for q, v in percentiles(latencies, (50, 95)).items()},
        }
