"""Where a built TensorRT engine is cached, and when it must be rebuilt.

An engine is only valid for the exact model bytes, TensorRT version, GPU (name and compute
capability), precision, input shape (and, for calibrated int8, the calibration cache it was built
with); the cache file name carries a digest of all of them, so a change in any one builds a new
engine instead of loading a stale one. The file name alone is not trusted on load: a record
`<engine>.key.json` written with the engine holds the full key and the engine's SHA-256, and an
engine whose record is missing, differs from the current key (an engine copied in from another
device, a digest prefix clash) or whose bytes changed (a build cut off half-way) is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
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
    compute_capability: str  # "major.minor", e.g. "8.7" on Orin
    precision: str
    input_shape: tuple[int, ...]
    calibration_sha256: str = ""  # int8 from a calibration cache; "" otherwise

    def fields(self) -> dict:
        fields = asdict(self)
        fields["input_shape"] = list(self.input_shape)
        return fields

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.fields(), sort_keys=True).encode()).hexdigest()

    def file_name(self, model_stem: str) -> str:
        safe_stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", model_stem)[:64] or "model"
        shape = "x".join(str(d) for d in self.input_shape)
        return f"{safe_stem}-{self.precision}-{shape}-{self.digest()[:16]}.engine"


def engine_key(
    model_path: str | Path,
    tensorrt_version: str,
    gpu_name: str,
    compute_capability: str,
    precision: str,
    input_shape: Sequence[int],
    calibration_cache: str | Path | None = None,
) -> EngineKey:
    calibration = file_sha256(calibration_cache) if calibration_cache and Path(calibration_cache).is_file() else ""
    return EngineKey(
        file_sha256(model_path),
        tensorrt_version,
        gpu_name,
        compute_capability,
        precision,
        tuple(int(d) for d in input_shape),
        calibration,
    )


def engine_path(cache_dir: str | Path, model_path: str | Path, key: EngineKey) -> Path:
    return Path(cache_dir or DEFAULT_CACHE_DIR) / key.file_name(Path(model_path).stem)


def key_record_path(engine_file: str | Path) -> Path:
    return Path(f"{engine_file}.key.json")


def write_engine(engine_file: str | Path, key: EngineKey, data: bytes) -> None:
    """The engine, then its key record, each written whole or not at all (temporary file +
    rename): a build interrupted half-way leaves no engine that a later start would load."""
    engine_file = Path(engine_file)
    engine_file.parent.mkdir(parents=True, exist_ok=True)
    record = {"key": key.fields(), "engine_sha256": hashlib.sha256(data).hexdigest(), "engine_bytes": len(data)}
    for path, content in ((engine_file, data), (key_record_path(engine_file), json.dumps(record, indent=1).encode())):
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(content)
        os.replace(partial, path)


def cached_engine_problem(engine_file: str | Path, key: EngineKey) -> str | None:
    """None when `engine_file` holds an engine built for exactly `key`, else why it does not."""
    engine_file = Path(engine_file)
    if not engine_file.is_file():
        return "no cached engine"
    record_file = key_record_path(engine_file)
    try:
        record = json.loads(record_file.read_text())
        recorded, digest = record["key"], record["engine_sha256"]
    except FileNotFoundError:
        return f"no key record {record_file.name} beside it"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"unreadable key record {record_file.name} ({exc})"
    if not isinstance(recorded, dict):
        return f"unreadable key record {record_file.name} (key is not an object)"
    current = key.fields()
    changed = [
        f"{name} {recorded.get(name)!r} -> {value!r}" for name, value in current.items() if recorded.get(name) != value
    ]
    if changed:
        return "built for another " + ", ".join(changed)
    if file_sha256(engine_file) != digest:
        return "the engine file changed since it was built (SHA-256 differs from its key record)"
    return None
