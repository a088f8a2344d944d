"""The machine a result was measured on, for the header of every table."""

from __future__ import annotations

import os
import platform

from argos_common.machine import cpu_model, package_version

LIBRARIES = ("numpy", "scipy", "filterpy", "supervision", "motmetrics", "pandas")


def describe() -> str:
    versions = [f"{name} {package_version(name, '(not installed)')}" for name in LIBRARIES]
    return f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, " + ", ".join(versions)
