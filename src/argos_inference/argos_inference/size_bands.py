"""Class label from blob size: the only cue a motion detector has about what it saw.

Bands are upper bounds on the foreground area in source pixels, ascending, one label each:
an area up to `max_areas[0]` gets `labels[0]`, up to `max_areas[1]` gets `labels[1]`, and so on.
A blob larger than the last bound is not one road user (a lighting change, a merged queue of
vehicles) and gets no label, so the detector drops it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from argos_common.params import ConfigError

MAX_AREAS_KEY = "motion.class_max_area"
LABELS_KEY = "motion.class_labels"


@dataclass(frozen=True)
class SizeBands:
    max_areas: tuple[float, ...]
    labels: tuple[str, ...]

    @classmethod
    def from_config(cls, max_areas: Sequence[float], labels: Sequence[str], classes: Sequence[str]) -> SizeBands:
        """Validated bands; raises ConfigError naming the offending parameter."""
        max_areas = tuple(float(a) for a in max_areas)
        labels = tuple(labels)
        if not max_areas:
            raise ConfigError(MAX_AREAS_KEY, "needs at least one area band")
        if len(labels) != len(max_areas):
            raise ConfigError(
                LABELS_KEY,
                f"has {len(labels)} labels for {len(max_areas)} area bands in {MAX_AREAS_KEY}; they must pair up",
            )
        if any(a <= 0 for a in max_areas):
            raise ConfigError(MAX_AREAS_KEY, "area bounds must be positive")
        if any(b <= a for a, b in zip(max_areas, max_areas[1:])):
            raise ConfigError(MAX_AREAS_KEY, f"area bounds must be strictly ascending, got {list(max_areas)}")
        unknown = [label for label in labels if label not in classes]
        if unknown:
            raise ConfigError(LABELS_KEY, f"{', '.join(map(repr, unknown))} not in classes ({', '.join(classes)})")
        return cls(max_areas, labels)

    def band_indices(self, areas: np.ndarray) -> np.ndarray:
        """Band index per area; len(self.labels) where the area exceeds every band."""
        return np.searchsorted(np.asarray(self.max_areas), np.asarray(areas, dtype=np.float64), side="left")

    def label_for(self, area: float) -> str | None:
        index = int(self.band_indices(np.array([area]))[0])
        return self.labels[index] if index < len(self.labels) else None
