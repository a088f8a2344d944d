"""The machine a tracker result was measured on, for the header of every table."""

from __future__ import annotations

from argos_common.machine import describe as describe_machine

LIBRARIES = (
    "numpy",
    "scipy",
    "filterpy",
    "supervision",
    "trackers",
    "motmetrics",
    "trackeval",
    "pandas",
    "onnxruntime",
)


def describe() -> str:
    return describe_machine(LIBRARIES)
