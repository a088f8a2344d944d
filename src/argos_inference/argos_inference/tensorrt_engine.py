"""TensorRT engine (Jetson / NVIDIA GPUs). NOT VERIFIED HERE: TensorRT and the CUDA bindings are
not installable on the development machines, so this module is kept to the calls into TensorRT and
CUDA; the input shape, QDQ detection, engine cache key and calibration batches it uses are shared
modules tested here (onnx_model, engine_cache, calibration, preprocess).

Written against the TensorRT 10 Python API (named I/O tensors, execute_async_v3) and
cuda-python's runtime bindings for device memory, page-locked (pinned) host buffers and the CUDA
stream. Every CUDA call's status and every TensorRT call that reports success as a boolean
(set_input_shape, set_tensor_address, execute_async_v3) is checked and turned into an error
naming the call; a cached engine is used only when its key record matches (engine_cache.py).
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from argos_common.params import ConfigError

from .calibration import CalibrationBatches, calibration_images
from .decoders import OutputInfo
from .dnn_builder import resolve_batch, resolve_input_spec
from .engine import Engine
from .engine_cache import cached_engine_problem, engine_key, engine_path, write_engine
from .model_metadata import read_metadata
from .onnx_model import input_shape as onnx_input_shape
from .onnx_model import is_qdq, load_graph
from .preprocess import InputSpec, Preprocessor

log = logging.getLogger(__name__)


def import_tensorrt():
    """(tensorrt, cuda runtime) modules, or a ConfigError saying why not."""
    try:
        import tensorrt as trt

        try:
            from cuda.bindings import runtime as cudart
        except ImportError:
            from cuda import cudart
    except ImportError as exc:
        raise ConfigError(
            "engine",
            f"tensorrt needs the tensorrt and cuda-python modules ({exc}); "
            "use engine: onnxruntime on machines without TensorRT",
        ) from None
    return trt, cudart


def _check(result, call: str):
    """cuda-python calls return (error, *values): the values, or a RuntimeError naming `call`."""
    error, *values = result if isinstance(result, tuple) else (result,)
    if int(error) != 0:
        raise RuntimeError(f"{call} failed: {error} (CUDA error {int(error)})")
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def _ok(succeeded: bool, call: str) -> None:
    """TensorRT calls that report success as a boolean (details go to the TensorRT logger)."""
    if not succeeded:
        raise RuntimeError(f"TensorRT {call} failed (see the TensorRT log lines above)")


def _gpu(cudart) -> tuple[str, str]:
    """(name, compute capability "major.minor") of the current CUDA device."""
    device = _check(cudart.cudaGetDevice(), "cudaGetDevice")
    props = _check(cudart.cudaGetDeviceProperties(device), "cudaGetDeviceProperties")
    name = props.name.decode(errors="replace").rstrip("\0") if isinstance(props.name, bytes) else str(props.name)
    return name, f"{props.major}.{props.minor}"


def host_view(pointer: int, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A numpy array over `prod(shape)` items of `dtype` of host memory at address `pointer`."""
    nbytes = int(np.prod(shape)) * dtype.itemsize
    raw = np.ctypeslib.as_array((ctypes.c_uint8 * max(nbytes, 1)).from_address(pointer))
    return raw[:nbytes].view(dtype).reshape(shape)


def _pinned(cudart, shape: tuple[int, ...], dtype: np.dtype) -> tuple[int, np.ndarray]:
    """A page-locked host buffer and a numpy view of it: asynchronous copies from pageable memory
    are staged and synchronous in CUDA, pinned ones overlap with the stream."""
    nbytes = max(int(np.prod(shape)) * dtype.itemsize, 1)
    pointer = int(_check(cudart.cudaMallocHost(nbytes), "cudaMallocHost"))
    return pointer, host_view(pointer, shape, dtype)


def engine_input(params: Mapping[str, Any], graph) -> tuple[tuple[int, int, int, int], InputSpec]:
    """Concrete (batch, 3, H, W) the engine is built for and the input spec calibration uses:
    the same resolution (parameters > model > metadata) as every other engine."""
    model_shape = onnx_input_shape(graph)
    meta = read_metadata(
        params["model.path"],
        {p.key: p.value for p in graph.metadata_props},
        params["model.metadata"] or None,
        params["model.labels"] or None,
    )
    spec = resolve_input_spec(params, tuple(model_shape), "float32", meta)
    batch, _ = resolve_batch(model_shape[0] if model_shape else -1, params["model.batch"])
    return (batch, 3, spec.height, spec.width), spec


