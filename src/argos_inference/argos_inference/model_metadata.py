"""What a model file says about itself: the sidecar `<model>.json` and the ONNX metadata_props.

Sidecar keys read (all optional): ``classes`` (list of labels, index = model class index; or
``names``, a list or an {index: label} mapping), ``input_size`` ([height, width] or
{"height", "width"}; or ``imgsz``), ``layout``, ``color`` ("rgb"/"bgr"), ``mean`` and ``std``
(per channel, on 0..1 pixel values) or ``normalization`` ("0-1", "0-255").
ONNX metadata_props as written by common YOLO exporters (``names``, ``imgsz``) fill the gaps.

A sidecar belongs to the model files it names: ``sha256`` maps each file name it describes to the
SHA-256 of that file's content (the bundled card names the fp32 and the int8 model). A sidecar
read for any other model, for a changed model file, or naming no model at all is a ConfigError
naming both files, so pointing `model.path` at a new model never silently inherits the old
model's class names and preprocessing.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argos_common.files import read_text
from argos_common.params import ConfigError

METADATA_KEY = "model.metadata"
LABELS_KEY = "model.labels"
LABELS_FILES = ("labels.txt", "{stem}.txt", "{stem}.names", "classes.txt")  # beside a model, by convention
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


def card_beside(model_path: str | Path) -> Path | None:
    """The sidecar of `model_path` in its folder: `<model>.json`, else the first JSON file there (by
    name) whose `sha256` record names this file (the bundled card argos-traffic-v1.json also describes
    argos-traffic-v1-int8.onnx). None when there is neither."""
    model = Path(model_path)
    own = sidecar_path(model)
    if own.is_file():
        return own
    for candidate in sorted(model.parent.glob("*.json")):
        try:
            record = json.loads(candidate.read_text(encoding="utf-8")).get("sha256")
        except (OSError, ValueError, AttributeError):  # not a card: another JSON file of the folder
            continue
        if isinstance(record, dict) and model.name in record:
            return candidate
    return None


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's content (not cached by mtime: a model re-exported within the
    file system's timestamp granularity would keep a stale digest)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_sidecar_owner(sidecar: Path, values: dict[str, Any], model_path: str | Path) -> None:
    """ConfigError (model.metadata) unless the sidecar's `sha256` record names this model file
    with its current content."""
    model = Path(model_path)
    record = values.get("sha256")
    undo = f'set {METADATA_KEY} to the sidecar of {model.name}, or to "" (--param inference.{METADATA_KEY}=)'
    if record is None:
        raise ConfigError(
            METADATA_KEY,
            f"{sidecar} does not say which model it describes, so it is not applied to {model}; if it is "
            f'that model\'s, add "sha256": {{"{model.name}": "{file_sha256(model)}"}} to it, else {undo}',
        )
    if not isinstance(record, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and _SHA256.match(v) for k, v in record.items()
    ):
        raise ConfigError(METADATA_KEY, f"{sidecar}: sha256 must map model file names to 64 hex digits")
    if model.name not in record:
        raise ConfigError(
            METADATA_KEY,
            f"{sidecar} describes {', '.join(sorted(record)) or 'no model'}, not the model {model}; {undo}",
        )
    actual = file_sha256(model)
    if record[model.name] != actual:
        raise ConfigError(
            METADATA_KEY,
            f"{sidecar} was written for another {model.name} (sha256 {record[model.name][:12]}...) than "
            f"{model} (sha256 {actual[:12]}...): the model changed since; update the sidecar or {undo}",
        )


def _names(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return None
    if isinstance(value, dict):
        try:
            indexed = {int(k): str(v) for k, v in value.items()}
        except (TypeError, ValueError):
            return None
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


def _check_values(path: Path, values: dict[str, Any]) -> None:
    """A key the sidecar has but that cannot be read is an error, not a silent fallback."""
    for key, parse, expected in (
        ("classes", _names, "a list of labels, or {index: label} for indices 0..N-1"),
        ("names", _names, "a list of labels, or {index: label} for indices 0..N-1"),
        ("input_size", _size, "[height, width] or {height, width}"),
        ("imgsz", _size, "[height, width] or one integer"),
    ):
        if key in values and parse(values[key]) is None:
            raise ConfigError(METADATA_KEY, f"{path}: {key} must be {expected}, got {values[key]!r:.80}")
    for key in ("mean", "std"):
        value = values.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        ):
            raise ConfigError(METADATA_KEY, f"{path}: {key} must be a list of numbers, got {value!r:.80}")
    if "normalization" in values and values["normalization"] not in NORMALIZATIONS:
        raise ConfigError(
            METADATA_KEY,
            f"{path}: normalization must be one of {', '.join(NORMALIZATIONS)}, got {values['normalization']!r:.40}",
        )


def read_labels(path: str | Path) -> list[str]:
    """Class names, one per line, line i = model class i (DeepStream-Yolo labels.txt, Darknet
    .names); blank lines only at the end. ConfigError (model.labels) naming the file otherwise."""
    lines = read_text(path, LABELS_KEY, "a labels file, one class name per line").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    names = [line.strip() for line in lines]
    if not names:
        raise ConfigError(LABELS_KEY, f"{path} holds no class names (expected one per line)")
    if "" in names:
        raise ConfigError(LABELS_KEY, f"{path}: line {names.index('') + 1} is empty (line i names model class i)")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(LABELS_KEY, f"{path}: {', '.join(map(repr, duplicates[:5]))} named more than once")
    return names


def labels_files_beside(model_path: str | Path) -> list[Path]:
    """Labels files next to a model by the usual names (reported by `argos model inspect`; used
    only when model.labels names one: a folder's labels.txt may belong to another model)."""
    model = Path(model_path)
    found = [model.parent / pattern.format(stem=model.stem) for pattern in LABELS_FILES]
    return [p for p in dict.fromkeys(found) if p.is_file()]


def read_metadata(
    model_path: str | Path,
    onnx_props: dict[str, str] | None = None,
    sidecar: str | Path | None = None,
    labels: str | Path | None = None,
    use_sidecar: bool = True,
) -> ModelMetadata:
    """Labels file (when given), then the sidecar (explicit `sidecar`, else `<model>.json` when it
    exists), then ONNX props."""
    meta = ModelMetadata()
    if labels:
        meta.classes = read_labels(labels)
        meta.source.append(str(labels))
    path = Path(sidecar) if sidecar else sidecar_path(model_path)
    if use_sidecar and (sidecar or path.is_file()):
        text = read_text(path, METADATA_KEY, "model metadata JSON")
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(METADATA_KEY, f"{path} is not valid JSON: {exc}") from None
        if not isinstance(values, dict):
            raise ConfigError(METADATA_KEY, f"{path} must hold a JSON object")
        _check_values(path, values)
        if Path(model_path).is_file():
            check_sidecar_owner(path, values, model_path)
        _merge(meta, values, str(path))
    if onnx_props:
        _merge(meta, dict(onnx_props), "onnx metadata_props")
    return meta
