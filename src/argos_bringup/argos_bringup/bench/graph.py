"""`argos bench graph`: the whole graph in both process models, as launch starts it.

For each case the graph's processes are started like launch_ros starts them (argos_bringup.processes:
the installed executables, `--ros-args`, config/edge.yaml plus an override file, the shipped
transport settings for separate processes) against private redis-server and mosquitto. After the
first detections arrive and a warm-up, one measuring window gives:

- FPS: detections messages per second at an independent MQTT subscriber (every frame is published:
  detections_every_n_frames 1);
- latency: capture stamp -> arrival at that subscriber (p50/p95/p99), so the broker hop is in it;
- lost camera -> inference: frames the camera captured in the window that inference never got
  (composed: replaced in the hand-off slot; separate: not delivered by DDS or replaced in the
  subscription queue), from the nodes' own counters on /diagnostics;
- CPU per process (user + system, % of one core) and in total.
Then every process gets SIGINT, as launch sends it, and must exit 0 without a traceback.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import yaml

from argos_common.machine import describe
from argos_common.stats import percentiles

from ..config import default_config_path
from ..processes import COMPOSED, MODELS, SEPARATE, GraphProcesses, cpu_seconds
from ..services import MosquittoServer, RedisServer

RESOLUTIONS = {"720p": (1280, 720), "1080p": (1920, 1080)}
TARGETS = {  # (model, resolution): (least FPS, p95 ms below), the project's targets on a 2-core machine
    (SEPARATE, "720p"): (14.5, 80.0),
    (COMPOSED, "1080p"): (15.0, 50.0),
}
MULTI_TARGET = (15.0, 100.0)  # several cameras on one machine: per camera
# "holds 15 FPS": arrivals over the window of a camera paced at 15 FPS come out a hair below it
FPS_TOLERANCE = 0.05


@dataclass
class Case:
    model: str
    resolution: str
    cameras: int = 1
    shared_inference: bool = False
    container_each: bool = False  # several cameras: a container per camera, as edge.launch.py starts them

    @property
    def label(self) -> str:
        if self.cameras <= 1:
            return f"{self.model} {self.resolution}"
        if self.container_each:
            return f"{self.model} {self.resolution}, {self.cameras} cameras, a container each (model.threads 1)"
        detector = "shared detector" if self.shared_inference else "a detector each"
        return f"{self.model} {self.resolution}, {self.cameras} cameras in one container, {detector}"


@dataclass
class Result:
    case: Case
    fps: float = 0.0  # per camera (mean)
    latency_ms: dict = field(default_factory=dict)
    lost_pct: float | None = None
    cpu_pct: dict = field(default_factory=dict)
    clean_stop: bool = False
    stop_codes: dict = field(default_factory=dict)
    error: str = ""
    repeats: int = 1


class DetectionsListener:
    """Independent MQTT subscriber: arrival time and capture stamp of every detections message."""

    def __init__(self, port: int):
        self.arrivals: list[tuple[str, int, int]] = []  # (camera, arrival ns, capture stamp ns)
        self._lock = threading.Lock()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self._client.on_connect = lambda c, *_: c.subscribe("argos/+/+/+/detections", qos=0)
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()

    def _on_message(self, _client, _userdata, msg) -> None:
        now = time.time_ns()
        payload = json.loads(msg.payload)
        with self._lock:
            self.arrivals.append((payload["camera"], now, int(payload["stamp_ns"])))

    def window(self, start_ns: int, end_ns: int) -> list[tuple[str, int, int]]:
        with self._lock:
            return [a for a in self.arrivals if start_ns <= a[1] < end_ns]

    def forget_before(self, stamp_ns: int) -> None:
        with self._lock:
            self.arrivals = [a for a in self.arrivals if a[1] >= stamp_ns]

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


class DiagnosticsListener:
    """Every /diagnostics report per node (the nodes' own stats()), from this process."""

    def __init__(self, stamp_by_arrival: bool = False):
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray

        # by arrival: a unit whose clock jumps (the faults bench) must not move the time axis
        self.stamp_by_arrival = stamp_by_arrival
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.signals import SignalHandlerOptions

        self._rclpy = rclpy
        self.context = Context()
        # rclpy's handler would take Ctrl-C for itself and leave the bench running
        rclpy.init(args=[], context=self.context, signal_handler_options=SignalHandlerOptions.NO)
        self.node = rclpy.create_node("argos_bench_graph", context=self.context)
        self.history: dict[str, list[tuple[int, dict[str, str]]]] = {}  # node -> [(report stamp ns, values)]
        self._lock = threading.Lock()
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 50)
        self._executor = SingleThreadedExecutor(context=self.context)
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException

        try:
            self._executor.spin()
        except ExternalShutdownException:
            pass

    def _on_diagnostics(self, msg) -> None:
        stamp = (
            time.time_ns() if self.stamp_by_arrival else msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        )
        with self._lock:
            for status in msg.status:
                self.history.setdefault(status.name, []).append((stamp, {kv.key: kv.value for kv in status.values}))

    def seen(self, node: str) -> bool:
        with self._lock:
            return bool(self.history.get(node))

    def value_at(self, node: str, key: str, stamp_ns: int) -> float | None:
        """A node's counter at `stamp_ns`, interpolated between the reports around it: each node
        reports once per second at its own phase, so two nodes' counters compare only at one instant."""
        with self._lock:
            points = [(t, float(v[key])) for t, v in self.history.get(node, []) if key in v]
        before = [pt for pt in points if pt[0] <= stamp_ns]
        after = [pt for pt in points if pt[0] >= stamp_ns]
        if not before or not after:
            return None
        (t0, v0), (t1, v1) = before[-1], after[0]
        return v0 if t1 == t0 else v0 + (v1 - v0) * (stamp_ns - t0) / (t1 - t0)

    def forget_before(self, stamp_ns: int) -> None:
        """Drop reports older than `stamp_ns` (a long soak must not grow the listener)."""
        with self._lock:
            for node, reports in self.history.items():
                keep = [r for r in reports if r[0] >= stamp_ns]
                self.history[node] = reports[-1:] if not keep and reports else keep

    def delta(self, node: str, key: str, start_ns: int, end_ns: int) -> float | None:
        start, end = self.value_at(node, key, start_ns), self.value_at(node, key, end_ns)
        return None if start is None or end is None else end - start

    def close(self) -> None:
        self._executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        self._rclpy.shutdown(context=self.context)
        self._thread.join(timeout=2.0)


