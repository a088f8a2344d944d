"""Load and validate config/edge.yaml (ROS 2 parameter-file form) before anything starts.

The same file is handed unchanged to launch_ros on a full ROS 2 install. ROS silently ignores a
parameter nobody declares, so a misspelt key would quietly fall back to its default; this module
checks every key and value against the nodes' ParamSpecs and names the offending key.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from argos_common.files import load_yaml
from argos_common.lines import parse_lines
from argos_common.params import ConfigError, ParamSpec, coerce, expand_specs, flatten, resolve

# node name -> module holding its PARAMS
NODE_PARAM_MODULES = {
    "camera": "argos_camera.params",
    "inference": "argos_inference.params",
    "tracker": "argos_tracker.params",
    "bridge": "argos_bridge.params",
    "annotator": "argos_camera.annotator_params",
}
GLOBAL_SECTION = "/**"
# parameters rclpy declares on every node itself; accepted in any section and left to rclpy
ROS_STANDARD_PARAMETERS = {"use_sim_time": ParamSpec("use_sim_time", "bool", False, "use the /clock topic as time")}
ConfigPaths = str | Path | Sequence[str | Path]


def node_specs(node: str):
    return importlib.import_module(NODE_PARAM_MODULES[node]).PARAMS


@dataclass
class EdgeConfig:
    path: Path
    params: dict[str, dict[str, Any]]  # node -> resolved flat parameters
    explicit: dict[str, dict[str, Any]] = field(default_factory=dict)  # node -> keys set in the file

    def node(self, name: str) -> dict[str, Any]:
        return self.params[name]


DEFAULT_NAMESPACE = "/cam0"


def _parse_section(key: str) -> tuple[str | None, str | None]:
    """`/**` -> (None, None): every node. `camera` or `/**/camera` -> (None, "camera"): that node in
    every camera namespace. `/cam1/camera` -> ("/cam1", "camera"): only camera cam1's node."""
    if key == GLOBAL_SECTION:
        return None, None
    head, _, name = key.rstrip("/").rpartition("/")
    if name not in NODE_PARAM_MODULES:
        raise ConfigError(key, f"unknown node (known: {', '.join(NODE_PARAM_MODULES)}, or {GLOBAL_SECTION} for all)")
    if head in ("", "/**"):
        return None, name
    if "*" in head or not head.startswith("/"):
        raise ConfigError(key, "expected /**/<node> or /<camera namespace>/<node>")
    return head, name


def _read_sections(path: Path) -> list[tuple[str | None, str | None, dict[str, Any]]]:
    """(namespace, node, flat values) per section, in file order."""
    raw = load_yaml(path, "config", "a ROS 2 parameter file in YAML")
    if not isinstance(raw, dict):
        raise ConfigError("config", f"{path} must map node names to ros__parameters")
    sections = []
    for key, body in raw.items():
        namespace, node = _parse_section(str(key))
        if (
            not isinstance(body, dict)
            or set(body) != {"ros__parameters"}
            or not isinstance(body["ros__parameters"], dict)
        ):
            raise ConfigError(str(key), "must contain exactly one mapping, ros__parameters")
        values = flatten(body["ros__parameters"])
        for name in ROS_STANDARD_PARAMETERS.keys() & set(values):
            coerce(ROS_STANDARD_PARAMETERS[name], values.pop(name), f"{key}.{name}")  # rclpy applies it itself
        sections.append((namespace, node, values))
    return sections


def _read_all(paths: ConfigPaths) -> tuple[Path, list[tuple[str | None, str | None, dict[str, Any]]]]:
    """The first file (the config) and the sections of every file in order: a later file's value
    wins, as with several --params-file arguments."""
    files = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    if not files:
        raise ConfigError("config", "no parameter file given")
    return files[0], [section for f in files for section in _read_sections(f)]


