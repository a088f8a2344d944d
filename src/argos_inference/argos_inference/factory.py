"""Build the configured Detector from the node's flat parameter dict (see params.PARAMS)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from argos_common.params import ConfigError

from .engine import Detector
from .motion import MotionDetector
from .size_bands import SizeBands


def _motion(params: Mapping[str, Any]) -> Detector:
    if not 0.0 < params["motion.scale"] <= 1.0:
        raise ConfigError("motion.scale", f"must be in (0, 1], got {params['motion.scale']}")
    bands = SizeBands.from_config(params["motion.class_max_area"], params["motion.class_labels"], params["classes"])
    return MotionDetector(
        bands,
        history=params["motion.history"],
        var_threshold=params["motion.var_threshold"],
        min_area=params["motion.min_area"],
        scale=params["motion.scale"],
        score_threshold=params["score_threshold"],
        warmup_frames=params["motion.warmup_frames"],
        close_kernel=params["motion.close_kernel"],
    )


def _onnxruntime(params: Mapping[str, Any]) -> Detector:
    from .dnn_builder import build_dnn_detector
    from .ort_engine import OrtEngine

    engine = OrtEngine(
        params["model.path"], params["model.providers"], params["model.threads"], params["model.spin_wait"]
    )
    return build_dnn_detector(params, engine)


def _tensorrt(params: Mapping[str, Any]) -> Detector:
    from .dnn_builder import build_dnn_detector
    from .tensorrt_engine import tensorrt_engine_from_params

    return build_dnn_detector(params, tensorrt_engine_from_params(params))


_BUILDERS: dict[str, Callable[[Mapping[str, Any]], Detector]] = {
    "motion": _motion,
    "onnxruntime": _onnxruntime,
    "tensorrt": _tensorrt,
}


def available_engines() -> tuple[str, ...]:
    return tuple(_BUILDERS)


def create_detector(params: Mapping[str, Any]) -> Detector:
    """`params`: resolved values keyed by parameter name (declare_params / resolve output).
    Raises ConfigError naming the offending key."""
    from .params import with_resolved_paths

    params = with_resolved_paths(params)
    engine: Any = params.get("engine")  # a name, or anything a caller passed: checked against _BUILDERS
    builder = _BUILDERS.get(engine)
    if builder is None:
        raise ConfigError("engine", f"unknown engine {engine!r} (available: {', '.join(_BUILDERS)})")
    return builder(params)
