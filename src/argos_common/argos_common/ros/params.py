"""Declare ParamSpecs on an rclpy node, with descriptors, and read them back as a flat dict; and
the one map from ParamSpec types to rclpy parameter types."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.exceptions import ParameterException, ParameterUninitializedException
from rclpy.node import Node
from rclpy.parameter import Parameter

from ..params import ConfigError, ParamGroup, ParamSpec, coerce, expand_specs, update

PARAMETER_TYPES = {
    "bool": Parameter.Type.BOOL,
    "int": Parameter.Type.INTEGER,
    "float": Parameter.Type.DOUBLE,
    "str": Parameter.Type.STRING,
    "bool[]": Parameter.Type.BOOL_ARRAY,
    "int[]": Parameter.Type.INTEGER_ARRAY,
    "float[]": Parameter.Type.DOUBLE_ARRAY,
    "str[]": Parameter.Type.STRING_ARRAY,
}


READ_ONLY_NOTE = " [read-only: set in the parameter file, takes effect at the next start]"
LIVE_NOTE = " [live: can be set while the node runs]"


def _descriptor(spec: ParamSpec) -> ParameterDescriptor:
    note = READ_ONLY_NOTE if spec.read_only else LIVE_NOTE
    desc = ParameterDescriptor(
        name=spec.name,
        type=PARAMETER_TYPES[spec.type].value,
        description=spec.description + note,
        read_only=spec.read_only,
    )
    if spec.choices:
        desc.additional_constraints = "one of: " + ", ".join(map(str, spec.choices))
    if spec.type == "int" and (spec.min is not None or spec.max is not None):
        desc.integer_range = [
            IntegerRange(
                from_value=int(spec.min if spec.min is not None else -(2**63)),
                to_value=int(spec.max if spec.max is not None else 2**63 - 1),
                step=0,
            )
        ]
    if spec.type == "float" and (spec.min is not None or spec.max is not None):
        desc.floating_point_range = [
            FloatingPointRange(
                from_value=float(spec.min if spec.min is not None else -1e308),
                to_value=float(spec.max if spec.max is not None else 1e308),
                step=0.0,
            )
        ]
    return desc


def declare_params(node: Node, specs: Sequence[ParamSpec | ParamGroup]) -> dict:
    """Declare every spec (groups expanded from their `names` parameter) and return the values,
    checked against the spec (choices and ranges), keyed by parameter name. A value rclpy or the
    spec refuses raises ConfigError keyed `<node's fully qualified name>.<parameter>`."""
    values: dict = {}
    try:
        for spec in specs:
            if isinstance(spec, ParamGroup):
                names = _declare(node, spec.names)
                values[spec.names.name] = names
                for s in spec.expand(names)[1:]:
                    values[s.name] = _declare(node, s)
            else:
                values[spec.name] = _declare(node, spec)
    except ConfigError as exc:
        raise exc.under(node.get_fully_qualified_name()) from None
    return values


@contextmanager
def configuring(node: Node) -> Iterator[None]:
    """Build a node's configuration inside this block: a ConfigError raised in it names the
    parameter under the node's fully qualified name (`/cam0/tracker.low_score`), and the half-built
    node is destroyed before the error leaves the constructor."""
    try:
        yield
    except ConfigError as exc:
        name = node.get_fully_qualified_name()
        node.destroy_node()
        raise exc.under(name) from None


def _declare(node: Node, spec: ParamSpec):
    # rclpy infers BYTE_ARRAY from an empty list, which would then refuse a string-array
    # override; an empty list default is declared by its type instead (value left unset).
    initial = PARAMETER_TYPES[spec.type] if spec.type.endswith("[]") and not spec.default else spec.default
    try:
        node.declare_parameter(spec.name, initial, _descriptor(spec))
    except ParameterException as exc:
        # rclpy's message ends in ": <name>"; the key says which parameter
        raise ConfigError(spec.name, str(exc).removesuffix(f": {spec.name}").strip() or "invalid value") from None
    try:
        value = node.get_parameter(spec.name).value
    except ParameterUninitializedException:
        value = []
    if spec.type.endswith("[]") and value is None:
        value = []
    return coerce(spec, list(value) if spec.type.endswith("[]") else value, spec.name)


def parameter_overrides(specs: Sequence[ParamSpec | ParamGroup], values: Mapping[str, Any]) -> list[Parameter]:
    """`values` (flat, already validated) as rclpy Parameters for a node built in-process."""
    concrete = expand_specs(specs, values)
    # An empty list loses its element type on the way through rclpy (it arrives as BYTE_ARRAY);
    # the nodes declare empty lists by type already, so there is nothing to override.
    return [
        Parameter(s.name, PARAMETER_TYPES[s.type], values[s.name])
        for s in concrete
        if s.name in values and not (isinstance(values[s.name], list) and not values[s.name])
    ]


class LiveParameters:
    """Runtime changes of a node's writable parameters through rclpy's parameter services (what
    `ros2 param set` calls). rclpy itself refuses read-only parameters and wrong types; every
    other request is checked by the rules the parameter file is checked by (`argos_common.params
    .update`: ranges, choices, group items; then the node's own `apply`, which runs the package's
    `validate` and builds what it needs before it changes anything). A refusal names the
    parameter and the reason in SetParametersResult, and the node keeps its old values.

    `apply(values, changed)`: the complete resolved parameters and the names that changed; raises
    ConfigError to refuse."""

    def __init__(
        self,
        node: Node,
        specs: Sequence[ParamSpec | ParamGroup],
        declared: Mapping[str, Any],
        apply: Callable[[dict, set[str]], None],
    ):
        self._node = node
        self._specs = list(specs)
        self._declared = dict(declared)
        self._apply = apply
        self.refused = 0
        node.add_on_set_parameters_callback(self._on_set)

    def _on_set(self, parameters: list[Parameter]) -> SetParametersResult:
        changes = {}
        for p in parameters:
            value = p.value
            if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
                value = list(value)
            changes[p.name] = value
        # parameters rclpy owns (use_sim_time) are none of ours
        ours = {k: v for k, v in changes.items() if k in self._declared}
        if not ours:
            return SetParametersResult(successful=True)
        try:
            values = update(self._specs, self._declared, ours)
            changed = {k for k, v in ours.items() if self._declared[k] != values.get(k, v)}
            self._apply(values, changed)
        except ConfigError as exc:
            self.refused += 1
            reason = str(exc.under(self._node.get_fully_qualified_name()))
            self._node.get_logger().warning(f"parameter change refused: {reason}")
            return SetParametersResult(successful=False, reason=reason)
        self._declared.update(ours)
        return SetParametersResult(successful=True)
