"""The metric catalogue, the latency histogram and the Prometheus endpoint, read back with
prometheus_client's own text parser over real HTTP."""

import socket
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from argos_common.metrics import CATALOGUE, HistogramSample, LatencyHistogram, Sample, samples
from argos_common.metrics_server import MetricsServer, MetricsSource, NodeCollector, is_loopback


def test_histogram_buckets_are_cumulative_and_a_bound_belongs_to_its_bucket():
    h = LatencyHistogram((0.01, 0.1, 1.0))
    for value in (0.005, 0.01, 0.05, 0.1, 0.5, 3.0):
        h.observe(value)
    snap = h.snapshot()
    assert snap.bounds == (0.01, 0.1, 1.0)
    assert snap.cumulative == (2, 4, 5, 6)  # le=0.01 holds 0.005 and 0.01 itself
    assert snap.count == 6 and snap.sum == pytest.approx(3.665)


def test_histogram_refuses_unsorted_bounds():
    with pytest.raises(ValueError):
        LatencyHistogram((0.1, 0.01))


def test_samples_must_use_catalogue_names_and_labels():
    with pytest.raises(KeyError):
        Sample("argos_frmaes", 1, {"stage": "captured"})
    with pytest.raises(ValueError):
        Sample("argos_frames", 1, {"stag": "captured"})
    with pytest.raises(KeyError):
        HistogramSample("argos_frames", LatencyHistogram())
    assert [s.labels for s in samples("argos_dropped", {"handoff": 1, "source": 2}, "reason")] == [
        {"reason": "handoff"},
        {"reason": "source"},
    ]


class FakeCameraMetrics:
    """What a node's metrics() returns (no rclpy needed to test the exporter)."""

    def __init__(self):
        self.frames = 0
        self.latency = LatencyHistogram()

    def metrics(self):
        return [
            Sample("argos_frames", self.frames, {"stage": "captured"}),
            Sample("argos_counts", 2, {"line": "north", "lane": "1", "class": "car", "direction": "in"}),
            HistogramSample("argos_stage_latency_seconds", self.latency, {"stage": "capture"}),
        ]


def parse(text: str) -> dict[str, list]:
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def scrape(url: str, **kwargs) -> str:
    with urllib.request.urlopen(url, timeout=5, **kwargs) as response:
        return response.read().decode()


def test_endpoint_serves_every_source_with_camera_and_node_labels():
    cam0, cam1 = FakeCameraMetrics(), FakeCameraMetrics()
    cam0.frames, cam1.frames = 5, 7
    cam0.latency.observe(0.003)
    sources = [MetricsSource("cam0", "camera", cam0), MetricsSource("cam1", "camera", cam1), MetricsSource("x", "y", 1)]
    with MetricsServer(lambda: sources, 0) as server:
        assert server.url.startswith("http://127.0.0.1:")
        first = parse(scrape(server.url))
        cam0.frames += 10
        second = parse(scrape(server.url))
    frames = {s.labels["camera"]: s.value for s in first["argos_frames"] if s.name == "argos_frames_total"}
    assert frames == {"cam0": 5.0, "cam1": 7.0}
    later = {s.labels["camera"]: s.value for s in second["argos_frames"] if s.name == "argos_frames_total"}
    assert later == {"cam0": 15.0, "cam1": 7.0}  # read at scrape time, not at start
    counts = [s for s in first["argos_counts"] if s.name == "argos_counts_total"]
    assert counts[0].labels == {
        "camera": "cam0",
        "node": "camera",
        "line": "north",
        "lane": "1",
        "class": "car",
        "direction": "in",
    }
    buckets = {
        s.labels["le"]: s.value
        for s in first["argos_stage_latency_seconds"]
        if s.name.endswith("_bucket") and s.labels["camera"] == "cam0"
    }
    assert buckets["0.0025"] == 0 and buckets["0.005"] == 1 and buckets["+Inf"] == 1
    assert "process_resident_memory_bytes" in first  # the process's own CPU and memory come along


def test_every_catalogue_entry_becomes_its_declared_kind():
    class All:
        def metrics(self):
            out = []
            for name, (kind, _help, labels) in CATALOGUE.items():
                values = {label: "x" for label in labels}
                out.append(
                    HistogramSample(name, LatencyHistogram(), values)
                    if kind == "histogram"
                    else Sample(name, 1, values)
                )
            return out

    families = list(NodeCollector(lambda: [MetricsSource("cam0", "n", All())]).collect())
    assert {f.name: f.type for f in families} == {name: kind for name, (kind, _h, _l) in CATALOGUE.items()}


def test_binds_loopback_only_and_refuses_the_network_without_mutual_tls():
    with MetricsServer(list, 0) as server:
        assert server._httpd.socket.getsockname()[0] == "127.0.0.1"
        # not reachable on another address of this machine
        with socket.socket() as probe:
            probe.settimeout(1)
            other = _non_loopback_address()
            if other is not None:
                assert probe.connect_ex((other, server.port)) != 0
    for host in ("0.0.0.0", "192.0.2.10", "::"):
        assert not is_loopback(host)
        with pytest.raises(ValueError, match="not loopback"):
            MetricsServer(list, 0, host)
    with pytest.raises(ValueError, match="both a certificate and a key"):
        MetricsServer(list, 0, certfile="/x.pem")


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
        except OSError:
            return None
        address = s.getsockname()[0]
    return None if is_loopback(address) else address


def test_environment_settings_of_a_standalone_node():
    from argos_common.metrics_server import serve_from_environment

    assert serve_from_environment(list, {}) is None
    with pytest.raises(ValueError, match="ARGOS_METRICS_PORT='x'"):
        serve_from_environment(list, {"ARGOS_METRICS_PORT": "x"})
    with pytest.raises(ValueError, match="ARGOS_METRICS_HOST=0.0.0.0: .*not loopback"):
        serve_from_environment(list, {"ARGOS_METRICS_PORT": "0", "ARGOS_METRICS_HOST": "0.0.0.0"})
    server = serve_from_environment(
        lambda: [MetricsSource("cam0", "camera", FakeCameraMetrics())], {"ARGOS_METRICS_PORT": "0"}
    )
    with server:
        assert "argos_frames_total" in scrape(server.url)
