"""Parameter specifications shared by the ROS nodes and the config validator.

Every node package lists its parameters once as `ParamSpec`s. The rclpy node declares them
(with descriptors: description, ranges, read-only), and `argos_bringup.config` validates
`config/edge.yaml` against the same list before anything starts, so a typo or an out-of-range
value is reported with the offending key instead of being silently ignored by ROS.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

PARAM_TYPES = ("bool", "int", "float", "str", "bool[]", "int[]", "float[]", "str[]")
# An item name becomes a segment of ROS parameter names (lines.<name>.points), a plain YAML key
# and a line_id in payloads and InfluxDB tags: letters, digits and underscores only.
ITEM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class ConfigError(ValueError):
    """A configuration value is wrong; the message starts with the offending key."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem

    def __reduce__(self):
        # raised in an evaluation's worker process, it must cross back to the parent intact
        return (type(self), (self.key, self.problem))

    def under(self, prefix: str) -> ConfigError:
        """The same error with its key placed under `prefix` (a node's fully qualified name, a
        config section, a command-line flag): `under("/cam0/tracker")` turns `low_score` into
        `/cam0/tracker.low_score`. A key already under the prefix is kept as it is."""
        prefix = prefix.rstrip(".")
        if not prefix or self.key == prefix or self.key.startswith(prefix + "."):
            return self
        return ConfigError(f"{prefix}.{self.key}", self.problem)


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str
    default: Any
    description: str
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    read_only: bool = True

    def __post_init__(self):
        if self.type not in PARAM_TYPES:
            raise ValueError(f"ParamSpec {self.name}: unknown type {self.type}")
        object.__setattr__(self, "default", coerce(self, self.default, self.name))


@dataclass(frozen=True)
class ParamGroup:
    """Parameters repeated per named item, e.g. counting lines:

    lines.names: [stop_north]  then  lines.stop_north.points: [...], lines.stop_north.lanes: [...]
    """

    prefix: str
    fields: tuple[ParamSpec, ...]
    description: str = ""
    names_read_only: bool = True
    names: ParamSpec = field(init=False)

    def __post_init__(self):
        object.__setattr__(
            self,
            "names",
            ParamSpec(
                f"{self.prefix}.names",
                "str[]",
                [],
                f"names of the {self.description or self.prefix} entries",
                read_only=self.names_read_only,
            ),
        )

    def expand(self, item_names: Iterable[str]) -> list[ParamSpec]:
        specs = [self.names]
        seen: set[str] = set()
        for item in item_names:
            if not ITEM_NAME.fullmatch(item):
                raise ConfigError(
                    self.names.name,
                    f"{item!r} is not a usable {self.description or self.prefix} name (a letter, then letters, "
                    "digits or _)",
                )
            if item in seen:
                raise ConfigError(self.names.name, f"{item!r} is named twice")
            seen.add(item)
            for f in self.fields:
                specs.append(
                    ParamSpec(
                        f"{self.prefix}.{item}.{f.name}",
                        f.type,
                        f.default,
                        f.description,
                        f.min,
                        f.max,
                        f.choices,
                        f.read_only,
                    )
                )
        return specs


def writable(*specs: ParamSpec | ParamGroup) -> list[ParamSpec | ParamGroup]:
    """The same parameters, changeable while the node runs (a node that takes them live lists
    them through this; the shared definitions stay read-only for every other node)."""
    out: list[ParamSpec | ParamGroup] = []
    for s in specs:
        if isinstance(s, ParamGroup):
            fields = tuple(replace(f, read_only=False) for f in s.fields)
            out.append(ParamGroup(s.prefix, fields, s.description, names_read_only=False))
        else:
            out.append(replace(s, read_only=False))
    return out


def live_names(specs: Sequence[ParamSpec | ParamGroup]) -> list[str]:
    """Names of the parameters that can change while the node runs (groups as `prefix.*`)."""
    out = []
    for s in specs:
        if isinstance(s, ParamGroup):
            if not s.names.read_only:
                out.append(f"{s.prefix}.*")
        elif not s.read_only:
            out.append(s.name)
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _coerce_scalar(kind: str, value: Any, key: str) -> Any:
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise ConfigError(key, f"expected true/false, got {value!r}")
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(key, f"expected an integer, got {value!r}")
    if kind == "float":
        if isinstance(value, float):
            return value
        if _is_number(value):
            # ROS 2 parameter types are strict: launch_ros would reject an integer here.
            raise ConfigError(
                key, f"expected a floating-point number; write {value}.0 (ROS 2 parameter types are strict)"
            )
        raise ConfigError(key, f"expected a number, got {value!r}")
    if isinstance(value, str):
        return value
    raise ConfigError(key, f"expected a string, got {value!r}")


