"""Facts about an ONNX file read with the onnx library (no runtime needed): input shape, whether
it is explicitly quantised (QDQ). Used by the TensorRT build and by `argos quantize`."""

from __future__ import annotations

from pathlib import Path

import onnx

from argos_common.params import ConfigError

QDQ_OPS = frozenset({"QuantizeLinear", "DequantizeLinear"})


def load_graph(path: str | Path, key: str = "model.path") -> onnx.ModelProto:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(key, f"model file not found: {path}")
    try:
        return onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf decode errors have no common public type
        raise ConfigError(key, f"{path} is not a readable ONNX model: {str(exc).splitlines()[0][:200]}") from None


def input_shape(model: onnx.ModelProto) -> tuple[int, ...]:
    """Shape of the first graph input that is not an initializer; -1 for dynamic dimensions."""
    initializers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if not inputs:
        raise ConfigError("model.path", "the model has no input")
    dims = inputs[0].type.tensor_type.shape.dim
    return tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else -1 for d in dims)


def is_qdq(model: onnx.ModelProto) -> bool:
    """True when the graph carries explicit QuantizeLinear/DequantizeLinear pairs (TensorRT then
    takes the int8 scales from the model and needs no calibrator)."""
    return any(node.op_type in QDQ_OPS for node in model.graph.node)


def with_dynamic_batch(model: onnx.ModelProto, name: str = "batch") -> onnx.ModelProto:
    """The same model with a symbolic first dimension on its inputs and outputs, so one engine call
    can take the frames of several cameras (shared inference). The weights and every operation stay
    as they are; intermediate shapes are dropped for onnxruntime to infer again. Raises ValueError
    when the graph itself fixes the batch (the model then rejects a batch of 2)."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    initializers = {i.name for i in out.graph.initializer}
    for value in [*[i for i in out.graph.input if i.name not in initializers], *out.graph.output]:
        dims = value.type.tensor_type.shape.dim
        if dims:
            dims[0].ClearField("dim_value")
            dims[0].dim_param = name
    del out.graph.value_info[:]
    onnx.checker.check_model(out)
    return out
