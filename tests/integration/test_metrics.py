"""The Prometheus endpoint of a running graph: `argos run --metrics-port` scraped twice over HTTP
while frames flow (every stage's counters and latency histograms move), compared with the run's
own summary at the end; and the endpoint on the network only as mutual TLS."""

import json
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from argos_common.endpoints import free_port
from argos_common.metrics import Sample
from argos_common.metrics_server import MetricsServer, MetricsSource
from harness.pki import make_ca, make_cert

pytestmark = pytest.mark.integration

STAGES = {"captured": "camera", "processed": "inference", "tracked": "tracker", "delivered": "bridge"}
LATENCY_STAGES = ("capture", "inference", "tracking", "bridge")


def scrape(url: str, context=None) -> dict[tuple, float]:
    """{(sample name, sorted labels): value} of one scrape."""
    with urllib.request.urlopen(url, timeout=5, context=context) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(metrics: dict, name: str, **labels) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    return sum(v for (n, ls), v in metrics.items() if n == name and labels.items() <= dict(ls).items())


def wait_for_endpoint(url: str, proc: subprocess.Popen, timeout_s: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        try:
            metrics = scrape(url)
            if value(metrics, "argos_frames_total", stage="delivered") > 0:
                return metrics
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} never served a delivered frame")


def test_argos_run_metrics_move_while_frames_flow(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    summary = tmp_path / "summary.json"
    exe = shutil.which("argos")
    assert exe, "`argos` is not on PATH after `source scripts/env.sh`"
    proc = subprocess.Popen(
        [exe, "run", "--duration", "18", "--quiet", "--summary", str(summary), "--metrics-port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = wait_for_endpoint(url, proc)
        time.sleep(3.0)
        second = scrape(url)
        last = second
        while proc.poll() is None:  # the last scrape before the endpoint closes, for the counts
            try:
                last = scrape(url)
            except (urllib.error.URLError, ConnectionError):
                break
            time.sleep(0.2)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-3000:]

    for stage, node in STAGES.items():
        a = value(first, "argos_frames_total", stage=stage, node=node, camera="cam0")
        b = value(second, "argos_frames_total", stage=stage, node=node, camera="cam0")
        assert b > a > 0, (stage, a, b)
    for stage in LATENCY_STAGES:
        a = value(first, "argos_stage_latency_seconds_count", stage=stage)
        b = value(second, "argos_stage_latency_seconds_count", stage=stage)
        assert b > a > 0, (stage, a, b)
        assert value(second, "argos_stage_latency_seconds_bucket", stage=stage, le="+Inf") == b
        assert 0 < value(second, "argos_stage_latency_seconds_sum", stage=stage) / b < 1.0  # seconds, not ms
    assert value(second, "argos_end_to_end_latency_seconds_count") > value(
        first, "argos_end_to_end_latency_seconds_count"
    )
    assert value(second, "argos_fps", stage="capture") > 5.0
    for link in ("source", "mqtt", "redis"):
        assert value(second, "argos_connected", link=link) == 1.0, link
    assert value(second, "argos_dropped_total", reason="mqtt_failed") == 0
    assert ("argos_buffer_depth", (("buffer", "mqtt_spool"), ("camera", "cam0"), ("node", "bridge"))) in second
    assert value(second, "argos_tracks", state="active") >= value(second, "argos_tracks", state="confirmed")
    assert value(second, "argos_published_total", sink="mqtt") > value(first, "argos_published_total", sink="mqtt")

    # counts per class: what the endpoint said last never exceeds what the run counted in the end
    counted = json.loads(summary.read_text())["counts"]["by_class_direction"]
    total = 0
    for (name, labels), v in last.items():
        if name == "argos_counts_total":
            ls = dict(labels)
            assert v <= counted[ls["class"]][ls["direction"]], ls
            total += v
    assert total >= 1, "18 s of the default scene count at least one crossing"


class Counter:
    def metrics(self):
        return [Sample("argos_frames", 3, {"stage": "captured"})]


@pytest.fixture(scope="module")
def pki():
    d = Path(tempfile.mkdtemp(prefix="argos-metrics-pki-"))
    make_ca(d, "ca")
    make_ca(d, "other_ca")
    make_cert(d, "server", "ca", "IP:127.0.0.1,DNS:localhost")
    make_cert(d, "client", "ca", "")
    make_cert(d, "stranger", "other_ca", "")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def client_context(pki: Path, cert: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    if cert:
        context.load_cert_chain(str(pki / f"{cert}.pem"), str(pki / f"{cert}.key"))
    return context


def test_network_endpoint_is_mutual_tls_only(pki):
    with MetricsServer(
        lambda: [MetricsSource("cam0", "camera", Counter())],
        0,
        "0.0.0.0",
        certfile=str(pki / "server.pem"),
        keyfile=str(pki / "server.key"),
        client_cafile=str(pki / "ca.pem"),
    ) as server:
        url = f"https://127.0.0.1:{server.port}/metrics"
        metrics = scrape(url, client_context(pki, "client"))
        assert value(metrics, "argos_frames_total", camera="cam0") == 3
        for cert in (None, "stranger"):  # no client certificate, or one of another CA
            with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
                scrape(url, client_context(pki, cert))
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            scrape(f"http://127.0.0.1:{server.port}/metrics")  # plain HTTP gets nothing


def test_a_node_started_on_its_own_serves_its_metrics_from_the_environment():
    import os
    import signal

    from argos_bringup.processes import executable

    port = free_port()
    proc = subprocess.Popen(
        [executable("argos_tracker", "tracker_node"), "--ros-args", "-r", "__ns:=/cam7"],
        env={**os.environ, "ARGOS_METRICS_PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline, metrics = time.monotonic() + 30, None
        while metrics is None and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read()
            try:
                metrics = scrape(f"http://127.0.0.1:{port}/metrics")
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        assert metrics is not None
        assert value(metrics, "argos_frames_total", camera="cam7", node="tracker", stage="tracked") == 0
        assert ("argos_tracks", (("camera", "cam7"), ("node", "tracker"), ("state", "active"))) in metrics
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0


def test_a_bad_metrics_setting_is_a_configuration_error():
    import os

    from argos_bringup.processes import executable

    proc = subprocess.run(
        [executable("argos_tracker", "tracker_node")],
        env={**os.environ, "ARGOS_METRICS_PORT": "0", "ARGOS_METRICS_HOST": "0.0.0.0"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "ARGOS_METRICS_HOST=0.0.0.0" in errors[0], proc.stderr