def _override_file(folder: Path, case: Case, tag: str, redis_url: str, mqtt_url: str, namespaces: list[str]) -> str:
    width, height = RESOLUTIONS[case.resolution]
    body = {
        "/**/camera": {"ros__parameters": {"width": width, "height": height}},
        "/**/bridge": {
            "ros__parameters": {"redis_url": redis_url, "mqtt_url": mqtt_url, "detections_every_n_frames": 1}
        },
    }
    if case.container_each:
        # N processes on a small CPU: one inference thread each, or their thread pools fight over the cores
        body["/**/inference"] = {"ros__parameters": {"model.threads": 1}}
    for i, namespace in enumerate(namespaces[1:], start=1):  # further cameras: other seeds, other traffic
        body[f"{namespace}/camera"] = {
            "ros__parameters": {"source": f"synthetic://intersection?seed={7 + i}", "width": width, "height": height}
        }
    path = folder / f"bench-{tag}.yaml"
    path.write_text(yaml.safe_dump(body))
    return str(path)


def _lost(case: Case, diag: DiagnosticsListener, namespaces: list[str], start_ns: int, end_ns: int) -> float | None:
    """% of the frames captured in the window that inference never got."""
    captured = lost = 0.0
    for ns in namespaces:
        frames = diag.delta(f"{ns}/camera", "frames", start_ns, end_ns)
        if case.model == COMPOSED:
            gone = diag.delta(f"{ns}/camera", "dropped_in_handoff", start_ns, end_ns)
        else:
            received = diag.delta(f"{ns}/inference", "frames_received", start_ns, end_ns)
            gone = None if frames is None or received is None else frames - received
        if frames is None or gone is None:
            return None
        captured, lost = captured + frames, lost + gone
    return max(0.0, 100.0 * lost / captured) if captured else None


