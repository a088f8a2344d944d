"""The TensorRT engine's shared parts (engine cache key, calibration batching, QDQ detection, input
shape resolution) run here; building and running an engine needs tensorrt and skips without it."""

import json
from dataclasses import replace

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from argos_common.params import ConfigError, resolve
from argos_inference.calibration import CalibrationBatches, batch_indices, calibration_images
from argos_inference.engine_cache import (
    EngineKey,
    cached_engine_problem,
    engine_key,
    engine_path,
    key_record_path,
    write_engine,
)
from argos_inference.model_metadata import file_sha256
from argos_inference.onnx_model import input_shape, is_qdq, load_graph
from argos_inference.params import PARAMS
from argos_inference.preprocess import InputSpec, Preprocessor
from argos_inference.tensorrt_engine import _check, _ok, engine_input, host_view


def conv_model(path, shape=(1, 3, 32, 48)):
    w = numpy_helper.from_array(np.ones((2, 3, 1, 1), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["images", "w"], ["out"])],
        "conv",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
        [w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_engine_key_changes_with_every_component_and_is_stable(tmp_path):
    model = conv_model(tmp_path / "m.onnx")
    base = engine_key(model, "10.3.0", "Orin", "8.7", "fp16", (1, 3, 32, 48))
    assert base == engine_key(model, "10.3.0", "Orin", "8.7", "fp16", [1, 3, 32, 48])
    variants = [
        engine_key(model, "10.4.0", "Orin", "8.7", "fp16", (1, 3, 32, 48)),
        engine_key(model, "10.3.0", "Xavier", "8.7", "fp16", (1, 3, 32, 48)),
        engine_key(model, "10.3.0", "Orin", "7.2", "fp16", (1, 3, 32, 48)),
        engine_key(model, "10.3.0", "Orin", "8.7", "int8", (1, 3, 32, 48)),
        engine_key(model, "10.3.0", "Orin", "8.7", "fp16", (2, 3, 32, 48)),
    ]
    other = conv_model(tmp_path / "other.onnx", (1, 3, 32, 64))
    variants.append(engine_key(other, "10.3.0", "Orin", "8.7", "fp16", (1, 3, 32, 48)))
    cache = tmp_path / "calib.cache"
    cache.write_bytes(b"TRT-int8-cache")
    variants.append(engine_key(model, "10.3.0", "Orin", "8.7", "fp16", (1, 3, 32, 48), cache))
    digests = {base.digest()} | {v.digest() for v in variants}
    assert len(digests) == 1 + len(variants)
    path = engine_path(tmp_path / "engines", tmp_path / "my model!.onnx", base)
    assert path.parent == tmp_path / "engines"
    assert path.name.startswith("my_model_-fp16-1x3x32x48-") and path.name.endswith(".engine")


def test_engine_key_hashes_the_model_bytes(tmp_path):
    model = conv_model(tmp_path / "m.onnx")
    first = engine_key(model, "10", "gpu", "8.7", "fp16", (1, 3, 32, 48))
    model.write_bytes(model.read_bytes() + b"\0")
    assert engine_key(model, "10", "gpu", "8.7", "fp16", (1, 3, 32, 48)).model_sha256 != first.model_sha256
    assert isinstance(first, EngineKey) and len(first.model_sha256) == 64


def test_cached_engine_is_used_only_when_its_key_record_matches(tmp_path):
    model = conv_model(tmp_path / "m.onnx")
    key = engine_key(model, "10.3.0", "Orin", "8.7", "int8", (1, 3, 32, 48))
    engine = engine_path(tmp_path / "engines", model, key)
    assert cached_engine_problem(engine, key) == "no cached engine"
    write_engine(engine, key, b"serialized engine bytes")
    assert engine.read_bytes() == b"serialized engine bytes" and cached_engine_problem(engine, key) is None
    assert sorted(p.name for p in engine.parent.iterdir()) == sorted([engine.name, key_record_path(engine).name])
    # the same file name under another key (an engine copied from a device with another GPU, or a
    # digest prefix clash): the record says what differs, so the engine is rebuilt
    moved = replace(key, gpu_name="Xavier", compute_capability="7.2")
    problem = cached_engine_problem(engine, moved)
    assert (
        problem is not None
        and "gpu_name 'Orin' -> 'Xavier'" in problem
        and "compute_capability '8.7' -> '7.2'" in problem
    )
    assert "tensorrt_version" in cached_engine_problem(engine, replace(key, tensorrt_version="10.4.0"))
    assert "precision" in cached_engine_problem(engine, replace(key, precision="fp16"))
    assert "model_sha256" in cached_engine_problem(engine, replace(key, model_sha256="0" * 64))
    engine.write_bytes(b"serialized engine by")  # a copy or build cut off half-way
    assert "changed since it was built" in cached_engine_problem(engine, key)
    key_record_path(engine).write_text("{not json")
    assert "unreadable key record" in cached_engine_problem(engine, key)
    key_record_path(engine).unlink()
    assert "no key record" in cached_engine_problem(engine, key)
    record = key_record_path(engine)
    write_engine(engine, key, b"rebuilt")
    assert json.loads(record.read_text())["key"] == key.fields() and cached_engine_problem(engine, key) is None


def test_cuda_and_tensorrt_status_checks_name_the_call():
    # cuda-python returns (status, *values); status 0 is cudaSuccess
    assert _check((0, 1234), "cudaMalloc") == 1234 and _check((0,), "cudaFree") is None
    assert _check((0, "a", "b"), "x") == ["a", "b"]
    with pytest.raises(RuntimeError, match=r"cudaMemcpyAsync \(input to the device\) failed: 700 \(CUDA error 700\)"):
        _check((700,), "cudaMemcpyAsync (input to the device)")
    _ok(True, "execute_async_v3 (enqueue)")
    with pytest.raises(RuntimeError, match=r"TensorRT execute_async_v3 \(enqueue\) failed"):
        _ok(False, "execute_async_v3 (enqueue)")


def test_host_view_is_the_memory_at_the_address():
    import ctypes

    buffer = (ctypes.c_uint8 * 64)()  # stands in for a cudaMallocHost block: host memory by address
    view = host_view(ctypes.addressof(buffer), (2, 3, 2), np.dtype(np.float32))
    assert view.shape == (2, 3, 2) and view.dtype == np.float32
    np.copyto(view, np.arange(12, dtype=np.float32).reshape(2, 3, 2))
    assert np.frombuffer(bytes(buffer)[:48], np.float32).tolist() == list(range(12))
    assert bytes(buffer)[48:] == bytes(16)


@pytest.mark.parametrize(
    "count, size, expected",
    [
        (5, 2, [[0, 1], [2, 3], [4, 0]]),
        (4, 2, [[0, 1], [2, 3]]),
        (1, 3, [[0, 0, 0]]),
        (3, 1, [[0], [1], [2]]),
    ],
)
def test_calibration_batches_are_full_and_use_every_image(count, size, expected):
    assert batch_indices(count, size) == expected


def test_calibration_batches_are_the_detector_preprocessing(tmp_path):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (40, 60, 3), dtype=np.uint8) for _ in range(3)]
    for i, image in enumerate(images):
        cv2.imwrite(str(tmp_path / f"{i}.png"), image)
    (tmp_path / "notes.txt").write_text("not an image")
    paths = calibration_images(tmp_path)
    assert [p.name for p in paths] == ["0.png", "1.png", "2.png"]
    preprocessor = Preprocessor(InputSpec(32, 32, "rgb"))
    batches = list(CalibrationBatches(paths, preprocessor, batch_size=2))
    assert [b.shape for b in batches] == [(2, 3, 32, 32)] * 2
    expected, _ = preprocessor([images[2], images[0]])
    np.testing.assert_array_equal(batches[1], expected)


