"""Summary statistics every report uses, with one definition (numpy's linear interpolation
between closest ranks), so a p95 means the same in the bridge's stats, the run summary and
the benchmarks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def percentiles(
    samples: Iterable[float] | np.ndarray, qs: Sequence[float] = (50, 95), digits: int | None = 2
) -> dict[str, float | None]:
    """{"p50": ..., "p95": ...} of `samples` (None each when empty), rounded to `digits`."""
    arr = np.asarray(samples if isinstance(samples, np.ndarray) else list(samples), dtype=np.float64)
    if arr.size == 0:
        return {f"p{q:g}": None for q in qs}
    values = np.percentile(arr, list(qs))
    return {f"p{q:g}": (round(float(v), digits) if digits is not None else float(v)) for q, v in zip(qs, values)}


class SampleWindow:
    """The most recent `capacity` samples in a preallocated ring: a stream that runs for weeks
    keeps a fixed footprint from the first sample on (a deque of floats grows until it is full).
    The ring is written through once here: np.zeros would map untouched pages that become
    resident only as samples reach them, and resident memory would creep up for hours."""

    def __init__(self, capacity: int):
        self._ring = np.full(int(capacity), 0.0, dtype=np.float64)
        self._count = 0

    def append(self, value: float) -> None:
        self._ring[self._count % len(self._ring)] = value
        self._count += 1

    def __len__(self) -> int:
        return min(self._count, len(self._ring))

    @property
    def total(self) -> int:
        """Samples appended since the start (also the ones the ring no longer holds)."""
        return self._count

    def values(self) -> np.ndarray:
        """The samples held, oldest first (a copy)."""
        n, size = len(self), len(self._ring)
        if self._count <= size:
            return self._ring[:n].copy()
        start = self._count % size
        return np.concatenate([self._ring[start:], self._ring[:start]])
