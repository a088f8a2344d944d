"""File parameters may name files inside an installed ROS package: `package://<pkg>/<relative path>`
(the convention of ROS camera_info and model URLs), so one config works from any working
directory, on a colcon workspace as on an apt install."""

from __future__ import annotations

import os
from pathlib import Path

from .params import ConfigError

PACKAGE_SCHEME = "package://"


def resolve_path(value: str, key: str) -> str:
    """`package://pkg/rel` -> <share of pkg>/rel; `~` expanded; anything else unchanged. Empty stays empty."""
    if not value.startswith(PACKAGE_SCHEME):
        return os.path.expanduser(value) if value else value
    package, _, relative = value[len(PACKAGE_SCHEME) :].partition("/")
    if not package or not relative:
        raise ConfigError(key, f"expected package://<package>/<path>, got {value!r}")
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

    try:
        share = get_package_share_directory(package)
    except PackageNotFoundError:
        raise ConfigError(key, f"package {package!r} of {value} is not installed (not on AMENT_PREFIX_PATH)") from None
    return str(Path(share) / relative)
