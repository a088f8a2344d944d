"""Where a built TensorRT engine is cached, and when it must be rebuilt.

An engine is only valid for the exact model bytes, TensorRT version, GPU, precision, input shape
(and, for calibrated int8, the calibration cache it was built with); the cache file name carries a
digest of all of them, so a change in any one builds a new engine instead of loading a stale one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_CACHE_DIR = Path.home() / ".cache" / "argos" / "engines"
_CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class EngineKey:
    model_sha256: str
    tensorrt_version: str
    gpu_name: str
    precision: str
    input_shape: tuple[int, ...]
    calibration_sha256: str = ""  # int8 from a calibration cache; "" otherwise

    def digest(self) -> str:
        fields = asdict(self)
        fields["input_shape"] = list(self.input_shape)
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()

    def file_name(self, model_stem: str) -> str:
        safe_stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", model_stem)[:64] or "model"
        shape = "x".join(str(d) for d in self.input_shape)
        return f"{safe_stem}-{self.precision}-{shape}-{self.digest()[:16]}.engine"


def engine_key(
    model_path: str | Path,
    tensorrt_version: str,
    gpu_name: str,
    precision: str,
    input_shape: Sequence[int],
    calibration_cache: str | Path | None = None,
) -> EngineKey:
    calibration = file_sha256(calibration_cache) if calibration_cache and Path(calibration_cache).is_file() else ""
    return EngineKey(
        file_sha256(model_path), tensorrt_version, gpu_name, precision, tuple(int(d) for d in input_shape), calibration
    )


def engine_path(cache_dir: str | Path, model_path: str | Path, key: EngineKey) -> Path:
    return Path(cache_dir or DEFAULT_CACHE_DIR) / key.file_name(Path(model_path).stem)