def test_calibration_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        calibration_images(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="no images"):
        calibration_images(tmp_path)


def test_qdq_detection_and_input_shape(tmp_path):
    graph = load_graph(conv_model(tmp_path / "m.onnx", (-1, 3, 32, 48)))
    assert input_shape(graph) == (-1, 3, 32, 48) and not is_qdq(graph)
    graph.graph.node.append(helper.make_node("QuantizeLinear", ["out", "s"], ["q"]))
    assert is_qdq(graph)


def test_engine_input_shape_resolution(tmp_path):
    fixed = load_graph(conv_model(tmp_path / "fixed.onnx"))
    params = resolve(PARAMS, {"model.path": str(tmp_path / "fixed.onnx")})
    shape, spec = engine_input(params, fixed)
    assert shape == (1, 3, 32, 48) and (spec.height, spec.width, spec.color) == (32, 48, "rgb")
    dynamic_path = conv_model(tmp_path / "dynamic.onnx", (-1, 3, -1, -1))
    params = resolve(PARAMS, {"model.path": str(dynamic_path), "model.batch": 4})
    with pytest.raises(ConfigError) as err:
        engine_input(params, load_graph(dynamic_path))
    assert err.value.key == "model.input_size"
    record = {"dynamic.onnx": file_sha256(dynamic_path)}
    (tmp_path / "dynamic.json").write_text(json.dumps({"sha256": record, "input_size": [64, 96], "color": "bgr"}))
    shape, spec = engine_input(params, load_graph(dynamic_path))
    assert shape == (4, 3, 64, 96) and spec.color == "bgr"


def test_tensorrt_engine_without_tensorrt_is_a_config_error(tmp_path):
    try:
        import tensorrt  # noqa: F401

        pytest.skip("tensorrt is importable here; the error path does not apply")
    except ImportError:
        pass
    from argos_inference.factory import create_detector

    params = resolve(PARAMS, {"engine": "tensorrt", "model.path": str(conv_model(tmp_path / "m.onnx"))})
    with pytest.raises(ConfigError) as err:
        create_detector(params)
    assert err.value.key == "engine" and "tensorrt" in err.value.problem


def test_tensorrt_builds_and_caches_an_engine(tmp_path, caplog):
    pytest.importorskip("tensorrt", reason="TensorRT is not installable on this machine (Jetson / NVIDIA hosts only)")
    pytest.importorskip("cuda", reason="cuda-python is needed for TensorRT device buffers")
    from argos_inference.tensorrt_engine import TensorRTEngine

    engine = TensorRTEngine(conv_model(tmp_path / "m.onnx"), (1, 3, 32, 48), "fp16", str(tmp_path / "cache"))
    engine.load()
    out = engine.infer(np.ones((1, 3, 32, 48), np.float32))
    np.testing.assert_allclose(out[0], 3.0, rtol=1e-2)
    assert engine.engine_file.is_file() and key_record_path(engine.engine_file).is_file()
    engine.close()
    # a cached engine whose record names another GPU is rebuilt, with a log line saying why
    record = key_record_path(engine.engine_file)
    values = json.loads(record.read_text())
    values["key"]["gpu_name"] = "another GPU"
    record.write_text(json.dumps(values))
    again = TensorRTEngine(conv_model(tmp_path / "m.onnx"), (1, 3, 32, 48), "fp16", str(tmp_path / "cache"))
    with caplog.at_level("WARNING"):
        again.load()
    assert "not used: built for another gpu_name 'another GPU'" in caplog.text and "rebuilding" in caplog.text
    np.testing.assert_allclose(again.infer(np.ones((1, 3, 32, 48), np.float32))[0], 3.0, rtol=1e-2)
    again.close()
