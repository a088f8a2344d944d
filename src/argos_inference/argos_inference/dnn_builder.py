"""Assemble a DnnDetector from the node parameters and a loaded Engine.

Everything that is not back-end specific is settled here, the same way for every engine: input
size, colour order and normalisation (parameters > model metadata > defaults), batch size, output
layout (probed with one warm-up inference), class map and per-class thresholds. Disagreements
between the configuration and the model are ConfigErrors naming the parameter to change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from functools import partial
from typing import Any, cast

import numpy as np

from argos_common.params import ConfigError

from .class_map import ClassMap, load_class_map_file
from .decoders import (
    DECODERS,
    LAYOUTS,
    NMS_FREE_LAYOUTS,
    STRETCH_LAYOUTS,
    LayoutError,
    class_count,
    decode_detr_logits,
    decode_e2e,
    detect_layout,
    detr_logits_order,
    e2e_output_order,
    metadata_layout,
)
from .dnn import DecodeStage, DnnDetector
from .engine import Engine
from .model_metadata import ModelMetadata, read_metadata
from .postprocess import PostProcess
from .preprocess import COLOR_ORDERS, InputSpec, Preprocessor


def resolve_input_size(model_shape: tuple[int, ...], configured: list[int], meta: ModelMetadata) -> tuple[int, int]:
    if len(model_shape) == 4 and model_shape[1] not in (3, -1):
        raise ConfigError("model.path", f"the model input has {model_shape[1]} channels; ARGOS feeds 3-channel images")
    # (H, W) of an NCHW input (OrtEngine checks for 4 dimensions; engine_input() of TensorRT does not)
    model_hw = cast("tuple[int, int]", tuple(model_shape[2:4]))
    if configured and len(configured) != 2:
        raise ConfigError("model.input_size", f"expected [height, width], got {configured}")
    if configured:
        wanted = (int(configured[0]), int(configured[1]))
        if all(d > 0 for d in model_hw) and wanted != model_hw:
            raise ConfigError(
                "model.input_size",
                f"{wanted[0]}x{wanted[1]} does not match the model's fixed input {model_hw[0]}x{model_hw[1]}",
            )
        return wanted
    if all(d > 0 for d in model_hw):
        return model_hw
    if meta.input_hw:
        return meta.input_hw
    raise ConfigError(
        "model.input_size",
        "the model input size is dynamic and its metadata names none; set model.input_size: [height, width]",
    )


def resolve_input_spec(
    params: Mapping[str, Any], model_shape: tuple[int, ...], dtype: str, meta: ModelMetadata
) -> InputSpec:
    height, width = resolve_input_size(model_shape, params["model.input_size"], meta)
    color = params["model.color"] if params["model.color"] != "auto" else (meta.color or "rgb")
    if color not in COLOR_ORDERS:
        raise ConfigError("model.metadata", f"color {color!r} is not one of {', '.join(COLOR_ORDERS)}")
    normalisation: dict[str, tuple[float, float, float]] = {}
    for key, default in (("mean", (0.0, 0.0, 0.0)), ("std", (1.0, 1.0, 1.0))):
        value = params[f"model.{key}"] or getattr(meta, key) or default
        if len(value) != 3 or (key == "std" and any(v == 0 for v in value)):
            raise ConfigError(
                f"model.{key}", f"expected 3 {'non-zero ' if key == 'std' else ''}values, got {list(value)}"
            )
        first, second, third = (float(v) for v in value)  # 3 values, checked above
        normalisation[key] = (first, second, third)
    return InputSpec(height, width, color, normalisation["mean"], normalisation["std"], dtype)


def resolve_batch(model_batch: int, configured: int) -> tuple[int, bool]:
    """(batch size, whether the model's batch dimension is fixed)."""
    if model_batch > 0:
        if configured and configured != model_batch:
            raise ConfigError("model.batch", f"{configured} does not match the model's fixed batch {model_batch}")
        return model_batch, True
    return (configured or 1), False


def resolve_layout(configured: str, infos, class_map: ClassMap, props: dict[str, str] | None = None) -> str:
    if configured != "auto":
        return configured
    said = metadata_layout(props, infos)
    if said is not None:  # the exporter's word: same-shaped outputs can mean different things
        return said[0]
    try:
        return detect_layout(infos, len(class_map))
    except LayoutError as first:
        try:  # the shapes may fit a layout with another class count: report the count, not the layout
            layout = detect_layout(infos, None)
        except LayoutError as exc:
            raise ConfigError("model.layout", str(exc)) from None
        count = class_count(layout, [i.shape for i in infos])
        if count is None:  # that layout's outputs carry no class count (yolov4): the count is no clue
            raise ConfigError("model.layout", str(first)) from None
        class_map.check_count(count)
        return layout


def build_dnn_detector(params: Mapping[str, Any], engine: Engine) -> DnnDetector:
    engine.load()
    try:
        meta = read_metadata(
            params["model.path"],
            engine.metadata_props(),
            params["model.metadata"] or None,
            params["model.labels"] or None,
        )
        spec = resolve_input_spec(params, engine.input_shape, engine.input_dtype, meta)
        batch, static = resolve_batch(engine.input_shape[0], params["model.batch"])
        by_name = load_class_map_file(params["model.class_map_file"]) if params["model.class_map_file"] else None
        class_map = ClassMap.resolve(
            params["model.class_map"], meta.classes, params["classes"], by_name, params["model.class_map_file"]
        )
        warmup = np.zeros((batch, 3, spec.height, spec.width), dtype=spec.dtype)
        try:
            outputs = engine.infer(warmup)
        except Exception as exc:
            raise ConfigError(
                "model.input_size",
                f"the model rejects a {batch}x3x{spec.height}x{spec.width} "
                f"input: {str(exc).strip().splitlines()[0][:300]}",
            ) from None
        infos = engine.output_infos([o.shape for o in outputs])
        configured_layout = params["model.layout"] if params["model.layout"] != "auto" else (meta.layout or "auto")
        layout = resolve_layout(configured_layout, infos, class_map, engine.metadata_props())
        if layout not in LAYOUTS:
            raise ConfigError("model.metadata", f"layout {layout!r} is not one of {', '.join(LAYOUTS)}")
        encoded = class_count(layout, [i.shape for i in infos])
        if encoded is not None:
            class_map.check_count(encoded)
        resize = params["model.resize"]
        if resize == "auto":
            resize = "stretch" if layout in STRETCH_LAYOUTS else "letterbox"
        preprocessor = Preprocessor(dataclasses.replace(spec, resize=resize))
        decode = DECODERS[layout]
        try:
            if layout == "e2e":
                decode = partial(decode_e2e, order=e2e_output_order(infos))
            elif layout == "detr_logits":
                decode = partial(decode_detr_logits, order=detr_logits_order(infos))
        except LayoutError as exc:
            raise ConfigError("model.layout", str(exc)) from None
        post = PostProcess(
            class_map.thresholds(
                params["score_threshold"],
                params["model.class_thresholds.labels"],
                params["model.class_thresholds.values"],
            ),
            iou_threshold=params["model.nms_iou"],
            max_detections=params["model.max_detections"],
            nms=layout not in NMS_FREE_LAYOUTS,
        )
        try:
            decode(outputs, 0, (spec.height, spec.width))
        except LayoutError as exc:
            raise ConfigError("model.layout", f"{layout}: {exc}") from None
        return DnnDetector(engine, preprocessor, DecodeStage(layout, decode, post), class_map, batch, static)
    except BaseException:
        engine.close()
        raise
