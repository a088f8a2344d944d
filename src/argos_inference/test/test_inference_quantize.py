"""`argos quantize`: a small conv model built here, calibrated on images written here; the int8
QDQ model must stay close to fp32 and carry per-channel weight scales."""

import argparse

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from argos_inference.commands import register
from argos_inference.preprocess import InputSpec, Preprocessor
from argos_inference.quantize import quantize_model


def small_conv_model(path, seed=0):
    rng = np.random.default_rng(seed)
    inits = [
        numpy_helper.from_array((rng.normal(0, 0.3, (8, 3, 3, 3))).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.normal(0, 0.1, 8).astype(np.float32), "b1"),
        numpy_helper.from_array((rng.normal(0, 0.3, (6, 8, 3, 3))).astype(np.float32), "w2"),
        numpy_helper.from_array(rng.normal(0, 0.1, 6).astype(np.float32), "b2"),
    ]
    nodes = [
        helper.make_node("Conv", ["images", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["out"], pads=[1, 1, 1, 1]),
    ]
    graph = helper.make_graph(
        nodes,
        "small",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 6, 16, 16])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def scene(rng):
    image = cv2.GaussianBlur(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), (0, 0), 2)
    cv2.rectangle(
        image,
        tuple(int(v) for v in rng.integers(0, 30, 2)),
        (50, 40),
        tuple(int(v) for v in rng.integers(0, 255, 3)),
        -1,
    )
    return image


@pytest.fixture
def calibration(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "calib"
    folder.mkdir()
    for i in range(12):
        cv2.imwrite(str(folder / f"{i:02d}.png"), scene(rng))
    return folder


def run(path, batch, fused=True):
    """fused=False: onnxruntime executes QuantizeLinear/DequantizeLinear as written around float
    convolutions (the QDQ model's own arithmetic, which TensorRT computes); fused: its int8 CPU
    kernels, which on CPUs without VNNI add u8 x s8 pairs in int16 and saturate for symmetric
    int8 activations, so only the uint8 variant (made for onnxruntime) is checked that way."""
    options = ort.SessionOptions()
    if not fused:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {"images": batch})[0]


@pytest.mark.parametrize("activations", ["int8", "uint8"])
def test_int8_qdq_model_is_close_to_fp32(tmp_path, calibration, activations):
    fp32 = small_conv_model(tmp_path / "fp32.onnx")
    report = quantize_model(fp32, calibration, tmp_path / "int8.onnx", activations=activations)
    assert report.calibration_images == 12 and report.quantized_nodes > 0
    quantized = onnx.load(str(report.output))
    ops = {n.op_type for n in quantized.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops
    weight_scales = [i for i in quantized.graph.initializer if i.name.startswith("w1") and "scale" in i.name]
    assert weight_scales and max(len(numpy_helper.to_array(s).reshape(-1)) for s in weight_scales) == 8  # per channel
    if activations == "int8":  # symmetric: every zero point 0, as TensorRT requires
        zero_points = [numpy_helper.to_array(i) for i in quantized.graph.initializer if "zero_point" in i.name]
        assert zero_points and all(not z.any() for z in zero_points)
    batch, _ = Preprocessor(InputSpec(32, 32))([scene(np.random.default_rng(99))])
    reference, approx = run(fp32, batch), run(report.output, batch, fused=activations == "uint8")
    error = np.sqrt(np.mean((reference - approx) ** 2)) / np.sqrt(np.mean(reference**2))
    assert error < 0.05


def argos(argv: list[str]) -> int:
    """`argos <argv>` with the command this package registers on the argos command line."""
    parser = argparse.ArgumentParser(prog="argos")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_quantize_command_errors(tmp_path, calibration, capsys):
    fp32 = small_conv_model(tmp_path / "fp32.onnx")
    out = str(tmp_path / "x.onnx")
    assert argos(["quantize", "--model", str(fp32), "--calib", str(tmp_path / "none"), "--out", out]) == 2
    assert "calibration source not found" in capsys.readouterr().err
    report = quantize_model(fp32, calibration, tmp_path / "q.onnx")
    assert argos(["quantize", "--model", str(report.output), "--calibration", str(calibration), "--out", out]) == 2
    assert "already quantised" in capsys.readouterr().err
    # not a detector: no class names to compare per class, so no check and no file
    assert argos(["quantize", "--model", str(fp32), "--calibration", str(calibration), "--out", out]) == 2
    assert "names no classes" in capsys.readouterr().err and not (tmp_path / "x.onnx").exists()
    tensorrt = [
        "quantize",
        "--model",
        str(fp32),
        "--calibration",
        str(calibration),
        "--out",
        out,
        "--engine",
        "tensorrt",
    ]
    assert argos([*tensorrt, "--activations", "uint8"]) == 2
    assert "--activations int8" in capsys.readouterr().err
    try:
        import tensorrt  # noqa: F401
    except ImportError:  # here: the check on a TensorRT engine stops before any work, naming why
        assert argos(tensorrt) == 2
        assert "tensorrt needs the tensorrt and cuda-python modules" in capsys.readouterr().err


def test_float_tail_keeps_the_decoding_after_the_last_conv_in_float():
    from onnx import TensorProto, helper

    from argos_inference.quantize import float_tail_nodes

    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 1, 1], [0.1] * 12)
    w2 = helper.make_tensor("w2", TensorProto.FLOAT, [4, 4, 1, 1], [0.1] * 16)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["a"], name="body_conv"),
        helper.make_node("Relu", ["a"], ["b"], name="body_relu"),
        helper.make_node("Conv", ["b", "w2"], ["c"], name="head_conv"),
        helper.make_node("Sigmoid", ["c"], ["d"], name="decode_sigmoid"),
        helper.make_node("Mul", ["d", "d"], ["y"], name="decode_mul"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 4, 4])],
        [w, w2],
    )
    assert float_tail_nodes(helper.make_model(graph)) == ["decode_mul", "decode_sigmoid", "head_conv"]
