"""What a node reports to Prometheus, without Prometheus: the metric catalogue, a fixed-bucket
latency histogram, and the sample type nodes return from `metrics()`.

Nodes stay free of the exporter (argos_common.metrics_server turns these into the text format);
a histogram observation is a bisect and two additions under a lock, cheap enough for every frame.
Names and labels are defined here once, so the Grafana dashboard (config/grafana) and every
process agree on them.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field

# seconds; from the sub-millisecond tracker step to a multi-second stall of the whole chain
LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
STAGES = ("capture", "inference", "tracking", "bridge")

# name -> (kind, help, labels besides camera and node). Counters are named without `_total`:
# the exporter appends it, as the Prometheus text format wants.
CATALOGUE: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "argos_frames": ("counter", "frames through a stage (captured, processed, tracked, delivered)", ("stage",)),
    "argos_fps": ("gauge", "frame rate measured by the stage over its recent frames", ("stage",)),
    "argos_dropped": ("counter", "frames or messages lost, by where and why", ("reason",)),
    "argos_buffer_depth": ("gauge", "items waiting in a buffer or spool right now", ("buffer",)),
    "argos_reconnects": ("counter", "reconnections of a link (camera source, MQTT broker, Redis)", ("link",)),
    "argos_connected": ("gauge", "1 while a link is up, 0 while it is down", ("link",)),
    "argos_tracks": ("gauge", "tracks held by the tracker right now", ("state",)),
    "argos_tracks_born": ("counter", "tracks started", ()),
    "argos_counts": ("counter", "counted crossings", ("line", "lane", "class", "direction")),
    "argos_published": ("counter", "messages stored or published by a sink", ("sink",)),
    "argos_stage_latency_seconds": (
        "histogram",
        "time a frame spends in a stage (capture: read and hand-off; inference: detector; "
        "tracking: tracker update; bridge: queue, Redis write and MQTT publish)",
        ("stage",),
    ),
    "argos_end_to_end_latency_seconds": (
        "histogram",
        "frame capture stamp to the MQTT publish of its detections",
        (),
    ),
}


@dataclass(frozen=True)
class Sample:
    """One value of a catalogue metric, with its labels (camera and node are added by the exporter)."""

    name: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        if self.name not in CATALOGUE:
            raise KeyError(f"{self.name}: not in argos_common.metrics.CATALOGUE")
        wanted = set(CATALOGUE[self.name][2])
        if set(self.labels) != wanted:
            raise ValueError(f"{self.name}: labels {sorted(self.labels)} != {sorted(wanted)}")


@dataclass(frozen=True)
class HistogramSnapshot:
    bounds: tuple[float, ...]  # upper bounds, +Inf not included
    cumulative: tuple[int, ...]  # observations <= each bound, then the total (for +Inf)
    sum: float

    @property
    def count(self) -> int:
        return self.cumulative[-1]


class LatencyHistogram:
    """Cumulative bucket counts since the start, as Prometheus histograms are (rates and quantiles
    come from differences between scrapes); thread-safe."""

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BUCKETS_S):
        if list(bounds) != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise ValueError("bucket bounds must be strictly increasing")
        self._bounds = tuple(float(b) for b in bounds)
        self._counts = [0] * (len(bounds) + 1)  # the last one is above every bound
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        # a value equal to a bound belongs to that bucket (le = "less or equal")
        i = bisect.bisect_left(self._bounds, seconds)
        with self._lock:
            self._counts[i] += 1
            self._sum += seconds

    def snapshot(self) -> HistogramSnapshot:
        with self._lock:
            counts, total = list(self._counts), self._sum
        cumulative, running = [], 0
        for n in counts:
            running += n
            cumulative.append(running)
        return HistogramSnapshot(self._bounds, tuple(cumulative), total)


@dataclass(frozen=True)
class HistogramSample:
    name: str
    histogram: LatencyHistogram
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        if CATALOGUE.get(self.name, ("",))[0] != "histogram":
            raise KeyError(f"{self.name}: not a histogram of argos_common.metrics.CATALOGUE")


def samples(name: str, values: dict[str, float], label: str) -> list[Sample]:
    """One Sample per entry of `values`, the key as the value of `label` (e.g. drops per reason)."""
    return [Sample(name, float(v), {label: str(k)}) for k, v in values.items()]
