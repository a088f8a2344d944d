"""What a measurement ran on, for the headers of benchmark tables and run summaries."""

from __future__ import annotations

import platform
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