def _calibrator(trt, cudart, batches: CalibrationBatches, cache_path: Path):
    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self):
            super().__init__()
            self._batches = iter(batches)
            self._device = None

        def get_batch_size(self):
            return batches.batch_size

        def get_batch(self, names):
            batch = next(self._batches, None)
            if batch is None:
                return None
            batch = np.ascontiguousarray(batch, dtype=np.float32)
            if self._device is None:
                self._device = _check(cudart.cudaMalloc(batch.nbytes), "cudaMalloc (calibration batch)")
            _check(
                cudart.cudaMemcpy(
                    self._device, batch.ctypes.data, batch.nbytes, cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
                ),
                "cudaMemcpy (calibration batch to the device)",
            )
            return [int(self._device)]

        def read_calibration_cache(self):
            return cache_path.read_bytes() if cache_path.is_file() else None

        def write_calibration_cache(self, cache):
            cache_path.parent.mkdir(parents=True, exist_ok=True)
            cache_path.write_bytes(bytes(cache))

    return EntropyCalibrator()


class TensorRTEngine(Engine):
    name = "tensorrt"

    def __init__(
        self,
        model_path: str | Path,
        shape: tuple[int, int, int, int],
        precision: str,
        cache_dir: str = "",
        calibration_dir: str = "",
        calibration_cache: str = "",
        calibration_spec: InputSpec | None = None,
    ):
        self.model_path = Path(model_path)
        self.shape = tuple(shape)
        self.calibration_spec = calibration_spec or InputSpec(self.shape[2], self.shape[3])
        self.precision = precision
        self.cache_dir = cache_dir
        self.calibration_dir = calibration_dir
        self.calibration_cache = calibration_cache
        self.engine_file: Path | None = None
        # TensorRT ICudaEngine, IExecutionContext and CUDA stream once loaded (no type stubs)
        self._engine: Any = None
        self._context: Any = None
        self._stream: Any = None
        self._device: dict[str, int] = {}
        self._pinned: list[int] = []  # page-locked host buffers, freed in close()
        self._host_input: np.ndarray | None = None
        self._host_outputs: dict[str, np.ndarray] = {}

    def load(self) -> None:
        trt, cudart = import_tensorrt()
        self._trt, self._cudart = trt, cudart
        logger = trt.Logger(trt.Logger.WARNING)
        gpu, capability = _gpu(cudart)
        key = engine_key(
            self.model_path,
            trt.__version__,
            gpu,
            capability,
            self.precision,
            self.shape,
            self.calibration_cache or None,
        )
        self.engine_file = engine_path(self.cache_dir, self.model_path, key)
        problem = cached_engine_problem(self.engine_file, key)
        if problem is not None:
            if self.engine_file.exists():
                log.warning("cached TensorRT engine %s not used: %s; rebuilding it", self.engine_file, problem)
            self._build(trt, cudart, logger, key)
        runtime = trt.Runtime(logger)
        self._engine = runtime.deserialize_cuda_engine(self.engine_file.read_bytes())
        if self._engine is None and problem is None:
            # the key matched, yet this TensorRT refuses the file (something the key does not see,
            # such as a plugin library): one rebuild, then give up
            log.warning("TensorRT cannot deserialise cached engine %s; rebuilding it", self.engine_file)
            self._build(trt, cudart, logger, key)
            self._engine = runtime.deserialize_cuda_engine(self.engine_file.read_bytes())
        if self._engine is None:
            raise ConfigError("model.engine_cache_dir", f"cannot deserialise {self.engine_file}; delete it to rebuild")
        self._context = self._engine.create_execution_context()
        if self._context is None:
            raise RuntimeError(f"TensorRT create_execution_context failed for {self.engine_file}")
        self._stream = _check(cudart.cudaStreamCreate(), "cudaStreamCreate")
        try:
            self._allocate(trt, cudart)
        except BaseException:
            self.close()  # the buffers allocated before the failure (the builder closes only loaded engines)
            raise

    def _allocate(self, trt, cudart) -> None:
        self._names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        self._input_name = next(n for n in self._names if self._engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT)
        _ok(self._context.set_input_shape(self._input_name, self.shape), f"set_input_shape({self.shape})")
        for name in self._names:
            shape = tuple(self._context.get_tensor_shape(name))
            dtype = np.dtype(trt.nptype(self._engine.get_tensor_dtype(name)))
            size = int(np.prod(shape)) * dtype.itemsize
            self._device[name] = _check(cudart.cudaMalloc(size), f"cudaMalloc ({name})")
            _ok(self._context.set_tensor_address(name, int(self._device[name])), f"set_tensor_address({name})")
            pointer, host = _pinned(cudart, shape, dtype)
            self._pinned.append(pointer)
            if name == self._input_name:
                self._host_input = host
            else:
                self._host_outputs[name] = host

    def _build(self, trt, cudart, logger, key) -> None:
        graph = load_graph(self.model_path)
        builder = trt.Builder(logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse(graph.SerializeToString()):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise ConfigError("model.path", f"TensorRT cannot parse {self.model_path}: {errors[:400]}")
        config = builder.create_builder_config()
        if self.precision in ("fp16", "int8"):
            config.set_flag(trt.BuilderFlag.FP16)  # int8 layers fall back to fp16, not fp32
        if self.precision == "int8":
            config.set_flag(trt.BuilderFlag.INT8)
            if not is_qdq(graph):
                config.int8_calibrator = self._make_calibrator(trt, cudart)
        profile = builder.create_optimization_profile()
        input_name = network.get_input(0).name
        profile.set_shape(input_name, self.shape, self.shape, self.shape)
        config.add_optimization_profile(profile)
        log.warning("building TensorRT engine %s (minutes on a Jetson)", self.engine_file)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise ConfigError("model.precision", f"TensorRT could not build a {self.precision} engine")
        assert self.engine_file is not None  # set by load() before it builds
        write_engine(self.engine_file, key, bytes(serialized))

    def _make_calibrator(self, trt, cudart):
        if not self.calibration_cache and not self.calibration_dir:
            raise ConfigError(
                "model.calibration_dir",
                "int8 from a model without QDQ nodes needs calibration "
                "images or a calibration cache (or run argos quantize)",
            )
        cache = Path(self.calibration_cache or Path(self.calibration_dir) / "calibration.cache")
        paths = calibration_images(self.calibration_dir) if self.calibration_dir else []
        # with only a cache there are no images: no batches, but TensorRT still asks for the batch size
        batches = CalibrationBatches(paths, Preprocessor(self.calibration_spec), self.shape[0])
        return _calibrator(trt, cudart, batches, cache)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.shape

    def output_infos(self, shapes=None) -> list[OutputInfo]:
        names = [n for n in self._names if n != self._input_name]
        return [
            OutputInfo(
                n, tuple(shapes[i]) if shapes else self._host_outputs[n].shape, self._host_outputs[n].dtype.kind in "iu"
            )
            for i, n in enumerate(names)
        ]

    def infer(self, batch: np.ndarray) -> list[np.ndarray]:
        cudart = self._cudart
        host_input = self._host_input
        assert host_input is not None  # set by load()
        if tuple(batch.shape) != host_input.shape:
            raise ValueError(f"TensorRT engine {self.engine_file} takes {host_input.shape}, got {tuple(batch.shape)}")
        np.copyto(host_input, batch, casting="same_kind")
        _check(
            cudart.cudaMemcpyAsync(
                self._device[self._input_name],
                host_input.ctypes.data,
                host_input.nbytes,
                cudart.cudaMemcpyKind.cudaMemcpyHostToDevice,
                self._stream,
            ),
            "cudaMemcpyAsync (input to the device)",
        )
        _ok(self._context.execute_async_v3(int(self._stream)), "execute_async_v3 (enqueue)")
        for name, host in self._host_outputs.items():
            _check(
                cudart.cudaMemcpyAsync(
                    host.ctypes.data,
                    self._device[name],
                    host.nbytes,
                    cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost,
                    self._stream,
                ),
                f"cudaMemcpyAsync ({name} to the host)",
            )
        _check(cudart.cudaStreamSynchronize(self._stream), "cudaStreamSynchronize")
        # copies: the pinned buffers are overwritten by the next call
        return [host.copy() for host in self._host_outputs.values()]

    def describe(self) -> dict:
        return {
            "backend": self.name,
            "model": str(self.model_path),
            "precision": self.precision,
            "input_shape": list(self.shape),
            "engine_file": str(self.engine_file or ""),
        }

    def close(self) -> None:
        # errors on release are not worth raising over (the process may be exiting); log them
        if self._stream is not None:
            cudart = self._cudart
            for call, target in [
                *(("cudaFree", pointer) for pointer in self._device.values()),
                *(("cudaFreeHost", pointer) for pointer in self._pinned),
                ("cudaStreamDestroy", self._stream),
            ]:
                try:
                    _check(getattr(cudart, call)(target), call)
                except RuntimeError as exc:
                    log.warning("%s", exc)
        self._device.clear()
        self._pinned.clear()
        self._host_outputs.clear()
        self._host_input = None
        self._engine = self._context = self._stream = None


def tensorrt_engine_from_params(params: Mapping[str, Any]) -> TensorRTEngine:
    import_tensorrt()  # fail with a clear ConfigError before any file work
    shape, spec = engine_input(params, load_graph(params["model.path"]))
    return TensorRTEngine(
        params["model.path"],
        shape,
        params["model.precision"],
        params["model.engine_cache_dir"],
        params["model.calibration_dir"],
        params["model.calibration_cache"],
        spec,
    )
