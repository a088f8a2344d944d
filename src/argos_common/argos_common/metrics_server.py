"""The Prometheus endpoint of one process: every node's `metrics()` at scrape time, plus the
process's own CPU and memory (prometheus_client's process collector).

Values are read when Prometheus asks, from the counters the nodes keep anyway, so an endpoint
nobody scrapes costs nothing per frame beyond the histogram observations. Loopback by default:
a unit's metrics leave it only when a host is configured (README, "Watching a unit").
"""

from __future__ import annotations

import ipaddress
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.exposition import start_http_server
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from .metrics import CATALOGUE, HistogramSample

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class MetricsSource:
    """A node of this process: its camera (namespace without the slash), its name and the object
    whose `metrics()` returns Samples and HistogramSamples."""

    camera: str
    node: str
    target: object


Sources = Callable[[], Iterable[MetricsSource]]


def camera_label(namespace: str) -> str:
    return namespace.strip("/") or "/"


class NodeCollector(Collector):
    """Turns the Samples of every source into one family per catalogue name."""

    def __init__(self, sources: Sources):
        self._sources = sources

    def collect(self) -> Iterable[Metric]:
        families: dict[str, Any] = {}  # CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
        for source in self._sources():
            metrics = getattr(source.target, "metrics", None)
            if metrics is None:
                continue
            for sample in metrics():
                kind, help_text, labels = CATALOGUE[sample.name]
                names = ["camera", "node", *labels]
                family = families.get(sample.name)
                if family is None:
                    family = families[sample.name] = _FAMILY[kind](sample.name, help_text, labels=names)
                values = [source.camera, source.node, *(sample.labels[k] for k in labels)]
                if isinstance(sample, HistogramSample):
                    snap = sample.histogram.snapshot()
                    buckets = [(_bound(b), float(n)) for b, n in zip(snap.bounds, snap.cumulative)]
                    buckets.append(("+Inf", float(snap.count)))
                    family.add_metric(values, buckets, snap.sum)
                else:
                    family.add_metric(values, float(sample.value))
        yield from families.values()


def _bound(value: float) -> str:
    return repr(float(value))


_FAMILY: dict[str, type] = {
    "counter": CounterMetricFamily,
    "gauge": GaugeMetricFamily,
    "histogram": HistogramMetricFamily,
}


def registry_for(sources: Sources) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(sources))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class MetricsServer:
    """HTTP endpoint (`/metrics`; any path answers) on `host:port`; port 0 picks a free one
    (`self.port` says which). A non-loopback host is refused unless the endpoint is mutual TLS:
    a certificate and key for the server and a CA file the scraper's client certificate must
    chain to (metrics name the site, its lines and traffic: not for anyone on the network)."""

    def __init__(
        self,
        sources: Sources,
        port: int,
        host: str = LOOPBACK,
        *,
        certfile: str | None = None,
        keyfile: str | None = None,
        client_cafile: str | None = None,
    ):
        if bool(certfile) != bool(keyfile):
            raise ValueError("metrics TLS needs both a certificate and a key file")
        if client_cafile and not certfile:
            raise ValueError("metrics client CA given without a server certificate and key")
        if not is_loopback(host) and not (certfile and client_cafile):
            raise ValueError(
                f"metrics on {host} (not loopback) need TLS with client certificates: "
                "give the server certificate, key and the clients' CA file"
            )
        self.registry = registry_for(sources)
        self._httpd, self._thread = start_http_server(
            int(port),
            addr=host,
            registry=self.registry,
            certfile=certfile,
            keyfile=keyfile,
            client_cafile=client_cafile,
            client_auth_required=bool(client_cafile),
        )
        self.host = host
        self.port = int(self._httpd.server_address[1])
        self.scheme = "https" if certfile else "http"
        self._closed = threading.Event()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}/metrics"

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=2.0)

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# a node started on its own (`ros2 run`, launch with composition:=false) takes its endpoint from
# these, one port per process (edge.launch.py numbers them)
ENVIRONMENT = {
    "port": "ARGOS_METRICS_PORT",
    "host": "ARGOS_METRICS_HOST",
    "certfile": "ARGOS_METRICS_TLS_CERT",
    "keyfile": "ARGOS_METRICS_TLS_KEY",
    "client_cafile": "ARGOS_METRICS_CLIENT_CA",
}


def serve_from_environment(sources: Sources, environ=os.environ) -> MetricsServer | None:
    """The endpoint ARGOS_METRICS_PORT asks for (None when unset or empty). ValueError names the variable."""
    port_text = environ.get(ENVIRONMENT["port"], "").strip()
    if not port_text:
        return None
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"{ENVIRONMENT['port']}={port_text!r}: not a port number") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"{ENVIRONMENT['port']}={port}: not a port (0-65535)")
    options = {k: environ.get(v) or None for k, v in ENVIRONMENT.items() if k not in ("port", "host")}
    host = environ.get(ENVIRONMENT["host"]) or LOOPBACK
    try:
        return MetricsServer(sources, port, host, **options)
    except OSError as exc:
        raise ValueError(f"{ENVIRONMENT['port']}={port}: cannot listen on {host}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ValueError(f"{ENVIRONMENT['host']}={host}: {exc}") from None
