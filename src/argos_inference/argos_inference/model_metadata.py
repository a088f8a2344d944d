"""What a model file says about itself: the sidecar `<model>.json` and the ONNX metadata_props.

Sidecar keys read (all optional): ``classes`` (list of labels, index = model class index; or
``names``, a list or an {index: label} mapping), ``input_size`` ([height, width] or
{"height", "width"}; or ``imgsz``), ``layout``, ``color`` ("rgb"/"bgr"), ``mean`` and ``std``
(per channel, on 0..1 pixel values) or ``normalization`` ("0-1", "0-255").
ONNX metadata_props as written by common YOLO exporters (``names``, ``imgsz``) fill the gaps.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argos_common.params import ConfigError

METADATA_KEY = "model.metadata"
NORMALIZATIONS = {"0-1": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)), "0-255": ((0.0, 0.0, 0.0), (1 / 255,) * 3)}


@dataclass
class ModelMetadata:
    classes: list[str] | None = None
    input_hw: tuple[int, int] | None = None
    layout: str | None = None
    color: str | None = None
    mean: list[float] | None = None
    std: list[float] | None = None
    source: list[str] = field(default_factory=list)


def sidecar_path(model_path: str | Path) -> Path:
    return Path(model_path).with_suffix(".json")


def _names(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return None
    if isinstance(value, dict):
        indexed = {int(k): str(v) for k, v in value.items()}
        return [indexed[i] for i in range(len(indexed))] if set(indexed) == set(range(len(indexed))) else None
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return None


def _size(value: Any) -> tuple[int, int] | None:
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return None
    if isinstance(value, int):
        return value, value
    if isinstance(value, dict) and {"height", "width"} <= set(value):
        return int(value["height"]), int(value["width"])
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return int(value[0]), int(value[1])
    return None


def _merge(meta: ModelMetadata, values: dict[str, Any], source: str) -> None:
    before = (meta.classes, meta.input_hw, meta.layout, meta.color, meta.mean, meta.std)
    meta.classes = meta.classes or _names(values.get("classes", values.get("names")))
    meta.input_hw = meta.input_hw or _size(values.get("input_size", values.get("imgsz")))
    meta.layout = meta.layout or (str(values["layout"]) if "layout" in values else None)
    meta.color = meta.color or (str(values["color"]).lower() if "color" in values else None)
    if values.get("normalization") in NORMALIZATIONS and meta.std is None:
        meta.mean, meta.std = (list(v) for v in NORMALIZATIONS[values["normalization"]])
    for key in ("mean", "std"):
        if getattr(meta, key) is None and isinstance(values.get(key), (list, tuple)):
            setattr(meta, key, [float(v) for v in values[key]])
    if before != (meta.classes, meta.input_hw, meta.layout, meta.color, meta.mean, meta.std):
        meta.source.append(source)


def read_metadata(
    model_path: str | Path, onnx_props: dict[str, str] | None = None, sidecar: str | Path | None = None
) -> ModelMetadata:
    """Sidecar first (explicit `sidecar`, else `<model>.json` when it exists), then ONNX props."""
    meta = ModelMetadata()
    path = Path(sidecar) if sidecar else sidecar_path(model_path)
    if sidecar or path.is_file():
        try:
            values = json.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(METADATA_KEY, f"file not found: {path}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(METADATA_KEY, f"{path} is not valid JSON: {exc}") from None
        if not isinstance(values, dict):
            raise ConfigError(METADATA_KEY, f"{path} must hold a JSON object")
        _merge(meta, values, str(path))
    if onnx_props:
        _merge(meta, dict(onnx_props), "onnx metadata_props")
    return meta
