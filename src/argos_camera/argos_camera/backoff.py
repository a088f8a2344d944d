"""Exponential reconnection backoff: first retry soon, then doubling up to a ceiling."""

from __future__ import annotations


class Backoff:
    def __init__(self, initial_s: float, max_s: float, factor: float = 2.0):
        if initial_s <= 0 or max_s < initial_s or factor < 1.0:
            raise ValueError(
                f"backoff needs 0 < initial_s <= max_s and factor >= 1 (got {initial_s}, {max_s}, {factor})"
            )
        self.initial_s = initial_s
        self.max_s = max_s
        self.factor = factor
        self.attempts = 0

    def next_delay(self) -> float:
        """The pause before the next attempt; each call counts one attempt."""
        delay = min(self.max_s, self.initial_s * self.factor**self.attempts)
        self.attempts += 1
        return delay

    def reset(self) -> None:
        """The source delivered again: the next loss starts from the initial delay."""
        self.attempts = 0
