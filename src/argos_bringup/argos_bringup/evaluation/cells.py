"""Evaluation cells (detector x view x scene x seed) run one after another or in a process pool.

Each cell is independent (its own scene, detector and trackers), so `--workers N` runs N at a
time on an N-core machine. Workers are spawned, not forked: a fork would copy whatever native
thread pools the parent holds; each worker keeps OpenCV (the renderer) on one thread, and the
caller gives each worker's onnxruntime one intra-op thread, so N workers use N cores.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, TypeVar

Cell = TypeVar("Cell")


def _one_thread() -> None:
    import cv2

    cv2.setNumThreads(1)


def run_cells(
    function: Callable[[Cell], Any],
    cells: Sequence[Cell],
    workers: int = 1,
    on_result: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """`function(cell)` for every cell, with up to `workers` processes (1: here, in order).
    Results come back in the order of `cells`; `on_result(index, result)` is called as each
    finishes (in the order they finish), e.g. to print it or save the results so far.
    `function` and the cells must pickle (a module-level function, plain data)."""
    if workers < 1:
        raise ValueError(f"--workers {workers}: must be >= 1")
    results: list[Any] = [None] * len(cells)
    if workers == 1 or len(cells) <= 1:
        for i, cell in enumerate(cells):
            results[i] = function(cell)
            if on_result:
                on_result(i, results[i])
        return results
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, len(cells)), mp_context=context, initializer=_one_thread) as pool:
        pending = {pool.submit(function, cell): i for i, cell in enumerate(cells)}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    i = pending.pop(future)
                    results[i] = future.result()
                    if on_result:
                        on_result(i, results[i])
        except BaseException:
            # a failed cell (or Ctrl-C) ends the run: cells not started yet are not started
            for future in pending:
                future.cancel()
            raise
    return results
