"""Model class index -> deployment label.

The map comes from `model.class_map` (one entry per model class), else from `model.class_map_file`
(a YAML mapping by the model's class names: `person: ""`, `car: car`, ...; the COCO preset ships
as config/class_maps/coco.yaml), else from the model's own class names (labels file, sidecar json
or ONNX metadata), else it is the deployment `classes` list itself. Every entry must be one of
`classes`, or "" for a model class the deployment ignores (e.g. the people and animals of a COCO
model).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from argos_common.files import load_yaml
from argos_common.params import ConfigError

CLASS_MAP_KEY = "model.class_map"
CLASS_MAP_FILE_KEY = "model.class_map_file"
THRESHOLD_LABELS_KEY = "model.class_thresholds.labels"
THRESHOLD_VALUES_KEY = "model.class_thresholds.values"


@dataclass(frozen=True)
class ClassMap:
    labels: tuple[str, ...]  # per model class index; "" = ignored
    origin: str

    @classmethod
    def resolve(
        cls,
        configured: Sequence[str],
        model_names: Sequence[str] | None,
        classes: Sequence[str],
        by_name: Mapping[str, str] | None = None,
        by_name_file: str = "",
    ) -> ClassMap:
        if configured and by_name is not None:
            raise ConfigError(
                CLASS_MAP_FILE_KEY, f"set {CLASS_MAP_KEY} (by index) or {CLASS_MAP_FILE_KEY} (by name), not both"
            )
        if by_name is not None:
            return cls._by_name(by_name, by_name_file, model_names, classes)
        if configured:
            labels, origin = tuple(configured), CLASS_MAP_KEY
        elif model_names:
            labels, origin = tuple(model_names), "model metadata"
        else:
            labels, origin = tuple(classes), "classes"
        unknown = [label for label in labels if label and label not in classes]
        if unknown:
            hint = "" if configured else f" (the model's class names; map them with {CLASS_MAP_KEY})"
            raise ConfigError(CLASS_MAP_KEY, f"{', '.join(map(repr, unknown[:5]))} not in classes{hint}")
        return cls(labels, origin)

    @classmethod
    def _by_name(
        cls, by_name: Mapping[str, str], path: str, model_names: Sequence[str] | None, classes: Sequence[str]
    ) -> ClassMap:
        if not model_names:
            raise ConfigError(
                CLASS_MAP_FILE_KEY,
                f"{path} maps class names, but the model names none (no ONNX names, sidecar or "
                "labels file); give model.labels, or map by index with model.class_map",
            )
        missing = [name for name in model_names if name not in by_name]
        if missing:
            raise ConfigError(
                CLASS_MAP_FILE_KEY,
                f"{path} does not map the model's {', '.join(map(repr, missing[:5]))}"
                f"{f' (and {len(missing) - 5} more)' if len(missing) > 5 else ''}; map each name to a "
                'label of classes, or to "" to ignore it',
            )
        unknown = sorted({label for label in by_name.values() if label and label not in classes})
        if unknown:
            raise ConfigError(CLASS_MAP_FILE_KEY, f"{path}: {', '.join(map(repr, unknown[:5]))} not in classes")
        return cls(tuple(by_name[name] for name in model_names), f"{CLASS_MAP_FILE_KEY} {path}")

    def unmapped(self, classes: Sequence[str]) -> list[str]:
        """Deployment classes no model class maps onto (the model cannot report them)."""
        return [label for label in classes if label not in self.labels]

    def __len__(self) -> int:
        return len(self.labels)

    def check_count(self, model_classes: int) -> None:
        if model_classes != len(self.labels):
            raise ConfigError(
                CLASS_MAP_KEY,
                f"the model outputs {model_classes} classes but the class map "
                f"(from {self.origin}) has {len(self.labels)}",
            )

    def thresholds(self, default: float, labels: Sequence[str], values: Sequence[float]) -> np.ndarray:
        """Score threshold per model class: `default`, overridden per label; ignored classes get 2
        (above any score) so they are dropped before NMS."""
        if len(labels) != len(values):
            raise ConfigError(
                THRESHOLD_VALUES_KEY,
                f"has {len(values)} values for {len(labels)} labels in {THRESHOLD_LABELS_KEY}; they must pair up",
            )
        per_label = dict(zip(labels, values))
        unknown = [label for label in per_label if label not in self.labels]
        if unknown:
            raise ConfigError(
                THRESHOLD_LABELS_KEY,
                f"{', '.join(map(repr, unknown))} not produced by the "
                f"model's class map ({', '.join(label for label in self.labels if label)})",
            )
        return np.array([per_label.get(label, default) if label else 2.0 for label in self.labels], dtype=np.float32)


def load_class_map_file(path: str | Path) -> dict[str, str]:
    """{model class name: deployment label} from a YAML mapping (`person: ""`, `car: car`; an
    empty value is ""). ConfigError naming the file for anything else."""
    doc = load_yaml(path, CLASS_MAP_FILE_KEY, "a YAML mapping of model class names to labels")
    if not isinstance(doc, dict) or not doc:
        raise ConfigError(CLASS_MAP_FILE_KEY, f"{path} must map model class names to labels (name: label)")
    out: dict[str, str] = {}
    for name, label in doc.items():
        if label is None:
            label = ""
        if not isinstance(name, (str, int)) or isinstance(name, bool) or not isinstance(label, str):
            raise ConfigError(CLASS_MAP_FILE_KEY, f"{path}: {name!r}: {label!r} is not name: label (strings)")
        out[str(name)] = label
    return out
