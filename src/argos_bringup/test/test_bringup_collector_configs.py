"""config/telegraf, config/influxdb and config/docker-compose.yml checked against the real
payloads (Telegraf itself is not packaged here: its config is parsed, not run)."""

import math
import tomllib
from pathlib import Path

import numpy as np
import yaml

from argos_bridge import schema
from argos_common.classes import DEFAULT_CLASSES
from argos_common.counts import CountRecord
from argos_common.detections import Detections

CONFIG = Path(__file__).resolve().parents[3] / "config"
IDENTITY = {"site": "s", "device": "d", "camera": "c"}


def telegraf() -> dict:
    with open(CONFIG / "telegraf" / "telegraf.conf", "rb") as f:
        return tomllib.load(f)


def real_payloads() -> dict:
    dets = Detections(np.array([[1.0, 2.0, 30.0, 40.0]]), [0.9], ["car"], ["7"])
    record = CountRecord(
        stamp_ns=5,
        line_id="w",
        lane="eb",
        class_id="car",
        direction="in",
        track_id="7",
        speed_px_s=3.0,
        speed_m_s=math.nan,
    )
    return {
        "detections": schema.detections_payload(
            **IDENTITY, stamp_ns=5, frame_id="f", bridge_frame=0, dets=dets, classes=DEFAULT_CLASSES
        ),
        "counts": schema.count_payload(**IDENTITY, record=record, count_seq=0, classes=DEFAULT_CLASSES),
        "totals": schema.totals_payload(
            **IDENTITY,
            started_ns=1,
            interval_start_ns=1,
            now_ns=5,
            rows=[(("w", "eb", "car", "in"), 3, 1)],
            classes=DEFAULT_CLASSES,
        ),
    }


def consumer_for(conf: dict, kind: str) -> dict:
    (consumer,) = [c for c in conf["inputs"]["mqtt_consumer"] if c["topics"] == [f"argos/+/+/+/{kind}"]]
    return consumer


def test_telegraf_has_the_blog_flow_plugins_and_routing():
    conf = telegraf()
    consumers = conf["inputs"]["mqtt_consumer"]
    assert {c["topics"][0].rsplit("/", 1)[1] for c in consumers} == {"detections", "counts", "totals", "aggregates"}
    assert all(c["qos"] == 1 and c["persistent_session"] and c["client_id"] for c in consumers)
    (starlark,) = conf["processors"]["starlark"]
    assert starlark["namepass"] == ["argos_detections"]
    assert 'metric.fields.get("unique_com_id")' in starlark["source"] and 'metric.tags["obj"]' in starlark["source"]
    edge, cloud = conf["outputs"]["influxdb_v2"]
    assert edge["namepass"] == ["argos_*"] and cloud["namedrop"] == ["argos_detections"]
    assert all(o["token"].startswith("${") for o in (edge, cloud))  # secrets from the environment only


def test_json_v2_paths_are_real_payload_fields():
    conf, payloads = telegraf(), real_payloads()
    for kind in ("detections", "counts", "totals"):
        consumer = consumer_for(conf, kind)
        assert consumer["data_format"] == "json_v2"
        assert consumer["topic_parsing"][0]["tags"] == "_/site/device/camera/_"
        (parser,) = consumer["json_v2"]
        payload = payloads[kind]
        assert parser["timestamp_path"] in payload and parser["timestamp_format"] == "unix_ns"
        for item in parser.get("field", []) + parser.get("tag", []):
            assert item["path"] in payload, (kind, item["path"])
        for obj in parser.get("object", []):
            rows = payload[obj["path"]]
            assert isinstance(rows, list) and rows
            assert set(obj["fields"]) | set(obj.get("tags", [])) <= set(rows[0]), (kind, obj["path"])


def test_detections_fields_keep_the_field_report_names():
    fields = consumer_for(telegraf(), "detections")["json_v2"][0]["object"][0]["fields"]
    assert set(fields) == {
        "classID",
        "confidence",
        "coor_left",
        "coor_top",
        "box_width",
        "box_height",
        "objectID",
        "unique_com_id",
    }


def test_flux_task_and_compose_file_are_well_formed():
    flux = (CONFIG / "influxdb" / "downsample_task.flux").read_text()
    assert "option task" in flux and 'r._measurement == "argos_counts"' in flux and "NOT RUN HERE" in flux
    compose = yaml.safe_load((CONFIG / "docker-compose.yml").read_text())
    assert set(compose["services"]) == {"mosquitto", "redis", "influxdb", "telegraf"}
    for service in compose["services"].values():
        assert ":" in service["image"] and not service["image"].endswith(":latest")  # pinned images


def test_mosquitto_config_requires_auth_and_serves_tls():
    lines = [
        line.split()
        for line in (CONFIG / "mosquitto" / "mosquitto.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    settings = {words[0]: words[1:] for words in lines}
    assert settings["allow_anonymous"] == ["false"] and "password_file" in settings and "acl_file" in settings
    assert ["listener", "8883"] in lines and "certfile" in settings and "keyfile" in settings
