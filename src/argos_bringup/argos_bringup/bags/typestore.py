"""A rosbags typestore that knows every message type the graph uses.

The Kilted store knows the core ROS types; interface packages it lacks (vision_msgs,
argos_interfaces, ...) are read from the .msg files installed on AMENT_PREFIX_PATH, so a bag
carries the same definitions (and RIHS01 hashes) as the live system.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore


def _msg_file(msgtype: str) -> Path | None:
    package, _, name = msgtype.split("/")
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        path = Path(prefix) / "share" / package / "msg" / f"{name}.msg"
        if prefix and path.is_file():
            return path
    return None


def _register(store: Typestore, msgtype: str, seen: set[str]) -> None:
    if msgtype in store.fielddefs or msgtype in seen:
        return
    seen.add(msgtype)
    path = _msg_file(msgtype)
    if path is None:
        raise LookupError(f"message type {msgtype} is not installed (no share/.../msg/*.msg on AMENT_PREFIX_PATH)")
    types = get_types_from_msg(path.read_text(), msgtype)
    # nested types of other packages first, so the definition is complete
    for _name, (_consts, fields) in types.items():
        for _fname, desc in fields:
            for ref in _referenced(desc):
                _register(store, ref, seen)
    store.register(types)


def _referenced(desc) -> Iterable[str]:
    node_type, arg = desc
    if getattr(node_type, "name", "") == "NAME":
        yield arg
    elif isinstance(arg, tuple):
        inner = arg[0] if isinstance(arg[0], tuple) else None
        if inner is not None:
            yield from _referenced(inner)


@cache
def _store_for(msgtypes: frozenset[str]) -> Typestore:
    store = get_typestore(Stores.ROS2_KILTED)
    seen: set[str] = set()
    for msgtype in sorted(msgtypes):
        _register(store, msgtype, seen)
    return store


def typestore_for(msgtypes: Iterable[str]) -> Typestore:
    return _store_for(frozenset(msgtypes))
