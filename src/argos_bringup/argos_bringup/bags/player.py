"""Playback timing of a recording: rate, start offset, loop (pure; the node publishes)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .reader import BagMessage


@dataclass(frozen=True)
class Scheduled:
    at_s: float  # when to publish, seconds after playback started
    bag_time_ns: int  # the message's bag timestamp (what /clock shows)
    message: BagMessage


def parse_remaps(remaps: Iterable[str]) -> dict[str, str]:
    out = {}
    for text in remaps or ():
        src, sep, dst = text.partition(":=")
        if not sep or not src or not dst:
            raise ValueError(f"--remap: expected FROM:=TO, got {text!r}")
        out[src] = dst
    return out


def schedule(
    messages: Iterable[BagMessage], *, rate: float = 1.0, start_offset_s: float = 0.0, loops: int = 1
) -> Iterator[Scheduled]:
    """Messages with their publish times. `loops` 0 means forever. Each loop restarts the
    recording's clock at the end of the previous one, so time never goes backwards."""
    if rate <= 0:
        raise ValueError("--rate: must be > 0")
    items = list(messages)
    if not items:
        return
    first = items[0].stamp_ns + int(start_offset_s * 1e9)
    items = [m for m in items if m.stamp_ns >= first]
    if not items:
        return
    span_ns = items[-1].stamp_ns - first
    loop = 0
    while loops == 0 or loop < loops:
        base_s = loop * (span_ns / 1e9 / rate + 1e-3)
        for m in items:
            yield Scheduled(base_s + (m.stamp_ns - first) / 1e9 / rate, m.stamp_ns, m)
        loop += 1
