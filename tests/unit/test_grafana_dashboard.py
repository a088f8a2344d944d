"""config/grafana: the dashboard asks only for metrics the nodes export (argos_common.metrics),
with the labels they carry, so a renamed metric cannot leave a silently empty panel."""

import json
import re
from pathlib import Path

import yaml

from argos_common.metrics import CATALOGUE

GRAFANA = Path(__file__).resolve().parents[2] / "config" / "grafana"


def exported_series() -> dict[str, set[str]]:
    """Series name -> labels, as the exporter writes them."""
    series = {}
    for name, (kind, _help, labels) in CATALOGUE.items():
        names = {"camera", "node", *labels}
        if kind == "counter":
            series[f"{name}_total"] = names
        elif kind == "histogram":
            series[f"{name}_bucket"] = names | {"le"}
            series[f"{name}_sum"] = series[f"{name}_count"] = names
        else:
            series[name] = names
    return series


def test_dashboard_queries_only_exported_metrics_and_labels():
    dashboard = json.loads((GRAFANA / "argos-edge-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    series = exported_series()
    used = set()
    for expr in exprs:
        for name in re.findall(r"\b(argos_\w+)", expr):
            assert name in series, f"{name} in {expr!r} is not exported"
            used.add(name)
            # labels used in by (...) clauses and selectors exist on that series
            for label in re.findall(r"(\w+)=~?\"", expr) + re.findall(r"by \(([^)]*)\)", expr):
                for one in label.split(","):
                    assert one.strip() in series[name] | {"job", "instance"}, (one, expr)
    stages = {"argos_frames_total", "argos_stage_latency_seconds_bucket", "argos_end_to_end_latency_seconds_bucket"}
    assert stages | {"argos_dropped_total", "argos_buffer_depth", "argos_counts_total"} <= used


def test_prometheus_example_scrapes_the_default_loopback_port():
    config = yaml.safe_load((GRAFANA / "prometheus.yml").read_text())
    targets = config["scrape_configs"][0]["static_configs"][0]["targets"]
    assert targets == ["127.0.0.1:9100"]
