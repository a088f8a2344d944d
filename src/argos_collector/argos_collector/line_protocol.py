"""InfluxDB line protocol: one point per line, `measurement,tag=v field=v timestamp_ns`.

Escaping follows the protocol reference: measurement escapes comma and space; tag keys, tag
values and field keys escape comma, equals sign and space; string field values are quoted with
backslash and double quote escaped. Integers carry the `i` suffix. Tags are written sorted by
key (InfluxDB's own order, and what makes equal points byte-identical). Empty tag values are
left out: the protocol has no empty tag value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


def _escape(text: str, chars: str) -> str:
    out = text.replace("\\", "\\\\") if "\\" in chars else text
    for ch in chars.replace("\\", ""):
        out = out.replace(ch, "\\" + ch)
    return out


def _field_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("line protocol has no NaN or infinite field values")
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Point:
    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, object]
    time_ns: int

    def line(self) -> str:
        fields = {k: v for k, v in self.fields.items() if v is not None}
        if not fields:
            raise ValueError(f"point {self.measurement} has no fields")
        head = _escape(self.measurement, ", ")
        for key in sorted(self.tags):
            value = self.tags[key]
            if value != "":
                head += f",{_escape(key, ',= ')}={_escape(str(value), ',= ')}"
        body = ",".join(f"{_escape(k, ',= ')}={_field_value(v)}" for k, v in fields.items())
        return f"{head} {body} {int(self.time_ns)}"


def to_lines(points) -> str:
    return "\n".join(p.line() for p in points) + "\n"