def run_case(
    case: Case,
    tag: str,
    redis_url: str,
    mqtt_url: str,
    seconds: float,
    warmup: float,
    folder: Path,
    diag: DiagnosticsListener,
    listener: DetectionsListener,
) -> Result:
    # namespaces of their own per run: counters of an earlier run never mix into this one
    namespaces = [f"/bench{tag}_{i}" for i in range(case.cameras)]
    cameras = {ns.strip("/") for ns in namespaces}
    params = [str(default_config_path()), _override_file(folder, case, tag, redis_url, mqtt_url, namespaces)]
    if case.model == COMPOSED and case.cameras > 1 and not case.container_each:
        own = [a for ns in namespaces for a in ("--namespace", ns)]
        shared = ["--shared-inference"] if case.shared_inference else []
        groups = [GraphProcesses(COMPOSED, namespaces[0], params, container_args=own + shared)]
    else:
        groups = [GraphProcesses(case.model, ns, params) for ns in namespaces]
    result = Result(case)
    with ExitStack() as stack:
        for graph in groups:
            graph.start()
            stack.callback(graph.stop)
        deadline = time.monotonic() + 90.0
        while time.monotonic() < deadline and not (
            cameras <= {c for c, _, _ in listener.window(0, 2**63)}
            and all(diag.seen(f"{ns}/camera") for ns in namespaces)
        ):
            exited = {n: c for g in groups for n, c in g.exited().items()}
            if exited:
                result.error = f"exited early: {exited}"
                return result
            time.sleep(0.2)
        time.sleep(warmup)
        pids = {
            (f"{name} {i}" if len(groups) > 1 else name): pid  # by camera: namespaces change per run
            for i, g in enumerate(groups)
            for name, pid in g.pids().items()
        }
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        start_ns, started = time.time_ns(), time.monotonic()
        time.sleep(seconds)
        end_ns, elapsed = time.time_ns(), time.monotonic() - started
        result.cpu_pct = {name: 100.0 * (cpu_seconds(pid) - cpu_before[name]) / elapsed for name, pid in pids.items()}
        time.sleep(2.5)  # the nodes report once per second: wait for one report after the window
        arrivals = [a for a in listener.window(start_ns, end_ns) if a[0] in cameras]
        result.fps = len(arrivals) / elapsed / case.cameras
        result.latency_ms = percentiles([(a - s) / 1e6 for _, a, s in arrivals], (50, 95, 99))
        result.lost_pct = _lost(case, diag, namespaces, start_ns, end_ns)
        stack.pop_all()
        result.stop_codes = {name: code for g in groups for name, code in g.stop().items()}
        tracebacks = {name: text for g in groups for name, text in g.tracebacks().items()}
        result.clean_stop = all(code == 0 for code in result.stop_codes.values()) and not tracebacks
        if tracebacks:
            result.error = "traceback in " + ", ".join(tracebacks)
    return result


def median_result(runs: list[Result]) -> Result:
    """The median of each figure over the repeats (clean stop: every repeat)."""
    out = Result(runs[0].case)
    good = [r for r in runs if not r.error or r.clean_stop]
    if good:
        out.fps = statistics.median(r.fps for r in good)
        out.latency_ms = {
            k: statistics.median(r.latency_ms[k] for r in good if r.latency_ms.get(k) is not None)
            for k in ("p50", "p95", "p99")
            if any(r.latency_ms.get(k) is not None for r in good)
        }
        lost = [r.lost_pct for r in good if r.lost_pct is not None]
        out.lost_pct = statistics.median(lost) if lost else None
        out.cpu_pct = {n: statistics.median(r.cpu_pct.get(n, 0.0) for r in good) for n in good[0].cpu_pct}
    out.clean_stop = all(r.clean_stop for r in runs)
    out.stop_codes = {n: c for r in runs for n, c in r.stop_codes.items() if c != 0}
    out.error = "; ".join(sorted({r.error for r in runs if r.error}))
    out.repeats = len(runs)
    return out


