"""fp32 ONNX + calibration images -> int8 QDQ ONNX (ONNX Runtime static quantisation).

Int8 weights, symmetric per output channel, in QDQ form. Activations: `int8` (symmetric, zero
point 0) is the portable choice: ONNX Runtime runs it and TensorRT's explicit quantisation reads
the same Q/DQ scales without a calibrator. `uint8` (asymmetric) is what ONNX Runtime's x86 CPU
kernels run fastest (measured about 2x faster than symmetric int8 here), but TensorRT rejects its
non-zero zero points.
The calibration images go through the detector's own preprocessing (calibration.py).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from .calibration import CalibrationBatches, calibration_images
from .onnx_model import input_shape, is_qdq, load_graph
from .preprocess import InputSpec, Preprocessor

CALIBRATION_METHODS = {
    "minmax": CalibrationMethod.MinMax,
    "entropy": CalibrationMethod.Entropy,
    "percentile": CalibrationMethod.Percentile,
}

ACTIVATION_TYPES = {"int8": QuantType.QInt8, "uint8": QuantType.QUInt8}


class BatchReader(CalibrationDataReader):
    """onnxruntime's calibration reader over CalibrationBatches (one model input)."""

    def __init__(self, input_name: str, batches: CalibrationBatches):
        self.input_name = input_name
        self._batches = batches
        self._iterator = iter(batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._iterator, None)
        return None if batch is None else {self.input_name: batch}

    def rewind(self) -> None:
        self._iterator = iter(self._batches)


@dataclass(frozen=True)
class QuantizeReport:
    output: Path
    calibration_images: int
    quantized_nodes: int


def float_tail_nodes(model_proto) -> list[str]:
    """Names of the nodes with no Conv downstream: the detection heads' last convs and the decoding
    after them. They stay float: a YOLO output tensor mixes box coordinates in pixels (0..640)
    with scores (0..1), and one int8 scale for both wipes out the scores."""
    nodes = list(model_proto.graph.node)
    consumers: dict[str, list[int]] = {}
    for index, node in enumerate(nodes):
        for name in node.input:
            consumers.setdefault(name, []).append(index)
    conv_downstream = [False] * len(nodes)
    # reverse topological order (ONNX graphs are topologically sorted): children are known first
    for index in range(len(nodes) - 1, -1, -1):
        conv_downstream[index] = any(
            nodes[c].op_type == "Conv" or conv_downstream[c]
            for out in nodes[index].output
            for c in consumers.get(out, [])
        )
    tail = sorted(n.name for n, below in zip(nodes, conv_downstream) if not below and n.op_type != "Constant")
    # a network that is nothing but a head (no Conv outside the tail) is quantized whole
    body_convs = [n for n, below in zip(nodes, conv_downstream) if n.op_type == "Conv" and below]
    return tail if body_convs else []


def quantize_model(
    model: str | Path,
    calibration_dir: str | Path,
    output: str | Path,
    *,
    spec: InputSpec | None = None,
    limit: int = 0,
    method: str = "minmax",
    activations: str = "int8",
    keep_float_tail: bool = True,
) -> QuantizeReport:
    """`spec`: the model's input spec (size defaults to the model's fixed input, RGB 0..1).
    `keep_float_tail`: leave the heads' last convs and the output decoding in float (see
    float_tail_nodes); off quantizes every node."""
    graph = load_graph(model, key="--model")
    if is_qdq(graph):
        raise ValueError(f"{model} is already quantised (it has QuantizeLinear/DequantizeLinear nodes)")
    shape = input_shape(graph)
    if spec is None:
        if shape[2] <= 0 or shape[3] <= 0:
            raise ValueError(f"{model} has a dynamic input size; pass the input size")
        spec = InputSpec(shape[2], shape[3])
    paths = calibration_images(calibration_dir, limit)
    initializers = {i.name for i in graph.graph.initializer}
    input_name = next(i.name for i in graph.graph.input if i.name not in initializers)
    batches = CalibrationBatches(paths, Preprocessor(spec), shape[0] if shape[0] > 0 else 1)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        # shape inference + graph optimisation first, as onnxruntime recommends for static quantisation
        quant_pre_process(str(model), str(prepared), skip_symbolic_shape=True)
        excluded = []
        if keep_float_tail:
            # onnxruntime excludes nodes by name: name the unnamed ones so "" excludes nothing else
            prepared_graph = onnx.load(str(prepared))
            for index, node in enumerate(prepared_graph.graph.node):
                node.name = node.name or f"{node.op_type}_{index}"
            onnx.save(prepared_graph, str(prepared))
            excluded = float_tail_nodes(prepared_graph)
        quantize_static(
            str(prepared),
            str(output),
            BatchReader(input_name, batches),
            nodes_to_exclude=excluded,
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=ACTIVATION_TYPES[activations],
            weight_type=QuantType.QInt8,
            calibrate_method=CALIBRATION_METHODS[method],
            extra_options={"ActivationSymmetric": activations == "int8", "WeightSymmetric": True},
        )
    quantized = load_graph(output, key="--out")
    count = sum(node.op_type == "QuantizeLinear" for node in quantized.graph.node)
    return QuantizeReport(output, len(paths), count)
