"""config/edge.yaml validation: every error names the offending key."""

from pathlib import Path

import pytest
import yaml

from argos_bringup.config import load_config, parse_assignment
from argos_common.params import ConfigError

REPO = Path(__file__).resolve().parents[3]
EDGE = REPO / "config" / "edge.yaml"


def write(tmp_path, data) -> Path:
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def edited(tmp_path, edit) -> Path:
    data = yaml.safe_load(EDGE.read_text())
    edit(data)
    return write(tmp_path, data)


def test_shipped_config_is_valid_and_complete():
    cfg = load_config(EDGE)
    assert set(cfg.params) == {"camera", "inference", "tracker", "bridge", "annotator"}
    assert cfg.node("camera")["source"].startswith("synthetic://")
    assert cfg.node("tracker")["lines.names"] == ["west", "east", "north", "south"]
    assert cfg.node("camera")["lines.north.points"] == cfg.node("tracker")["lines.north.points"]
    assert len(cfg.node("tracker")["classes"]) == 11


def test_unknown_node_parameter_is_named(tmp_path):
    path = edited(tmp_path, lambda d: d["/**/camera"]["ros__parameters"].update(fsp=10.0))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.key == "/**/camera.fsp"
    assert "did you mean fps" in str(err.value)


def test_wrong_type_is_named(tmp_path):
    path = edited(tmp_path, lambda d: d["/**/camera"]["ros__parameters"].update(width="wide"))
    with pytest.raises(ConfigError, match=r"^/\*\*/camera\.width: expected an integer"):
        load_config(path)


def test_out_of_range_is_named(tmp_path):
    path = edited(tmp_path, lambda d: d["/**/camera"]["ros__parameters"].update(fps=-1.0))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.key == "/**/camera.fps"


def test_unknown_node_section(tmp_path):
    path = edited(tmp_path, lambda d: d.update({"/**/detector": {"ros__parameters": {"a": 1}}}))
    with pytest.raises(ConfigError, match="unknown node"):
        load_config(path)


def test_unknown_global_parameter(tmp_path):
    path = edited(tmp_path, lambda d: d["/**"]["ros__parameters"].update(colour="red"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.key == "/**.colour"


def test_bad_counting_line_is_named(tmp_path):
    path = edited(tmp_path, lambda d: d["/**"]["ros__parameters"]["lines"]["west"].update(points=[1.0, 2.0, 3.0]))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "lines.west.points" in err.value.key


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("camera: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_overrides_apply_and_are_validated():
    cfg = load_config(EDGE, {"camera": {"source": "file:///tmp/x.mp4", "fps": 10.0}})
    assert cfg.node("camera")["source"] == "file:///tmp/x.mp4"
    assert cfg.node("camera")["fps"] == 10.0
    with pytest.raises(ConfigError, match="fps"):
        load_config(EDGE, {"camera": {"fps": "fast"}})


def test_parse_assignment():
    assert parse_assignment("camera.fps=10.5") == ("camera", "fps", 10.5)
    assert parse_assignment("tracker.lines.names=[a]") == ("tracker", "lines.names", ["a"])
    with pytest.raises(ConfigError):
        parse_assignment("fps=3")


def test_empty_value_on_the_command_line_is_the_empty_string():
    assert parse_assignment("inference.model.metadata=") == ("inference", "model.metadata", "")
    assert parse_assignment("inference.model.metadata=''") == ("inference", "model.metadata", "")
    cfg = load_config(EDGE, {"inference": {"model.metadata": parse_assignment("inference.model.metadata=")[2]}})
    assert cfg.node("inference")["model.metadata"] == ""


def test_bundled_sidecar_is_not_inherited_by_another_model(tmp_path):
    """edge.yaml names the bundled card as model.metadata: pointing model.path at another model
    (here a copy of the bundled one under a new name) must not quietly keep that card."""
    other = tmp_path / "yolo11n.onnx"
    other.write_bytes((REPO / "models" / "argos-traffic-v1.onnx").read_bytes())
    with pytest.raises(ConfigError) as err:
        load_config(EDGE, {"inference": {"model.path": str(other)}})
    assert err.value.key == "/**/inference.model.metadata"
    assert "argos-traffic-v1.json" in err.value.problem and str(other) in err.value.problem
    assert "--param inference.model.metadata=" in err.value.problem
    # without the sidecar the model stands on its own metadata
    cfg = load_config(EDGE, {"inference": {"model.path": str(other), "model.metadata": ""}})
    assert cfg.node("inference")["model.path"] == str(other)


def test_cross_parameter_checks_of_a_package_run_before_start(tmp_path):
    path = edited(
        tmp_path,
        lambda d: d["/**/inference"]["ros__parameters"]["motion"].update(
            class_labels=["car", "lorry"], class_max_area=[400.0, 900.0]
        ),
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.key == "/**/inference.motion.class_labels" and "lorry" in err.value.problem
