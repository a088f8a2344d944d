"""`argos collector`: the non-ROS service on the far side of Redis.

Reads a camera's stream with a consumer group (XREADGROUP), aggregates per interval
(argos_collector.aggregate) and writes the closed intervals to InfluxDB (v1 /write or v2 API,
line protocol over HTTP) and/or MQTT (the same line protocol on one topic, for Telegraf's
`influx` data format). Delivery is at-least-once with idempotent points:

- an entry is acknowledged (XACK) only after the interval it belongs to was written to every
  output, in one MULTI with the aggregation watermark (stored in the hash
  `<stream>:collector:<group>`), so a crash anywhere leaves it pending;
- on start the collector first re-reads its own pending entries and claims (XAUTOCLAIM) those
  of consumers idle longer than `claim_idle_s` (a crashed collector under another name), then
  continues with new ones. Replayed entries rebuild the same intervals with the same tags and
  timestamps, so InfluxDB overwrites the points written before the crash;
- malformed entries are logged with the reason and acknowledged (never retried forever).

One collector per stream and group: the aggregation needs all of a stream's entries. A second
instance under another consumer name is a standby: it takes over what the first left pending.
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol, cast

import redis

from argos_common.endpoints import DEFAULT_REDIS_URL, read_secret_file, redact_url, stream_key
from argos_common.redis_client import connect_redis

from .aggregate import Bucket, IntervalAggregator, MalformedEntry, parse_entry
from .influx import InfluxError, InfluxV1Writer, InfluxV2Writer
from .line_protocol import to_lines

DEFAULT_GROUP = "argos-collector"
_RETRY_MIN_S, _RETRY_MAX_S = 0.5, 30.0


class Output(Protocol):
    def describe(self) -> str: ...
    def write(self, lines: str) -> None: ...


class MqttLineOutput:
    """Publishes each batch of line protocol as one QoS 1 message and waits for the PUBACK."""

    def __init__(
        self,
        url: str,
        topic: str,
        *,
        client_id: str = "",
        username: str = "",
        password: str | None = None,
        timeout_s: float = 10.0,
    ):
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        from argos_common.endpoints import parse_mqtt_url, url_scheme

        self.url, self.topic = url, topic
        host, port = parse_mqtt_url(url, key="--mqtt-url")
        self._timeout_s = timeout_s
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        if url_scheme(url) == "mqtts":
            self._client.tls_set()
        if username:
            self._client.username_pw_set(username, password)
        self._client.connect_async(host, port, keepalive=30)
        self._client.loop_start()

    def describe(self) -> str:
        return f"MQTT {self.url} topic {self.topic}"

    def write(self, lines: str) -> None:
        if not self._client.is_connected():
            raise InfluxError(f"not connected to the broker at {self.url}")
        info = self._client.publish(self.topic, lines, qos=1)
        try:
            info.wait_for_publish(self._timeout_s)
        except (RuntimeError, ValueError) as exc:
            raise InfluxError(f"MQTT publish failed: {exc}") from None
        if not info.is_published():
            raise InfluxError(f"no PUBACK from {self.url} within {self._timeout_s:g} s")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


class Collector:
    def __init__(
        self,
        client: redis.Redis,
        stream: str,
        outputs: list[Output],
        *,
        group: str = DEFAULT_GROUP,
        consumer: str = "",
        interval_s: float = 60.0,
        grace_s: float = 5.0,
        batch: int = 500,
        block_ms: int = 1000,
        claim_idle_s: float = 30.0,
        logger: logging.Logger | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.redis = client
        self.stream = stream
        self.outputs = outputs
        self.group = group
        self.consumer = consumer or socket.gethostname()
        self.state_key = f"{stream}:collector:{group}"
        self._interval_s, self._grace_s = interval_s, grace_s
        self._batch, self._block_ms = batch, block_ms
        self._claim_idle_ms = int(claim_idle_s * 1000)
        self._log = logger or logging.getLogger("argos.collector")
        self._sleep = sleep
        self._stop = threading.Event()
        self.aggregator: IntervalAggregator | None = None
        self.read = self.malformed = self.reclaimed = self.points = self.intervals = self.write_failures = 0

    def stop(self) -> None:
        self._stop.set()

    def setup(self) -> None:
        try:
            self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        watermark = self.redis.hget(self.state_key, "watermark_ns")
        self.aggregator = IntervalAggregator(self._interval_s, self._grace_s, int(watermark or 0))

    def recover(self) -> int:
        """Re-process this consumer's pending entries, then claim those of idle consumers."""
        entries: list[Any] = []
        last = "0"
        while True:
            # [[stream, [(id, fields), ...]]]: the RESP2 reply (connect_redis's protocol), not RESP3's dict
            reply = cast(
                "list[list[Any]]",
                self.redis.xreadgroup(self.group, self.consumer, {self.stream: last}, count=self._batch),
            )
            batch = reply[0][1] if reply else []
            if not batch:
                break
            entries.extend(batch)
            last = batch[-1][0]
        start = "0-0"
        while True:
            next_start, claimed, _deleted = self.redis.xautoclaim(
                self.stream, self.group, self.consumer, self._claim_idle_ms, start_id=start, count=self._batch
            )[:3]
            entries.extend(claimed)
            self.reclaimed += len(claimed)
            if _as_text(next_start) == "0-0":
                break
            start = next_start
        entries.sort(key=lambda e: _id_key(e[0]))
        if entries:
            self._log.info(
                f"collector: re-processing {len(entries)} pending entries "
                f"({self.reclaimed} claimed from idle consumers) of {self.stream}"
            )
        self._process(entries)
        return len(entries)

    def step(self) -> int:
        """Read and process the next batch of new entries (blocks up to block_ms); returns how many."""
        reply = cast(  # the RESP2 reply, as in recover()
            "list[list[Any]]",
            self.redis.xreadgroup(
                self.group, self.consumer, {self.stream: ">"}, count=self._batch, block=self._block_ms
            ),
        )
        entries = reply[0][1] if reply else []
        self._process(entries)
        return len(entries)

    def run(self, exit_when_idle_s: float | None = None) -> None:
        self.setup()
        self.recover()
        idle_since = time.monotonic()
        while not self._stop.is_set():
            try:
                if self.step():
                    idle_since = time.monotonic()
                elif exit_when_idle_s is not None and time.monotonic() - idle_since >= exit_when_idle_s:
                    return
            except redis.RedisError as exc:
                self._log.warning(f"collector: Redis error: {exc}; retrying")
                self._sleep(1.0)

    def _process(self, entries) -> None:
        for entry_id, fields in entries:
            entry_id = _as_text(entry_id)
            self.read += 1
            try:
                if not fields:
                    raise MalformedEntry("entry was trimmed from the stream before it could be read")
                kind, stamp_ns, payload = parse_entry(fields)
            except MalformedEntry as exc:
                self.malformed += 1
                self._log.warning(f"collector: skipping entry {entry_id} of {self.stream}: {exc}")
                self.redis.xack(self.stream, self.group, entry_id)
                continue
            assert self.aggregator is not None, "setup() first"
            closed = self.aggregator.add(entry_id, kind, stamp_ns, payload)
            if closed:
                self._commit(closed)

    def _commit(self, buckets: list[Bucket]) -> None:
        points = [p for b in buckets for p in b.points()]
        lines = to_lines(points)
        for output in self.outputs:
            self._write_with_retry(output, lines)
        ids = [i for b in buckets for i in b.entry_ids]
        assert self.aggregator is not None  # buckets come from it
        pipe = self.redis.pipeline(transaction=True)
        pipe.xack(self.stream, self.group, *ids)
        pipe.hset(self.state_key, "watermark_ns", str(self.aggregator.watermark_ns))
        pipe.execute()
        self.points += len(points)
        self.intervals += len(buckets)

    def _write_with_retry(self, output: Output, lines: str) -> None:
        delay = _RETRY_MIN_S
        while True:
            try:
                output.write(lines)
                return
            except InfluxError as exc:
                self.write_failures += 1
                self._log.warning(
                    f"collector: writing to {output.describe()} failed: {exc}; "
                    f"retrying in {delay:g} s (entries stay pending in Redis)"
                )
            if self._stop.is_set():
                raise InfluxError("stopped while the output was failing; the entries stay pending")
            self._sleep(delay)
            delay = min(_RETRY_MAX_S, delay * 2)

    def stats(self) -> dict[str, int]:
        return {
            "read": self.read,
            "malformed": self.malformed,
            "reclaimed": self.reclaimed,
            "intervals_written": self.intervals,
            "points_written": self.points,
            "write_failures": self.write_failures,
            "late": self.aggregator.late if self.aggregator else 0,
            "pending_in_open_intervals": len(self.aggregator.pending_ids()) if self.aggregator else 0,
        }


