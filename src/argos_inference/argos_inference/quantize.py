"""fp32 ONNX + calibration images -> int8 QDQ ONNX (ONNX Runtime static quantisation).

Int8 weights, symmetric per output channel, in QDQ form. Activations: `int8` (symmetric, zero
point 0) is the portable choice: ONNX Runtime runs it and TensorRT's explicit quantisation reads
the same Q/DQ scales without a calibrator. `uint8` (asymmetric) is what ONNX Runtime's x86 CPU
kernels run fastest (measured about 2x faster than symmetric int8 here), but TensorRT rejects its
non-zero zero points.
The calibration images go through the detector's own preprocessing (calibration.py).

`quantize_checked` (`argos quantize`) calibrates on the user's footage (a folder of images or a
video), then runs fp32 and int8 through the same detector pipeline on held-out frames of that
footage and compares them (agreement.py). Below the agreement F1 threshold the int8 model is not
written unless forced; the figures go into the int8 model's sidecar card.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from argos_common.detections import Detections
from argos_common.params import ConfigError

from .agreement import Agreement, compare
from .calibration import CalibrationBatches, calibration_frames, calibration_images, held_out_mask, split_held_out
from .model_metadata import file_sha256, read_metadata, sidecar_path
from .onnx_model import input_shape, is_qdq, load_graph
from .preprocess import InputSpec, Preprocessor

CALIBRATION_METHODS = {
    "minmax": CalibrationMethod.MinMax,
    "entropy": CalibrationMethod.Entropy,
    "percentile": CalibrationMethod.Percentile,
}

ACTIVATION_TYPES = {"int8": QuantType.QInt8, "uint8": QuantType.QUInt8}
DEFAULT_MIN_F1 = 0.97
DEFAULT_HELD_OUT = 0.25
IOU_THRESHOLD = 0.5
# sidecar keys that describe how to read the model and hold for its int8 form too
_CARD_KEYS = ("name", "letterbox", "recommended", "input", "output", "opset", "architecture")


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


def _float_model(model: str | Path):
    graph = load_graph(model, key="--model")
    if is_qdq(graph):
        raise ValueError(f"{model} is already quantised (it has QuantizeLinear/DequantizeLinear nodes)")
    return graph


def quantize_model(
    model: str | Path,
    calibration: str | Path | Sequence[Path],
    output: str | Path,
    *,
    spec: InputSpec | None = None,
    limit: int = 0,
    method: str = "minmax",
    activations: str = "int8",
    keep_float_tail: bool = True,
) -> QuantizeReport:
    """`calibration`: a folder of images or the image files themselves. `spec`: the model's
    input spec (size defaults to the model's fixed input, RGB 0..1). `keep_float_tail`: leave the
    heads' last convs and the output decoding in float (see float_tail_nodes); off quantizes
    every node."""
    graph = _float_model(model)
    shape = input_shape(graph)
    if spec is None:
        if shape[2] <= 0 or shape[3] <= 0:
            raise ValueError(f"{model} has a dynamic input size; pass the input size")
        spec = InputSpec(shape[2], shape[3])
    if isinstance(calibration, (str, Path)):
        paths = calibration_images(calibration, limit)
    else:
        paths = list(calibration)[:limit] if limit > 0 else list(calibration)
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


class GuardrailError(Exception):
    """The int8 model disagrees with fp32 on the held-out frames: it was not written."""

    def __init__(self, message: str, agreement: Agreement):
        super().__init__(message)
        self.agreement = agreement


@dataclass(frozen=True)
class CheckedReport:
    quantize: QuantizeReport
    agreement: Agreement
    held_out_frames: int
    card: Path
    passed: bool


def detector_values(
    model: str | Path,
    metadata: str = "",
    labels: str = "",
    score_threshold: float = 0.3,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Inference parameters that run `model` with its own class names as labels: agreement is
    between two forms of one model, so it is counted per model class, before any class map."""
    graph = load_graph(model, key="--model")
    props = {p.key: p.value for p in graph.metadata_props}
    meta = read_metadata(model, props, metadata or None, labels or None)
    if not meta.classes:
        raise ConfigError(
            "--labels", f"{model} names no classes (no sidecar, no ONNX names): give a labels file, one name per line"
        )
    return {
        "engine": "onnxruntime",
        "classes": list(dict.fromkeys(meta.classes)),
        "model.path": str(model),
        "model.metadata": metadata,
        "model.labels": labels,
        "model.class_map": list(meta.classes),
        "score_threshold": score_threshold,
        **(overrides or {}),
    }


def _detect(values: dict[str, Any], paths: Sequence[Path]) -> tuple[list[Detections], dict]:
    import cv2

    from argos_common.params import resolve

    from .factory import create_detector
    from .params import PARAMS

    detector = create_detector(resolve(PARAMS, values))
    try:
        found = []
        for path in paths:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise ValueError(f"cannot read frame {path}")
            found.append(detector.detect([image])[0])
        return found, detector.describe()
    finally:
        detector.close()


def _card(model: Path, output: Path, sidecar: Path | None, described: dict, block: dict) -> dict:
    base: dict[str, Any] = {}
    if sidecar is not None:
        values = json.loads(sidecar.read_text())
        base = {k: values[k] for k in _CARD_KEYS if k in values}
    return {
        **base,
        "file": output.name,
        "sha256": {output.name: file_sha256(output)},
        "classes": described["class_map"],
        "layout": described["layout"],
        "input_size": described["input_size"],
        "color": described["color"],
        "mean": described["mean"],
        "std": described["std"],
        "quantization": block,
    }


def quantize_checked(
    model: str | Path,
    source: str | Path,
    output: str | Path,
    *,
    limit: int = 0,
    method: str = "minmax",
    activations: str = "int8",
    held_out: float = DEFAULT_HELD_OUT,
    min_f1: float = DEFAULT_MIN_F1,
    force: bool = False,
    metadata: str = "",
    labels: str = "",
    score_threshold: float = 0.3,
    overrides: dict[str, Any] | None = None,
    engine: str = "onnxruntime",
) -> CheckedReport:
    """Calibrate on the calibration part of `source` (folder of images or video), compare int8
    with fp32 on the held-out part, write `output` and its card `<output>.json` when the
    agreement F1 reaches `min_f1` (or `force`); GuardrailError otherwise, nothing written.
    `overrides`: further inference parameters (model.input_size, model.color, ...). `engine`:
    what runs the int8 model in the check: onnxruntime, or tensorrt (an int8 engine built from the
    QDQ file, on Jetson; not verified here) -- fp32 runs on onnxruntime either way."""
    model, output = Path(model), Path(output)
    _float_model(model)
    if engine == "tensorrt":
        from .tensorrt_engine import import_tensorrt

        if activations != "int8":
            raise ValueError(
                "TensorRT reads symmetric int8 Q/DQ scales only: use --activations int8 with --engine tensorrt"
            )
        import_tensorrt()  # a ConfigError before any footage is decoded
    elif engine != "onnxruntime":
        raise ValueError(f"--engine must be onnxruntime or tensorrt, got {engine!r}")
    held_out_mask(0, held_out)  # a bad fraction is reported before a video is decoded
    if not Path(source).exists():
        raise FileNotFoundError(f"calibration source not found: {source} (expected a folder of images or a video)")
    card_path = sidecar_path(output)
    fp32_sidecar = Path(metadata) if metadata else sidecar_path(model)
    if output.resolve() == model.resolve() or card_path.resolve() == fp32_sidecar.resolve():
        raise ValueError(f"--out {output} would overwrite the fp32 model {model} or its card {fp32_sidecar}")
    values = detector_values(model, metadata, labels, score_threshold, overrides)
    with tempfile.TemporaryDirectory(prefix="argos-quantize-") as scratch:
        frames = calibration_frames(source, limit, Path(scratch) / "frames")
        calibration, held = split_held_out(frames, held_out)
        reference, described = _detect(values, held)
        spec = InputSpec(
            described["input_size"][0],
            described["input_size"][1],
            described["color"],
            tuple(described["mean"]),
            tuple(described["std"]),
        )
        staged = Path(scratch) / output.name
        report = quantize_model(model, calibration, staged, spec=spec, method=method, activations=activations)
        # the int8 file is read exactly as fp32 was: same input, layout and class names
        int8_values = {
            **values,
            "model.path": str(staged),
            "model.metadata": "",
            "model.labels": "",
            "model.input_size": described["input_size"],
            "model.color": described["color"],
            "model.mean": described["mean"],
            "model.std": described["std"],
            "model.layout": described["layout"],
            "model.class_map": described["class_map"],
        }
        if engine == "tensorrt":
            # the staged file has the output's name and bytes, so the node finds this engine cached
            int8_values.update({"engine": "tensorrt", "model.precision": "int8"})
        candidate, _ = _detect(int8_values, held)
        agreement = compare(reference, candidate, IOU_THRESHOLD)
        f1 = agreement.overall.f1
        passed = f1 is not None and f1 >= min_f1
        if not passed and not force:
            if f1 is None:
                why = (
                    f"fp32 and int8 detect nothing on the {len(held)} held-out frames of {source}: "
                    "agreement cannot be measured"
                )
            else:
                why = f"int8 agreement F1 {f1:.3f} < {min_f1:g} on {len(held)} held-out frames of {source}"
            raise GuardrailError(f"{why}; {output} not written (--force writes it anyway)", agreement)
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staged), str(output))
    block = {
        "from": {"file": model.name, "sha256": file_sha256(model)},
        "format": "QDQ",
        "weights": "int8, symmetric, per output channel",
        "activations": "int8 symmetric" if activations == "int8" else "uint8 asymmetric",
        "method": method,
        "checked_on": "onnxruntime CPU" if engine == "onnxruntime" else "TensorRT int8 engine",
        "calibration": {"source": str(source), "frames": len(calibration), "held_out_frames": len(held)},
        "agreement": {
            **agreement.as_dict(),
            "score_threshold": score_threshold,
            "min_f1": min_f1,
            "passed": passed,
            "forced": bool(force and not passed),
        },
    }
    sidecar = fp32_sidecar if fp32_sidecar.is_file() else None  # the one the fp32 detector read
    card_path.write_text(json.dumps(_card(model, output, sidecar, described, block), indent=2) + "\n")
    return CheckedReport(
        QuantizeReport(output, report.calibration_images, report.quantized_nodes),
        agreement,
        len(held),
        card_path,
        passed,
    )
