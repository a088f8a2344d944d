"""`argos run`: the whole graph of one camera in one process, with a progress line and a summary."""

from __future__ import annotations

import json
import os
import platform
import signal
import sys
import time
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

from argos_common.endpoints import DEFAULT_MQTT_URL, DEFAULT_REDIS_URL, redact_url
from argos_common.machine import cpu_model
from argos_common.params import ConfigError
from argos_common.shutdown import StopSignals
from argos_common.stats import percentiles

from . import foxglove_options, metrics_options
from .config import camera_namespaces, default_config_path, load_config, parse_assignment
from .monitor import count_errors
from .services import MosquittoServer, RedisServer, ServiceError
from .watcher import MqttWatcher

SUMMARY_VERSION = 1


def _overrides(args) -> dict[str, dict[str, Any]]:
    overrides: dict[str, dict[str, Any]] = {}
    for text in args.param or []:
        node, name, value = parse_assignment(text)
        overrides.setdefault(node, {})[name] = value
    if args.source:
        overrides.setdefault("camera", {})["source"] = args.source
    return overrides


def _start_services(
    stack: ExitStack, bridge_params: dict, embedded: str, say, state_dir: Path | None = None
) -> dict[str, str]:
    """Fill in redis_url / mqtt_url: the configured ones, or private servers when empty (with
    `state_dir`: persistent ones, Redis with its append-only file, kept across restarts)."""
    urls = {}
    for key, server_cls, default in (
        ("redis_url", RedisServer, DEFAULT_REDIS_URL),
        ("mqtt_url", MosquittoServer, DEFAULT_MQTT_URL),
    ):
        if bridge_params[key]:
            urls[key] = bridge_params[key]
        elif embedded == "never":
            urls[key] = default
        else:
            if state_dir is None:
                server = stack.enter_context(server_cls())
            else:
                server = stack.enter_context(server_cls(workdir=state_dir / key.split("_")[0], persistent=True))
            urls[key] = server.url
    return urls


def _progress_line(elapsed: float, graph, watcher) -> str:
    snap = graph.monitor.snapshot()
    lat = percentiles(graph.bridge.latencies_ms())
    fps = graph.monitor.fps(window_s=3.0)
    mq = sum(watcher.counts().values()) if watcher else 0
    p50 = f"{lat['p50']:.0f}" if lat["p50"] is not None else "-"
    p95 = f"{lat['p95']:.0f}" if lat["p95"] is not None else "-"
    return (
        f"t={elapsed:5.1f}s frames={snap['detection_frames']:5d} fps={fps:5.1f} "
        f"latency p50={p50}ms p95={p95}ms counted={snap['counted']} (truth {snap['truth']}) "
        f"mqtt_rx={mq}"
    )


def build_summary(graph, config, urls, duration, watcher, redis_len) -> dict[str, Any]:
    stats = graph.stats()
    monitor = graph.monitor
    lat = graph.bridge.latencies_ms()
    bridge = stats.get("bridge", {})
    camera = stats.get("camera", {})
    return {
        "summary_version": SUMMARY_VERSION,
        "config": str(config.path),
        "source": config.node("camera")["source"],
        "namespace": graph.namespace,
        "machine": {
            "host": platform.node(),
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
        },
        "duration_s": round(duration, 2),
        "frames": {
            "captured": camera.get("frames"),
            "processed": monitor.snapshot()["detection_frames"],
            "tracked": monitor.snapshot()["track_frames"],
            "dropped_in_handoff": camera.get("dropped_in_handoff"),
        },
        "fps": {"mean": round(monitor.fps(), 2), "target": config.node("camera")["fps"]},
        "latency_ms": {
            **percentiles(lat, (50, 95, 99)),
            "max": round(max(lat), 2) if lat else None,
            "samples": len(lat),
            "measured": "frame capture stamp -> MQTT publish of its detections",
        },
        "counts": {
            "by_class_direction": monitor.counts.by_class_direction(),
            "by_line_direction": monitor.counts.by_line_direction(),
        },
        "ground_truth": {
            "by_class_direction": monitor.truth.by_class_direction(),
            "by_line_direction": monitor.truth.by_line_direction(),
        },
        "count_error": count_errors(monitor.counts, monitor.truth),
        "movements": monitor.movement_comparison(_movement_table(config)),
        "redis": {
            "url": redact_url(urls["redis_url"]),
            "entries_written": bridge.get("redis_written"),
            "write_failures": bridge.get("redis_failed"),
            "buffered": bridge.get("redis_buffered"),
            "flushed": bridge.get("redis_flushed"),
            "dropped": bridge.get("redis_dropped"),
            "stream_length_at_end": redis_len,
        },
        "mqtt": {
            "url": redact_url(urls["mqtt_url"]),
            "messages_published": bridge.get("mqtt_published"),
            "publish_failures": bridge.get("mqtt_failed"),
            "spooled": bridge.get("mqtt_spooled"),
            "flushed": bridge.get("mqtt_flushed"),
            "spool_dropped": bridge.get("mqtt_spool_dropped"),
            "spool_depth_at_end": bridge.get("mqtt_spool_depth"),
            "rejected": bridge.get("mqtt_rejected"),
            "received_by_independent_subscriber": watcher.counts() if watcher else None,
        },
        "losses": _losses(bridge),
        "bridge_queue": {
            "dropped": bridge.get("queue_dropped"),
            "counts_dropped": bridge.get("counts_dropped"),
            "rejected": bridge.get("rejected"),
        },
        "nodes": stats,
    }


