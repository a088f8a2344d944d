"""ONNX Runtime engine: CPU here; CUDA / TensorRT execution providers where the installed
onnxruntime build offers them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from argos_common.params import ConfigError

from .decoders import OutputInfo
from .engine import Engine
from .onnx_model import load_graph

PATH_KEY = "model.path"
PROVIDERS_KEY = "model.providers"
# Preference order when model.providers is empty: the fastest the installed build can run.
PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
_ORT_INTEGER_TYPES = ("tensor(int32)", "tensor(int64)", "tensor(int8)", "tensor(uint8)")


def choose_providers(requested: Sequence[str], available: Sequence[str]) -> list[str]:
    if not requested:
        return [p for p in PREFERRED_PROVIDERS if p in available] or list(available)
    missing = [p for p in requested if p not in available]
    if missing:
        raise ConfigError(
            PROVIDERS_KEY, f"{', '.join(missing)} not available in this onnxruntime (available: {', '.join(available)})"
        )
    return list(requested)


def check_model_file(path: str | Path) -> Path:
    if not str(path):
        raise ConfigError(PATH_KEY, "no model file given (engine needs model.path)")
    path = Path(path)
    if not path.is_file():
        raise ConfigError(PATH_KEY, f"model file not found: {path}")
    return path


class OrtEngine(Engine):
    name = "onnxruntime"

    def __init__(
        self, path: str | Path, providers: Sequence[str] = (), intra_op_threads: int = 0, spin_wait: bool = False
    ):
        self.path = Path(path)
        self.requested_providers = list(providers)
        self.intra_op_threads = int(intra_op_threads)
        self.spin_wait = bool(spin_wait)
        self._session: ort.InferenceSession | None = None

    def load(self) -> None:
        check_model_file(self.path)
        # Parsed by the onnx library first: onnxruntime's native loader has been seen to abort the
        # whole process on a corrupt file (in a process that also loaded ROS / GLib libraries).
        load_graph(self.path, PATH_KEY)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self.intra_op_threads > 0:
            options.intra_op_num_threads = self.intra_op_threads
        # onnxruntime's worker threads busy-wait for work by default; beside the graph's other
        # threads on a small CPU that steals the cores they need (measured on 2 cores with one busy
        # Python thread: 61 ms per frame spinning, 41 ms not)
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if self.spin_wait else "0")
        providers = choose_providers(self.requested_providers, ort.get_available_providers())
        try:
            self._session = ort.InferenceSession(str(self.path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own untyped errors for unreadable files
            raise ConfigError(
                PATH_KEY,
                f"{self.path} is not a readable ONNX model (onnxruntime: "
                f"{str(exc).strip().splitlines()[0].replace(str(self.path), '<file>')[:300]})",
            ) from None
        inputs = self._session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise ConfigError(
                PATH_KEY,
                f"{self.path}: expected one image input [N, 3, H, W], got {[(i.name, i.shape) for i in inputs]}",
            )
        self._input = inputs[0]
        self._input_dtype = np.float16 if self._input.type == "tensor(float16)" else np.float32

    @property
    def session(self) -> ort.InferenceSession:
        if self._session is None:
            raise RuntimeError("OrtEngine used before load()")
        return self._session

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(d if isinstance(d, int) else -1 for d in self.session.get_inputs()[0].shape)

    @property
    def input_dtype(self) -> str:
        return np.dtype(self._input_dtype).name

    def output_infos(self, shapes: Sequence[tuple[int, ...]] | None = None) -> list[OutputInfo]:
        """Outputs with their declared shapes, or with `shapes` (from a real run) when given."""
        outs = self.session.get_outputs()
        return [
            OutputInfo(
                o.name,
                tuple(shapes[i]) if shapes else tuple(d if isinstance(d, int) else -1 for d in o.shape),
                o.type in _ORT_INTEGER_TYPES,
            )
            for i, o in enumerate(outs)
        ]

    def metadata_props(self) -> dict[str, str]:
        return dict(self.session.get_modelmeta().custom_metadata_map)

    def infer(self, batch: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, {self._input.name: batch.astype(self._input_dtype, copy=False)})

    def describe(self) -> dict:
        described: dict[str, Any] = {"backend": self.name, "model": str(self.path)}
        if self._session is not None:
            described.update(
                providers=self._session.get_providers(),
                input_shape=list(self.input_shape),
                input_dtype=self.input_dtype,
                outputs=[{"name": o.name, "shape": list(o.shape)} for o in self.output_infos()],
            )
        return described

    def close(self) -> None:
        self._session = None