def coerce(spec: ParamSpec, value: Any, key: str | None = None) -> Any:
    """Check `value` against `spec` and return it in canonical form (raises ConfigError)."""
    key = key or spec.name
    if spec.type.endswith("[]"):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(key, f"expected a list of {spec.type[:-2]}, got {value!r}")
        items = [_coerce_scalar(spec.type[:-2], v, f"{key}[{i}]") for i, v in enumerate(value)]
        for i, v in enumerate(items):
            _check_bounds(spec, v, f"{key}[{i}]")
        return items
    value = _coerce_scalar(spec.type, value, key)
    _check_bounds(spec, value, key)
    return value


def _check_bounds(spec: ParamSpec, value: Any, key: str) -> None:
    if spec.choices and value not in spec.choices:
        raise ConfigError(key, f"{value!r} is not one of {', '.join(map(str, spec.choices))}")
    if _is_number(value):
        if spec.min is not None and value < spec.min:
            raise ConfigError(key, f"{value} is below the minimum {spec.min}")
        if spec.max is not None and value > spec.max:
            raise ConfigError(key, f"{value} is above the maximum {spec.max}")


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """ROS 2 parameter files nest names with mappings: {a: {b: 1}} is parameter `a.b`."""
    flat: dict[str, Any] = {}
    for k, v in tree.items():
        name = f"{prefix}{k}"
        if isinstance(v, Mapping):
            flat.update(flatten(v, name + "."))
        else:
            flat[name] = v
    return flat


def expand_specs(specs: Sequence[ParamSpec | ParamGroup], values: Mapping[str, Any]) -> list[ParamSpec]:
    """Concrete ParamSpecs for `values` (groups expanded with the item names given in values)."""
    out: list[ParamSpec] = []
    for s in specs:
        if isinstance(s, ParamGroup):
            names = values.get(s.names.name, s.names.default)
            out.extend(s.expand(coerce(s.names, names)))
        else:
            out.append(s)
    return out


def resolve(
    specs: Sequence[ParamSpec | ParamGroup], values: Mapping[str, Any], allow_unknown: bool = False
) -> dict[str, Any]:
    """Defaults overlaid with `values` (flat names), every value checked; a ConfigError names the
    parameter (callers place it with `ConfigError.under`, e.g. under the config section)."""
    concrete = expand_specs(specs, values)
    known = {s.name: s for s in concrete}
    if not allow_unknown:
        for k in values:
            if k not in known:
                hint = _closest(k, known)
                raise ConfigError(k, "unknown parameter" + (f" (did you mean {hint}?)" if hint else ""))
    resolved = {}
    for name, spec in known.items():
        resolved[name] = coerce(spec, values[name], name) if name in values else spec.default
    return resolved


def update(
    specs: Sequence[ParamSpec | ParamGroup], declared: Mapping[str, Any], changes: Mapping[str, Any]
) -> dict[str, Any]:
    """The resolved parameters after `changes` to a running node's `declared` values (every
    parameter it holds, also those of group items no longer named), by the rules of `resolve`.
    A group item named for the first time has no parameters a running node could hold: it is an
    error naming the group's `names` (it needs a restart with the item in the parameter file)."""
    merged = {**declared, **changes}
    for s in specs:
        if not isinstance(s, ParamGroup):
            continue
        for item in coerce(s.names, merged.get(s.names.name, s.names.default)):
            missing = [f"{s.prefix}.{item}.{f.name}" for f in s.fields if f"{s.prefix}.{item}.{f.name}" not in merged]
            if missing:
                raise ConfigError(
                    s.names.name,
                    f"{item!r} is a new {s.description or s.prefix}: its parameters ({', '.join(missing)}) "
                    "exist only from the start; add it to the parameter file and restart",
                )
    concrete = {c.name for c in expand_specs(specs, merged)}
    for name in changes:
        if name not in concrete:
            raise ConfigError(name, "not a parameter of this node's current configuration")
    return resolve(specs, {k: v for k, v in merged.items() if k in concrete})


def _closest(name: str, known: Mapping[str, Any]) -> str | None:
    import difflib

    match = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return match[0] if match else None