def _movement_table(config) -> dict[tuple[str, str], str]:
    """The tracker's movement labels, to name the truth's movements as the tracker names its own."""
    from argos_tracker.movements import movement_table

    try:
        return movement_table(config.node("tracker"))
    except ConfigError:  # the tracker refused the same table at start and said why
        return {}


def _losses(bridge_stats: dict) -> dict[str, int]:
    """Every counter of a message the bridge lost, by cause (argos_bridge.health.LOSS_COUNTERS)."""
    from argos_bridge.health import LOSS_COUNTERS

    return {k: int(bridge_stats.get(k) or 0) for k in LOSS_COUNTERS}


def _stream_length(redis_url: str, stream_key: str | None) -> int | None:
    if not stream_key:
        return None
    import redis

    try:
        client = redis.Redis.from_url(redis_url, socket_timeout=2)
        return int(client.xlen(stream_key))
    except redis.RedisError:
        return None


RECORDED_TOPICS = {  # relative to the camera namespace
    "camera/camera_info": "sensor_msgs/msg/CameraInfo",
    "camera/ground_truth": "vision_msgs/msg/Detection2DArray",
    "camera/ground_truth/counts": "argos_interfaces/msg/CountEvent",
    "detections": "vision_msgs/msg/Detection2DArray",
    "tracks": "vision_msgs/msg/Detection2DArray",
    "counts": "argos_interfaces/msg/CountEvent",
    "totals": "argos_interfaces/msg/CountTotals",  # the annotator's, as the live Foxglove channel
}


# the annotator's JPEG topics (masked), under the names of the live Foxglove channels
JPEG_TOPICS = ("camera/image_raw/compressed", "annotated/image_raw/compressed")


def _start_recording(graph, args):
    """Record the graph's topics in-process (images only with --record-images: ~2.7 MB/frame raw,
    plus the JPEG views and the annotation overlay the Foxglove layout shows, config/foxglove/README.md)."""
    from .bags.recorder import BagRecorder
    from .bags.recorder_node import RecorderNode

    topics = dict(RECORDED_TOPICS)
    if args.record_images:
        topics["camera/image_raw"] = "sensor_msgs/msg/Image"
        topics.update(dict.fromkeys(JPEG_TOPICS, "sensor_msgs/msg/CompressedImage"))
        topics["annotations"] = "foxglove_msgs/msg/ImageAnnotations"  # the overlay of the camera panel
    ns = graph.namespace.rstrip("/")
    try:
        recorder = BagRecorder(args.record, {f"{ns}/{t}": ty for t, ty in topics.items()})
    except FileExistsError as exc:
        print(f"error: --record: {exc}", file=sys.stderr)
        return None
    node = RecorderNode(context=graph.context)
    node.start(recorder)
    graph.add_node(node)
    return node


def _wait_for_recording(recorder_node, graph, timeout: float = 3.0) -> None:
    """The recorder receives over DDS like any subscriber: let the last messages land in the bag."""
    topic = f"{graph.namespace.rstrip('/')}/detections"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        recorded = recorder_node.recorder.stats.messages.get(topic, 0) if recorder_node.recorder else 0
        if recorded >= graph.monitor.snapshot()["detection_frames"]:
            return
        time.sleep(0.05)


