"""Camera calibration files (the ROS camera_calibration / camera_info_manager YAML format)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from argos_common.files import load_yaml
from argos_common.params import ConfigError

from .source_types import SourceError

KEY = "calibration_file"
_MATRICES = {"camera_matrix": (3, 3), "rectification_matrix": (3, 3), "projection_matrix": (3, 4)}


@dataclass(frozen=True)
class Calibration:
    width: int
    height: int
    camera_name: str
    distortion_model: str
    d: tuple[float, ...]
    k: tuple[float, ...]  # 3x3 row-major
    r: tuple[float, ...]  # 3x3 row-major
    p: tuple[float, ...]  # 3x4 row-major


def _matrix(path: Path, doc: dict, name: str, shape: tuple[int, int] | None) -> tuple[float, ...]:
    entry = doc.get(name)
    if not isinstance(entry, dict) or "data" not in entry:
        raise SourceError(f"{path}: missing {name} (rows, cols, data)", key=KEY)
    data = entry["data"]
    if not isinstance(data, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in data):
        raise SourceError(f"{path}: {name}.data must be a list of numbers", key=KEY)
    if shape is not None:
        rows, cols = entry.get("rows"), entry.get("cols")
        if (rows, cols) != shape or len(data) != shape[0] * shape[1]:
            raise SourceError(
                f"{path}: {name} must be {shape[0]}x{shape[1]} ({shape[0] * shape[1]} values), "
                f"got rows={rows} cols={cols} with {len(data)} values",
                key=KEY,
            )
    return tuple(float(v) for v in data)


def load_calibration(path: str | Path) -> Calibration:
    path = Path(path)
    try:
        doc = load_yaml(path, KEY, "a camera calibration YAML")
    except ConfigError as exc:
        raise SourceError(exc.problem, key=KEY) from None
    if not isinstance(doc, dict):
        raise SourceError(f"{path}: expected a mapping with image_width, image_height, camera_matrix, ...", key=KEY)
    width, height = doc.get("image_width"), doc.get("image_height")
    if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
        raise SourceError(f"{path}: image_width and image_height must be positive integers", key=KEY)
    model = str(doc.get("distortion_model", "plumb_bob"))
    d = _matrix(path, doc, "distortion_coefficients", None)
    k, r, p = (_matrix(path, doc, name, shape) for name, shape in _MATRICES.items())
    return Calibration(width, height, str(doc.get("camera_name", "")), model, d, k, r, p)