def camera_namespaces(paths: ConfigPaths) -> list[str]:
    """The camera namespaces a config names explicitly (`/cam1/camera:` ...), else /cam0."""
    found = sorted({ns for ns, _node, _values in _read_all(paths)[1] if ns})
    return found or [DEFAULT_NAMESPACE]


def _package_checks(node: str, values: dict[str, Any]) -> None:
    """Checks across parameters (e.g. inference area bands vs classes) that a package's params
    module offers as `validate(values)`."""
    check = getattr(importlib.import_module(NODE_PARAM_MODULES[node]), "validate", None)
    if check is not None:
        check(values)


def load_config(
    paths: ConfigPaths, overrides: dict[str, dict[str, Any]] | None = None, namespace: str = DEFAULT_NAMESPACE
) -> EdgeConfig:
    """Resolve the parameters of one camera's nodes from one parameter file or several (later
    files win): defaults < /** < /**/<node> < /<namespace>/<node> < overrides (the more specific
    section wins, as in ROS)."""
    path, sections = _read_all(paths)
    global_values: dict[str, Any] = {}
    per_node: dict[str, dict[str, Any]] = {}
    own_sections: set[str] = set()
    for ns, node, values in sections:  # wildcard sections first ...
        if ns is None and node is None:
            global_values.update(values)
        elif ns is None:
            per_node.setdefault(node, {}).update(values)
    for ns, node, values in sections:  # ... then this camera's own
        if ns == namespace:
            per_node.setdefault(node, {}).update(values)
            own_sections.add(node)
    for node, values in (overrides or {}).items():
        if node not in NODE_PARAM_MODULES:
            raise ConfigError(node, f"unknown node (known: {', '.join(NODE_PARAM_MODULES)})")
        per_node.setdefault(node, {}).update(values)

    params, explicit = {}, {}
    used_globals: set[str] = set()
    for node in NODE_PARAM_MODULES:
        specs = node_specs(node)
        merged = {**global_values, **per_node.get(node, {})}
        known = {s.name for s in expand_specs(specs, merged)}
        mine = {k: v for k, v in global_values.items() if k in known}
        used_globals.update(mine)
        mine.update(per_node.get(node, {}))
        section = f"{namespace}/{node}" if node in own_sections else f"/**/{node}"
        try:
            params[node] = resolve(specs, mine)
            if "lines.names" in params[node]:
                parse_lines(params[node])
            _package_checks(node, params[node])
        except ConfigError as exc:
            raise exc.under(section) from None
        explicit[node] = set(mine)
    for key in global_values:
        if key not in used_globals:
            raise ConfigError(f"{GLOBAL_SECTION}.{key}", "unknown parameter (no node declares it)")
    return EdgeConfig(path, params, explicit)


def parse_assignment(text: str) -> tuple[str, str, Any]:
    """`camera.fps=10.0` -> ("camera", "fps", 10.0); the value is parsed as YAML, except that
    nothing after `=` is the empty string (YAML would read it as null, which no parameter takes)."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise ConfigError("--param", f"expected NODE.NAME=VALUE, got {text!r}")
    lhs, rhs = text.split("=", 1)
    node, name = lhs.split(".", 1)
    if not rhs.strip():
        return node, name, ""
    try:
        return node, name, yaml.safe_load(rhs)
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"{node}.{name}", f"--param value {rhs!r} is not valid YAML ({exc.__class__.__name__})"
        ) from None


def default_config_path() -> Path:
    """config/edge.yaml of the source tree when run from it, else the installed share copy."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "config" / "edge.yaml"
        if candidate.is_file() and (parent / "src" / "argos_bringup").is_dir():
            return candidate
    from ament_index_python.packages import get_package_share_directory

    return Path(get_package_share_directory("argos_bringup")) / "config" / "edge.yaml"


__all__ = [
    "EdgeConfig",
    "load_config",
    "camera_namespaces",
    "parse_assignment",
    "default_config_path",
    "ConfigError",
    "ParamSpec",
]