def run(args) -> int:
    from .graph import Cameras
    from .summary import print_summary
    from .view_geometry import map_view_geometry

    # SIGTERM (systemd, `timeout`) and Ctrl-C both end the run the orderly way: frames in flight
    # drain, nodes close, private servers stop, the summary is written
    stop = StopSignals().install()
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    if problem := metrics_options.check(args) or foxglove_options.check(args):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    path = args.config or [default_config_path()]
    state_dir = Path(args.state_dir) if args.state_dir else None
    try:
        namespaces = args.namespace or camera_namespaces(path)
        configs = {ns: load_config(path, _overrides(args), ns) for ns in namespaces}
        # a synthetic pole view counts on its image's lines, not on the map's (view_geometry)
        view_notes = {ns: map_view_geometry(cfg) for ns, cfg in configs.items()}
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.record and len(namespaces) > 1:
        print("error: --record: record one camera per run (or use `argos bag record` beside it)", file=sys.stderr)
        return 2
    duration = args.duration or None  # 0: until stopped (a service)
    with ExitStack() as stack:
        first = configs[namespaces[0]]
        try:
            urls = _start_services(stack, first.node("bridge"), args.embedded_services, say, state_dir)
        except ServiceError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        say(f"ARGOS edge: config {', '.join(map(str, path))}")
        for ns, cfg in configs.items():
            # every camera uses its own configured servers, or the private ones
            cfg.params["bridge"].update({k: cfg.node("bridge")[k] or urls[k] for k in urls})
            if state_dir is not None and not cfg.node("bridge")["spool_dir"]:
                cfg.params["bridge"]["spool_dir"] = str(state_dir / "spool")  # survives a restart
                (state_dir / "spool").mkdir(parents=True, exist_ok=True)
            say(f"  {ns:<7}: {cfg.node('camera')['source']}  ({f'{duration:g} s' if duration else 'until stopped'})")
            if view_notes[ns]:
                say(f"  {'lines':<7}: {view_notes[ns]}")
        redis_url = redact_url(urls["redis_url"])
        say(f"  redis  : {redis_url}   watch: redis-cli -u {redis_url} XLEN <stream>")
        mqtt_host_port = urls["mqtt_url"].split("://", 1)[1]
        host, _, port = mqtt_host_port.partition(":")
        say(f"  mqtt   : {urls['mqtt_url']}   watch: mosquitto_sub -h {host} -p {port or 1883} -t 'argos/#' -v")
        try:
            cameras = Cameras(configs, executor=args.executor, shared_inference=args.shared_inference)
        except (ConfigError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        stack.callback(cameras.close)
        try:
            metrics = metrics_options.serve(cameras, args)
        except (ValueError, OSError) as exc:
            print(f"error: --metrics-port: {exc}", file=sys.stderr)
            return 2
        if metrics is not None:
            say(f"  metrics: {metrics.url}   watch: curl -s {metrics.url} | grep ^argos_")
        try:
            foxglove = foxglove_options.serve(cameras, args)
        except (ValueError, OSError, RuntimeError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if foxglove is not None:
            say(f"  foxglove: {foxglove.url}   watch: Foxglove > Open connection > Foxglove WebSocket, this URL")
        graphs = cameras.graphs
        watcher = stack.enter_context(closing(MqttWatcher(urls["mqtt_url"]).start()))
        recorder_node = None
        if args.record:
            recorder_node = _start_recording(graphs[namespaces[0]], args)
            if recorder_node is None:
                return 2
        for graph in graphs.values():
            say(f"  stream : {graph.bridge.stats().get('stream')}")
        cameras.start()
        started = time.monotonic()

        def progress(elapsed: float) -> None:
            for ns, graph in graphs.items():
                say((f"[{ns}] " if len(graphs) > 1 else "") + _progress_line(elapsed, graph, watcher))

        ended = cameras.wait(stop, duration, progress, args.progress_interval)
        elapsed = time.monotonic() - started
        cameras.stop_and_drain()
        if recorder_node is not None:
            _wait_for_recording(recorder_node, graphs[namespaces[0]])
            stats = recorder_node.close()
            say(f"recorded {sum(stats.messages.values())} messages to {args.record} ({len(stats.parts)} part(s))")
        if ended == "failed":
            for ns, error in cameras.failed.items():
                print(f"error: the graph of {ns} stopped: {error!r}", file=sys.stderr)
            return 1
        summaries = {}
        for ns, graph in graphs.items():
            cfg_urls = {k: configs[ns].node("bridge")[k] for k in urls}
            stream_key = graph.bridge.stats().get("stream")
            summaries[ns] = build_summary(
                graph, configs[ns], cfg_urls, elapsed, watcher, _stream_length(cfg_urls["redis_url"], stream_key)
            )
        # what is lost is only known once the bridges have closed (in-flight, in-memory buffers)
        bridges = {ns: graph.bridge.bridge for ns, graph in graphs.items()}
        cameras.close()
        for ns, bridge in bridges.items():
            summaries[ns]["losses"] = _losses(bridge.stats())
        summary = (
            summaries[namespaces[0]]
            if len(summaries) == 1
            else {"summary_version": SUMMARY_VERSION, "cameras": summaries}
        )
        if not args.quiet:
            for ns, one in summaries.items():
                if len(summaries) > 1:
                    print(f"\n=== camera {ns} ===")
                print_summary(one)
        if args.summary:
            Path(args.summary).write_text(json.dumps(summary, indent=2, default=str) + "\n")
            say(f"summary written to {args.summary}")
    return 130 if ended == "stopped" and stop.signal == signal.SIGINT else 0
