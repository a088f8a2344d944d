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