class FleetCollector:
    """The collector of many cameras' streams in one process: every stream whose key matches
    `pattern` (found again every `rescan_s`, so new units join) and falls into this process's shard,
    each with its own aggregation and consumer-group state (a Collector), read with one XREADGROUP
    over all of them. Several processes share a fleet by shards (`shard` = (index, count): a stream
    belongs to the process where crc32(key) % count == index), since one stream's aggregation needs
    all of that stream's entries in one place."""

    def __init__(
        self,
        client: redis.Redis,
        pattern: str,
        outputs: list[Output],
        *,
        shard: tuple[int, int] = (0, 1),
        rescan_s: float = 10.0,
        logger: logging.Logger | None = None,
        **collector_options,
    ):
        index, count = shard
        if not 0 <= index < count:
            raise ValueError(f"shard {index}/{count}: the index must be in 0..{count - 1}")
        self.redis, self.pattern, self.outputs = client, pattern, outputs
        self.shard = (index, count)
        self._rescan_s, self._next_scan = rescan_s, 0.0
        self._options = collector_options
        self._log = logger or logging.getLogger("argos.collector")
        self._stop = threading.Event()
        self.collectors: dict[str, Collector] = {}

    def owns(self, stream: str) -> bool:
        return zlib.crc32(stream.encode()) % self.shard[1] == self.shard[0]

    def stop(self) -> None:
        self._stop.set()

    def discover(self) -> list[str]:
        """Start collecting the streams that appeared since the last scan; returns them."""
        found = []
        for key in self.redis.scan_iter(match=self.pattern, count=1000, _type="STREAM"):
            stream = _as_text(key)
            if stream in self.collectors or not self.owns(stream):
                continue
            collector = Collector(self.redis, stream, self.outputs, logger=self._log, **self._options)
            collector.setup()
            collector.recover()
            self.collectors[stream] = collector
            found.append(stream)
        if found:
            self._log.info(
                f"collector: {len(found)} new stream(s), {len(self.collectors)} in all (shard "
                f"{self.shard[0]}/{self.shard[1]})"
            )
        return found

    def step(self) -> int:
        now = time.monotonic()
        if now >= self._next_scan:
            self._next_scan = now + self._rescan_s
            self.discover()
        if not self.collectors:
            self._stop.wait(min(1.0, self._rescan_s))
            return 0
        first = next(iter(self.collectors.values()))
        reply = cast(  # the RESP2 reply: [[stream, [(id, fields), ...]], ...]
            "list[list[Any]]",
            self.redis.xreadgroup(
                first.group,
                first.consumer,
                {s: ">" for s in self.collectors},
                count=first._batch,
                block=first._block_ms,
            ),
        )
        done = 0
        for stream, entries in reply or []:
            self.collectors[_as_text(stream)]._process(entries)
            done += len(entries)
        return done

    def run(self, exit_when_idle_s: float | None = None) -> None:
        idle_since = time.monotonic()
        while not self._stop.is_set():
            try:
                if self.step():
                    idle_since = time.monotonic()
                elif (
                    exit_when_idle_s is not None
                    and self.collectors  # idle: once there is something to collect
                    and time.monotonic() - idle_since >= exit_when_idle_s
                ):
                    return
            except redis.RedisError as exc:
                self._log.warning(f"collector: Redis error: {exc}; retrying")
                self._stop.wait(1.0)

    def stats(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for collector in self.collectors.values():
            total.update(collector.stats())
        return {"streams": len(self.collectors), **total}


def _as_text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _id_key(entry_id) -> tuple[int, int]:
    ms, _, seq = _as_text(entry_id).partition("-")
    return int(ms), int(seq or 0)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--redis-url", default="", help="Redis URL (default redis://127.0.0.1:6379/0)")
    parser.add_argument("--redis-username", default="", help="Redis ACL user")
    parser.add_argument("--redis-password-file", default="", help="file whose first line is the Redis password")
    parser.add_argument("--stream", default="", help="stream key (default argos:<site>:<device>:<camera>)")
    parser.add_argument(
        "--streams",
        default="",
        metavar="PATTERN",
        help="collect every stream whose key matches this glob (e.g. 'argos:*'), found again "
        "every 10 s as units join; one aggregation per stream (instead of --stream)",
    )
    parser.add_argument(
        "--shard",
        default="0/1",
        metavar="I/N",
        help="with --streams: take only the streams of shard I of N (crc32 of the key), so N "
        "collector processes share a fleet (default 0/1: all)",
    )
    parser.add_argument("--site", default="demo-site")
    parser.add_argument("--device", default="edge-01")
    parser.add_argument("--camera", default="cam0")
    parser.add_argument("--group", default=DEFAULT_GROUP, help=f"consumer group (default {DEFAULT_GROUP})")
    parser.add_argument(
        "--consumer",
        default="",
        help="consumer name (default: the host name; keep it stable "
        "so a restart re-reads its own pending entries at once)",
    )
    parser.add_argument("--interval-s", type=float, default=60.0, help="aggregation interval (default 60)")
    parser.add_argument(
        "--grace-s",
        type=float,
        default=5.0,
        help="how long after an interval's end entries may still arrive for it (default 5)",
    )
    parser.add_argument(
        "--claim-idle-s",
        type=float,
        default=30.0,
        help="claim pending entries of other consumers idle this long (default 30)",
    )
    parser.add_argument("--batch", type=int, default=500, help="entries per XREADGROUP (default 500)")
    parser.add_argument("--influx-url", default="", help="InfluxDB base URL, e.g. http://127.0.0.1:8086")
    parser.add_argument("--influx-db", default="argos", help="v1 database (default argos; created if missing)")
    parser.add_argument("--influx-username", default="", help="v1 user")
    parser.add_argument("--influx-password-file", default="", help="v1: file whose first line is the password")
    parser.add_argument(
        "--influx-token-file",
        default="",
        help="v2: file whose first line is the API token (selects the v2 API; not verified here)",
    )
    parser.add_argument("--influx-org", default="", help="v2 organisation")
    parser.add_argument("--influx-bucket", default="argos", help="v2 bucket (default argos)")
    parser.add_argument("--mqtt-url", default="", help="also publish each batch of line protocol to this broker")
    parser.add_argument("--mqtt-topic", default="", help="default argos/<site>/<device>/<camera>/aggregates")
    parser.add_argument("--mqtt-username", default="")
    parser.add_argument("--mqtt-password-file", default="")
    parser.add_argument(
        "--exit-when-idle",
        type=float,
        default=None,
        metavar="S",
        help="exit after S seconds without new entries (backfills, tests); default: run forever",
    )


def _build_outputs(args) -> list[Output]:
    outputs: list[Output] = []
    if args.influx_url:
        if args.influx_token_file:
            token = read_secret_file(args.influx_token_file, "--influx-token-file")
            assert token is not None  # None only for an empty path
            if not args.influx_org:
                raise ValueError("--influx-org is required with --influx-token-file (v2 API)")
            outputs.append(InfluxV2Writer(args.influx_url, args.influx_org, args.influx_bucket, token))
        else:
            password = read_secret_file(args.influx_password_file, "--influx-password-file")
            outputs.append(
                InfluxV1Writer(args.influx_url, args.influx_db, username=args.influx_username, password=password)
            )
    if args.mqtt_url:
        topic = args.mqtt_topic or f"argos/{args.site}/{args.device}/{args.camera}/aggregates"
        outputs.append(
            MqttLineOutput(
                args.mqtt_url,
                topic,
                username=args.mqtt_username,
                password=read_secret_file(args.mqtt_password_file, "--mqtt-password-file"),
            )
        )
    if not outputs:
        raise ValueError("give --influx-url and/or --mqtt-url")
    return outputs


def run_collector(args) -> int:
    from argos_common.params import ConfigError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    log = logging.getLogger("argos.collector")
    try:
        outputs = _build_outputs(args)
        client = connect_redis(
            args.redis_url,
            timeout_s=max(5.0, 2 + args.batch / 1000),
            key="--redis-url",
            username=args.redis_username,
            password=read_secret_file(args.redis_password_file, "--redis-password-file"),
        )
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    options = dict(
        group=args.group,
        consumer=args.consumer,
        interval_s=args.interval_s,
        grace_s=args.grace_s,
        batch=args.batch,
        claim_idle_s=args.claim_idle_s,
    )
    collector: Collector | FleetCollector
    if args.streams:
        try:
            index, count = (int(v) for v in args.shard.split("/"))
            collector = FleetCollector(client, args.streams, outputs, shard=(index, count), logger=log, **options)
        except ValueError as exc:
            print(f"error: --shard {args.shard}: {exc} (expected INDEX/COUNT, e.g. 0/2)", file=sys.stderr)
            return 2
        stream = f"{args.streams} (shard {args.shard})"
    else:
        stream = args.stream or stream_key(args.site, args.device, args.camera)
        collector = Collector(client, stream, outputs, logger=log, **options)
    signal.signal(signal.SIGTERM, lambda *_: collector.stop())
    for output in outputs:
        if hasattr(output, "ensure_database"):
            try:
                output.ensure_database()
            except InfluxError as exc:
                log.warning(f"collector: {exc} (will retry on write)")
    log.info(
        f"collector: {redact_url(args.redis_url or DEFAULT_REDIS_URL)} stream {stream} group "
        f"{args.group} as {args.consumer or socket.gethostname()} -> {', '.join(o.describe() for o in outputs)}"
    )
    try:
        collector.run(exit_when_idle_s=args.exit_when_idle)
    except KeyboardInterrupt:
        pass
    except InfluxError as exc:
        log.warning(f"collector: {exc}")
    finally:
        for output in outputs:
            if hasattr(output, "close"):
                output.close()
    log.info(f"collector: done {collector.stats()}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="argos collector", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run_collector(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
