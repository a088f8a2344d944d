"""Bridge parameters: the config/edge.yaml contract, URL parsing and validation errors naming the key."""

from pathlib import Path

import pytest
import yaml

from argos_bridge.bridge import Bridge
from argos_bridge.mqtt_sink import topic_base
from argos_bridge.params import PARAMS
from argos_common.endpoints import parse_mqtt_url, stream_key
from argos_common.params import ConfigError, flatten, resolve
from argos_common.redis_client import connect_redis

EDGE_YAML = Path(__file__).resolve().parents[3] / "config" / "edge.yaml"
SPECS = {spec.name: spec for spec in PARAMS}


def edge_sections():
    raw = yaml.safe_load(EDGE_YAML.read_text())
    return flatten(raw["/**"]["ros__parameters"]), flatten(raw["/**/bridge"]["ros__parameters"])


def test_every_bridge_key_of_edge_yaml_is_a_parameter_and_resolves():
    global_values, bridge_values = edge_sections()
    assert set(bridge_values) <= set(SPECS)
    assert "classes" in SPECS and SPECS["classes"].type == "str[]"
    resolved = resolve(PARAMS, {**bridge_values, "classes": global_values["classes"]})
    for key, value in bridge_values.items():
        assert resolved[key] == value, key
    assert resolved["classes"] == global_values["classes"]


@pytest.mark.parametrize(
    "name,kind,default",
    [
        ("site", "str", "demo-site"),
        ("device", "str", "edge-01"),
        ("camera", "str", "cam0"),
        ("redis_url", "str", ""),
        ("mqtt_url", "str", ""),
        ("stream_maxlen", "int", 100000),
        ("detections_every_n_frames", "int", 1),
        ("totals_interval_s", "float", 10.0),
        ("mqtt_qos_detections", "int", 0),
        ("mqtt_qos_counts", "int", 1),
        ("mqtt_qos_totals", "int", 1),
        ("mqtt_qos_status", "int", 1),
        ("topic_prefix", "str", "argos"),
    ],
)
def test_parameter_types_and_defaults(name, kind, default):
    assert (SPECS[name].type, SPECS[name].default) == (kind, default)


@pytest.mark.parametrize(
    "key,value",
    [
        ("stream_maxlen", 99),
        ("detections_every_n_frames", 0),
        ("totals_interval_s", 0.0),
        ("mqtt_qos_counts", 3),
        ("queue_size", 1),
        ("site", 5),
    ],
)
def test_out_of_range_or_mistyped_values_name_the_key(key, value):
    with pytest.raises(ConfigError) as err:
        resolve(PARAMS, {key: value})
    assert err.value.key == key


def test_unknown_key_is_refused_with_a_hint():
    with pytest.raises(ConfigError, match="stream_maxlen"):
        Bridge({"stream_maxln": 1000})


def test_mqtt_url_parsing():
    assert parse_mqtt_url("") == ("127.0.0.1", 1883)
    assert parse_mqtt_url("mqtt://broker.local:1884") == ("broker.local", 1884)
    assert parse_mqtt_url("mqtt://broker.local") == ("broker.local", 1883)


@pytest.mark.parametrize("url", ["http://x:1883", "mqtt://", "mqtt://h:notaport", "mqtt://h:1883/path", "broker:1883"])
def test_bad_mqtt_url_names_mqtt_url(url):
    with pytest.raises(ConfigError) as err:
        parse_mqtt_url(url)
    assert err.value.key == "mqtt_url"


@pytest.mark.parametrize("url", ["http://x:6379", "localhost:6379"])
def test_bad_redis_url_names_redis_url(url):
    with pytest.raises(ConfigError) as err:
        connect_redis(url)
    assert err.value.key == "redis_url"


def test_bridge_construction_reports_bad_urls_by_key():
    with pytest.raises(ConfigError) as err:
        Bridge({"mqtt_url": "ftp://nowhere"})
    assert err.value.key == "mqtt_url"


def test_topic_levels_and_stream_key():
    assert topic_base("argos", "s", "d", "c") == "argos/s/d/c"
    assert stream_key("s", "d", "c") == "argos:s:d:c"
    with pytest.raises(ConfigError) as err:
        topic_base("argos", "s", "d/x", "c")
    assert err.value.key == "device"
    with pytest.raises(ConfigError):
        topic_base("argos", "s", "d", "cam+")
