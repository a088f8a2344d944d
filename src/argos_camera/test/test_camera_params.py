"""The camera's parameter list matches config/edge.yaml (names, types) and rejects bad values."""

from pathlib import Path

import pytest
import yaml

from argos_camera.params import PARAMS
from argos_common.params import ConfigError, ParamGroup, flatten, resolve

CONFIG = Path(__file__).resolve().parents[3] / "config" / "edge.yaml"


def _sections():
    raw = yaml.safe_load(CONFIG.read_text())
    return flatten(raw["/**"]["ros__parameters"]), flatten(raw["/**/camera"]["ros__parameters"])


def test_every_camera_key_of_the_config_resolves_with_its_type():
    global_values, camera = _sections()
    values = {**{k: v for k, v in global_values.items() if k == "classes" or k.startswith("lines.")}, **camera}
    resolved = resolve(PARAMS, values)
    for key, value in values.items():
        assert resolved[key] == value
        assert type(resolved[key]) is type(value)
    assert resolved["lines.names"] == ["west", "east", "north", "south"]


def test_lines_group_is_part_of_the_parameters():
    assert any(isinstance(p, ParamGroup) and p.prefix == "lines" for p in PARAMS)


@pytest.mark.parametrize(
    "key, value",
    [("fps", 0.0), ("fps", 500.0), ("width", 32), ("image_publish", "sometimes"), ("realtime", "yes"), ("source", 5)],
)
def test_bad_values_name_the_key(key, value):
    with pytest.raises(ConfigError) as err:
        resolve(PARAMS, {key: value})
    assert err.value.key == key
