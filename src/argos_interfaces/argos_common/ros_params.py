"""Declare ParamSpecs on an rclpy node, with descriptors, and read them back as a flat dict."""
from __future__ import annotations

from typing import Sequence

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType
from rclpy.exceptions import (InvalidParameterTypeException, InvalidParameterValueException,
                              ParameterUninitializedException)
from rclpy.node import Node
from rclpy.parameter import Parameter

from .params import ConfigError, ParamGroup, ParamSpec, coerce, expand_specs

_ROS_TYPES = {
    "bool": ParameterType.PARAMETER_BOOL, "int": ParameterType.PARAMETER_INTEGER,
    "float": ParameterType.PARAMETER_DOUBLE, "str": ParameterType.PARAMETER_STRING,
    "bool[]": ParameterType.PARAMETER_BOOL_ARRAY, "int[]": ParameterType.PARAMETER_INTEGER_ARRAY,
    "float[]": ParameterType.PARAMETER_DOUBLE_ARRAY, "str[]": ParameterType.PARAMETER_STRING_ARRAY,
}

_EMPTY_LIST_TYPES = {
    "bool[]": Parameter.Type.BOOL_ARRAY, "int[]": Parameter.Type.INTEGER_ARRAY,
    "float[]": Parameter.Type.DOUBLE_ARRAY, "str[]": Parameter.Type.STRING_ARRAY,
}


def _descriptor(spec: ParamSpec) -> ParameterDescriptor:
    desc = ParameterDescriptor(name=spec.name, type=_ROS_TYPES[spec.type], description=spec.description,
                               read_only=spec.read_only)
    if spec.choices:
        desc.additional_constraints = "one of: " + ", ".join(map(str, spec.choices))
    if spec.type == "int" and (spec.min is not None or spec.max is not None):
        desc.integer_range = [IntegerRange(from_value=int(spec.min if spec.min is not None else -(2**63)),
                                           to_value=int(spec.max if spec.max is not None else 2**63 - 1), step=0)]
    if spec.type == "float" and (spec.min is not None or spec.max is not None):
        desc.floating_point_range = [FloatingPointRange(
            from_value=float(spec.min if spec.min is not None else -1e308),
            to_value=float(spec.max if spec.max is not None else 1e308), step=0.0)]
    return desc


def declare_params(node: Node, specs: Sequence[ParamSpec | ParamGroup]) -> dict:
    """Declare every spec (groups expanded from their `names` parameter) and return the values,
    checked against the spec (choices and ranges), keyed by parameter name. Raises ConfigError."""
    values: dict = {}
    for spec in specs:
        if isinstance(spec, ParamGroup):
            names = _declare(node, spec.names)
            values[spec.names.name] = names
            for s in spec.expand(names)[1:]:
                values[s.name] = _declare(node, s)
        else:
            values[spec.name] = _declare(node, spec)
    return values


def _declare(node: Node, spec: ParamSpec):
    key = f"{node.get_fully_qualified_name()}.{spec.name}"
    # rclpy infers BYTE_ARRAY from an empty list, which would then refuse a string-array
    # override; an empty list default is declared by its type instead (value left unset).
    initial = _EMPTY_LIST_TYPES[spec.type] if spec.type.endswith("[]") and not spec.default else spec.default
    try:
        node.declare_parameter(spec.name, initial, _descriptor(spec))
    except (InvalidParameterTypeException, InvalidParameterValueException) as exc:
        raise ConfigError(key, str(exc).rsplit(":", 1)[0].strip() or "invalid value") from None
    try:
        value = node.get_parameter(spec.name).value
    except ParameterUninitializedException:
        value = []
    if spec.type.endswith("[]") and value is None:
        value = []
    return coerce(spec, list(value) if spec.type.endswith("[]") else value, key)


__all__ = ["declare_params", "ConfigError", "expand_specs"]
