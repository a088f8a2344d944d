"""A sidecar JSON applies only to the model file it records (name + SHA-256 of the content)."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_inference_decoders import constant_output_model, detector_for

from argos_common.params import ConfigError
from argos_inference.model_metadata import file_sha256, read_metadata

MODELS = Path(__file__).resolve().parents[3] / "models"


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_bundled_card_records_both_bundled_models():
    card = json.loads((MODELS / "argos-traffic-v1.json").read_text())
    for name in (card["file"], card["int8_file"]):
        assert card["sha256"][name] == sha(MODELS / name)
        meta = read_metadata(MODELS / name, None, MODELS / "argos-traffic-v1.json")
        assert meta.classes and len(meta.classes) == 11 and meta.input_hw == (384, 640)


def test_a_recorded_sidecar_applies(tmp_path):
    path = constant_output_model(tmp_path / "m.onnx", {"output0": np.zeros((1, 4 + 2, 100))})
    (tmp_path / "m.json").write_text(json.dumps({"sha256": {"m.onnx": sha(path)}, "classes": ["bus", "car"]}))
    assert detector_for(path).describe()["class_map"] == ["bus", "car"]
    assert file_sha256(path) == sha(path)


def test_sidecar_of_another_model_names_both_files(tmp_path):
    path = constant_output_model(tmp_path / "mine.onnx", {"output0": np.zeros((1, 4 + 3, 100))})
    card = tmp_path / "theirs.json"
    card.write_text(json.dumps({"sha256": {"theirs.onnx": "0" * 64}, "classes": ["bus", "car", "truck"]}))
    with pytest.raises(ConfigError) as err:
        detector_for(path, **{"model.metadata": str(card)})
    assert err.value.key == "model.metadata"
    assert str(card) in err.value.problem and str(path) in err.value.problem and "theirs.onnx" in err.value.problem


def test_changed_model_content_is_refused(tmp_path):
    path = constant_output_model(tmp_path / "m.onnx", {"output0": np.zeros((1, 4 + 3, 100))})
    (tmp_path / "m.json").write_text(json.dumps({"sha256": {"m.onnx": sha(path)}, "classes": ["bus", "car", "truck"]}))
    detector_for(path)
    # re-exported under the same name with other weights: the card no longer describes it
    constant_output_model(tmp_path / "m.onnx", {"output0": np.ones((1, 4 + 3, 100))})
    with pytest.raises(ConfigError) as err:
        detector_for(path)
    assert err.value.key == "model.metadata" and "changed" in err.value.problem
    assert sha(path)[:12] in err.value.problem and str(tmp_path / "m.json") in err.value.problem


def test_sidecar_naming_no_model_says_what_to_add(tmp_path):
    path = constant_output_model(tmp_path / "m.onnx", {"output0": np.zeros((1, 4 + 2, 100))})
    (tmp_path / "m.json").write_text('{"classes": ["bus", "car"]}')
    with pytest.raises(ConfigError) as err:
        detector_for(path)
    assert err.value.key == "model.metadata" and f'"m.onnx": "{sha(path)}"' in err.value.problem


def test_copied_bundled_model_with_its_card_still_matches(tmp_path):
    """The record is by file name and content, not by folder: a copied model set keeps working."""
    for name in ("argos-traffic-v1.onnx", "argos-traffic-v1.json"):
        shutil.copy(MODELS / name, tmp_path / name)
    meta = read_metadata(tmp_path / "argos-traffic-v1.onnx")
    assert meta.classes and meta.source == [str(tmp_path / "argos-traffic-v1.json")]


@pytest.mark.parametrize(
    "text, what",
    [
        ("\x89PNG\r\n\x1a\n\x00\x00", "not a text file"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"classes": {"a": "car"}}', "classes must be"),
        ('{"input_size": "big"}', "input_size must be"),
        ('{"mean": "zero"}', "mean must be"),
        ('{"normalization": "0-2"}', "normalization must be"),
        ('{"sha256": {"m.onnx": "abc"}}', "64 hex digits"),
    ],
)
def test_malformed_sidecar_is_one_error_naming_the_file(tmp_path, text, what):
    path = constant_output_model(tmp_path / "m.onnx", {"output0": np.zeros((1, 4 + 2, 100))})
    (tmp_path / "m.json").write_bytes(text.encode("latin-1"))
    with pytest.raises(ConfigError) as err:
        read_metadata(path)
    assert err.value.key == "model.metadata" and what in err.value.problem and "m.json" in err.value.problem
