"""A small YOLO-shaped network for benchmarking while no trained detector is available.

Random (seeded) weights: it has the compute pattern and output layout of a YOLOv8-style detector
(strided 3x3 conv backbone, 1x1 heads at strides 8/16/32, output [1, 4+C, N]) but detects
nothing; its numbers are a speed measurement, not a model. ReLU activations (not SiLU) so that
ONNX Runtime fuses conv+activation in both fp32 and int8.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# (out channels, stride) per 3x3 conv; the outputs of the marked layers feed a detection head
BACKBONE = ((16, 2), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (256, 2))
HEAD_LAYERS = (4, 6, 7)  # strides 8, 16, 32
CLASS_BIAS = -4.0  # class logits start low, as in a trained detector's background


def build_yolo_shaped_model(
    path: str | Path, input_size: int = 320, num_classes: int = 11, seed: int = 0, opset: int = 17
) -> Path:
    rng = np.random.default_rng(seed)
    nodes, initializers = [], []

    def weight(name: str, array: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(array.astype(np.float32), name))
        return name

    current, channels, heads = "images", 3, []
    for index, (out_channels, stride) in enumerate(BACKBONE):
        fan_in = channels * 9
        w = weight(f"w{index}", rng.normal(0.0, np.sqrt(2.0 / fan_in), (out_channels, channels, 3, 3)))
        b = weight(f"b{index}", rng.normal(0.0, 0.05, out_channels))
        nodes.append(
            helper.make_node(
                "Conv",
                [current, w, b],
                [f"conv{index}"],
                kernel_shape=[3, 3],
                strides=[stride, stride],
                pads=[1, 1, 1, 1],
            )
        )
        nodes.append(helper.make_node("Relu", [f"conv{index}"], [f"act{index}"]))
        current, channels = f"act{index}", out_channels
        if index in HEAD_LAYERS:
            heads.append((current, channels))
    rows = 4 + num_classes
    flat = []
    for index, (source, head_channels) in enumerate(heads):
        w = weight(f"head_w{index}", rng.normal(0.0, np.sqrt(1.0 / head_channels), (rows, head_channels, 1, 1)))
        b = weight(f"head_b{index}", np.concatenate([np.zeros(4), np.full(num_classes, CLASS_BIAS)]))
        nodes.append(helper.make_node("Conv", [source, w, b], [f"head{index}"], kernel_shape=[1, 1]))
        shape = weight(f"head_shape{index}", np.array([1, rows, -1], dtype=np.float32))
        nodes.append(helper.make_node("Cast", [shape], [f"head_shape_i{index}"], to=TensorProto.INT64))
        nodes.append(helper.make_node("Reshape", [f"head{index}", f"head_shape_i{index}"], [f"flat{index}"]))
        flat.append(f"flat{index}")
    nodes.append(helper.make_node("Concat", flat, ["raw"], axis=2))
    nodes.append(helper.make_node("Sigmoid", ["raw"], ["unit"]))
    # boxes: sigmoid * input size (cx, cy, w, h in pixels); classes: sigmoid scores
    scale = np.concatenate([np.full(4, float(input_size)), np.ones(num_classes)]).reshape(1, rows, 1)
    nodes.append(helper.make_node("Mul", ["unit", weight("row_scale", scale)], ["output0"]))
    graph = helper.make_graph(
        nodes,
        "yolo_shaped_bench",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, input_size, input_size])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, rows, None])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="argos-bench")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, str(path))
    return path
