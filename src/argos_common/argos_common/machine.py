"""What a measurement ran on, for the headers of benchmark tables and run summaries."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterable
from importlib import metadata


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_version(name: str, missing: str = "not installed") -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return missing


def describe(libraries: Iterable[str] = ()) -> str:
    """One line for the head of a benchmark table: CPU, cores, OS, Python and library versions."""
    versions = "".join(f", {name} {package_version(name, '(not installed)')}" for name in libraries)
    return (
        f"machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}{versions}"
    )
