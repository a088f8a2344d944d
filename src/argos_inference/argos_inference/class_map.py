"""Model class index -> deployment label.

The map comes from `model.class_map` (one entry per model class), else from the model's own class
names (sidecar json or ONNX metadata), else it is the deployment `classes` list itself. Every
entry must be one of `classes`, or "" for a model class the deployment ignores (e.g. the people and
animals of a COCO model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from argos_common.params import ConfigError

CLASS_MAP_KEY = "model.class_map"
THRESHOLD_LABELS_KEY = "model.class_thresholds.labels"
THRESHOLD_VALUES_KEY = "model.class_thresholds.values"


@dataclass(frozen=True)
class ClassMap:
    labels: tuple[str, ...]  # per model class index; "" = ignored
    origin: str

    @classmethod
    def resolve(cls, configured: Sequence[str], model_names: Sequence[str] | None, classes: Sequence[str]) -> ClassMap:
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