def _row(r: Result) -> list[str]:
    lat = r.latency_ms
    target = TARGETS.get((r.case.model, r.case.resolution)) if r.case.cameras == 1 else MULTI_TARGET
    met = ""
    if target and lat.get("p95") is not None:
        met = "yes" if r.fps >= target[0] - FPS_TOLERANCE and lat["p95"] < target[1] else "NO"

    def fmt(v):
        return "-" if v is None else f"{v:.0f}"

    cpu = ", ".join(f"{n} {v:.0f}" for n, v in r.cpu_pct.items())
    goal = f"{target[0]:g} FPS, p95 < {target[1]:g} ms: {met}" if target else ""
    return [
        r.case.label,
        f"{r.fps:.1f}",
        fmt(lat.get("p50")),
        fmt(lat.get("p95")),
        fmt(lat.get("p99")),
        "-" if r.lost_pct is None else f"{r.lost_pct:.1f}",
        f"{sum(r.cpu_pct.values()):.0f}",
        cpu,
        "yes" if r.clean_stop else "NO",
        goal + (f" ({r.error})" if r.error else ""),
    ]


def print_table(results: list[Result], seconds: float, repeats: int) -> None:
    print(describe(("onnxruntime", "opencv-python-headless", "ros-rclpy", "ros-rmw-fastrtps-cpp")))
    print(
        f"synthetic cameras at 15 FPS, int8 detector (onnxruntime CPU); median of {repeats} runs of {seconds:g} s "
        "after warm-up, cases interleaved; latency = capture stamp -> arrival at an independent MQTT subscriber"
    )
    header = [
        "graph",
        "FPS",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "lost cam->inf %",
        "CPU % total",
        "CPU % per process",
        "clean SIGINT",
        "target",
    ]
    rows = [header] + [_row(r) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for k, row in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))


def parse_cases(models: str, resolutions: str, cameras: int, shared: bool) -> list[Case]:
    cases = []
    for model in [m for m in models.split(",") if m]:
        if model not in MODELS:
            raise ValueError(f"--models: unknown process model {model!r} (known: {', '.join(MODELS)})")
        for resolution in [r for r in resolutions.split(",") if r]:
            if resolution not in RESOLUTIONS:
                raise ValueError(f"--resolutions: unknown {resolution!r} (known: {', '.join(RESOLUTIONS)})")
            cases.append(Case(model, resolution))
    if cameras > 1:
        cases.append(Case(COMPOSED, "720p", cameras, shared))
        cases.append(Case(COMPOSED, "720p", cameras, container_each=True))
    return cases


def run_bench(args) -> int:
    try:
        cases = parse_cases(args.models, args.resolutions, args.cameras, args.shared_inference)
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    # a domain of its own, so nothing else on the machine (or another bench) joins the graph
    os.environ["ROS_DOMAIN_ID"] = str(random.SystemRandom().randint(120, 200))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    runs: dict[int, list[Result]] = {i: [] for i in range(len(cases))}
    with ExitStack() as stack:
        redis = stack.enter_context(RedisServer())
        broker = stack.enter_context(MosquittoServer())
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="argos-bench-graph-")))
        diag = DiagnosticsListener()
        stack.callback(diag.close)
        listener = DetectionsListener(broker.port)
        stack.callback(listener.close)
        for repeat in range(args.repeats):  # interleaved: a noisy minute of the machine hits every case
            for index, case in enumerate(cases):
                r = run_case(
                    case, f"{repeat}{index}", redis.url, broker.url, args.seconds, args.warmup, folder, diag, listener
                )
                print(
                    f"... run {repeat + 1}/{args.repeats} {case.label}: {r.fps:.1f} FPS, p95 "
                    f"{r.latency_ms.get('p95')} ms {r.error}",
                    flush=True,
                )
                runs[index].append(r)
    results = [median_result(runs[i]) for i in range(len(cases))]
    print()
    print_table(results, args.seconds, args.repeats)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                [
                    {
                        "median": {**r.__dict__, "case": r.case.__dict__},
                        "runs": [{**x.__dict__, "case": x.case.__dict__} for x in runs[i]],
                    }
                    for i, r in enumerate(results)
                ],
                indent=2,
                default=str,
            )
        )
    return 0
