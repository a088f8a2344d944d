"""Vehicles in 3D for the pole view: each rigid unit (vehicle_classes.UnitShape) as a few stacked
boxes ("blocks") of real size, in unit-local metres like the top-down sprites: u from the
unit's front backwards, v across, z up from the road.

Colours come from the unit's own decorations (picked by the traffic stream when the vehicle
arrived), so nothing here draws a random number and both views show the same paint.
Blocks of one unit touch or stack but never interpenetrate, which keeps the painter's order
between them well defined (depth.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from .vehicle_classes import WINDOW, UnitShape, _shade

BGR = tuple[int, int, int]
UNDERBODY = (34, 34, 36)  # tyres, chassis and the shadow under a body
TRIM = (52, 52, 54)
TYRE = (26, 26, 28)
TROUSERS = (58, 52, 48)
# lamp flags of a block (night): head lamps on its front face, tail lamps on its back face,
# SINGLE: one lamp of each (two-wheelers)
LAMPS_NONE, HEAD, TAIL, SINGLE = 0, 1, 2, 4
BOTH = HEAD | TAIL


@dataclass(frozen=True)
class Block:
    u0: float  # front face, metres behind the unit's front
    u1: float  # back face
    half_width: float
    z0: float
    z1: float
    top: BGR
    side: BGR
    front: BGR
    back: BGR
    lamps: int = LAMPS_NONE  # HEAD | TAIL | SINGLE


def _box(u0, u1, half_width, z0, z1, color: BGR, front: BGR | None = None, lamps: int = LAMPS_NONE) -> Block:
    return Block(u0, u1, half_width, z0, z1, color, color, front or color, color, lamps)


def _glass(u0, u1, half_width, z0, z1, roof: BGR) -> Block:
    return Block(u0, u1, half_width, z0, z1, roof, WINDOW, WINDOW, WINDOW)


def _car(length: float, w: float, paint: BGR) -> list[Block]:
    return [
        _box(0.4, length - 0.4, w * 0.92, 0.0, 0.32, UNDERBODY),
        _box(0.0, length, w, 0.32, 0.95, paint, lamps=BOTH),
        _glass(length * 0.24, length * 0.84, w * 0.86, 0.95, 1.47, _shade(paint, 0.88)),
    ]


def _box_trailer(length: float, w: float, paint: BGR, z0: float, z1: float) -> list[Block]:
    return [
        _box(0.3, length - 0.3, w * 0.9, 0.0, z0, UNDERBODY),
        Block(0.0, length, w, z0, z1, _shade(paint, 0.9), paint, paint, paint, TAIL),
    ]


def _cab_and_box(length: float, w: float, cab_len: float, cab: BGR, cargo: BGR) -> list[Block]:
    return [
        _box(0.3, length - 0.3, w * 0.97, 0.0, 0.55, UNDERBODY),  # wheels and chassis fill the gap under the box
        _box(0.0, cab_len, w * 0.96, 0.55, 1.75, cab, lamps=HEAD),
        Block(0.0, cab_len, w * 0.96, 1.75, 2.95, cab, _shade(cab, 0.8), WINDOW, cab),
        _box(cab_len + 0.2, length, w, 0.55, 3.6, cargo, lamps=TAIL),
    ]


def _tractor(length: float, w: float, cab: BGR) -> list[Block]:
    return [
        _box(0.3, 2.4, w * 0.9, 0.0, 0.55, UNDERBODY),
        _box(0.0, 2.4, w * 0.96, 0.55, 1.85, cab, lamps=HEAD),
        Block(0.0, 2.4, w * 0.96, 1.85, 3.2, cab, _shade(cab, 0.8), WINDOW, cab),
        _box(2.4, length - 0.1, w * 0.9, 0.0, 1.1, TRIM),  # chassis and fifth wheel, under the trailer's front
    ]


def _semi_trailer(length: float, w: float, cargo: BGR) -> list[Block]:
    # the trailer's front rides over the tractor's chassis (top 1.1 m): its box starts above it
    return [
        _box(length - 4.5, length - 0.4, w * 0.97, 0.0, 1.2, UNDERBODY),
        Block(0.0, length, w, 1.2, 4.0, _shade(cargo, 0.9), cargo, cargo, cargo, TAIL),
    ]


def _bus(length: float, w: float, paint: BGR) -> list[Block]:
    return [
        _box(0.5, length - 0.5, w * 0.9, 0.0, 0.35, UNDERBODY),
        _box(0.0, length, w, 0.35, 1.25, paint, lamps=BOTH),
        _glass(0.0, length, w * 0.98, 1.25, 2.4, paint),
        _box(0.0, length, w, 2.4, 3.05, paint),
    ]


def _van(length: float, w: float, paint: BGR) -> list[Block]:
    return [
        _box(0.4, length - 0.4, w * 0.92, 0.0, 0.35, UNDERBODY),
        _box(0.0, length, w, 0.35, 1.15, paint, lamps=BOTH),
        Block(0.55, length, w * 0.97, 1.15, 2.3, _shade(paint, 0.93), paint, WINDOW, paint),
    ]


def _utility(length: float, w: float, body: BGR, beacon: BGR) -> list[Block]:
    return [
        _box(0.4, length - 0.4, w * 0.92, 0.0, 0.45, UNDERBODY),
        _box(0.0, length, w, 0.45, 1.25, body, lamps=BOTH),
        Block(0.5, length - 0.3, w * 0.92, 1.25, 2.15, body, body, WINDOW, body),
        _box(1.7, 2.0, w * 0.5, 2.15, 2.35, beacon),
    ]


def _two_wheeler(length: float, w: float, frame: BGR, shirt: BGR, helmet: BGR, standing: bool) -> list[Block]:
    """Two wheels with the frame (a motorcycle's engine, a scooter's deck) between them, the
    rider's legs on it, torso and helmet above: mostly air, as a bicycle is, not a slab."""
    rider = length * (0.45 if standing else 0.55)
    seat = 1.05 if standing else 0.9
    wheel = min(0.65, length * 0.3)
    motor = length > 2.0  # a motorcycle: a wide, tall middle
    top = 0.2 if standing else (0.7 if motor else 0.55)
    bottom = 0.08 if standing else 0.3
    return [
        _box(0.0, wheel, 0.05, 0.0, wheel, TYRE, lamps=HEAD | SINGLE),
        _box(length - wheel, length, 0.05, 0.0, wheel, TYRE, lamps=TAIL | SINGLE),
        _box(wheel, length - wheel, w * (0.6 if motor else 0.15), bottom, top, frame),
        _box(rider - 0.18, rider + 0.18, w * 0.45, top, seat, TROUSERS),
        _box(rider - 0.22, rider + 0.22, w * 0.5, seat, seat + 0.55, shirt),
        _box(rider - 0.14, rider + 0.12, 0.13, seat + 0.55, seat + 0.82, helmet),
    ]


def _generic(length: float, w: float, paint: BGR) -> list[Block]:
    return [
        _box(0.4, length - 0.4, w * 0.92, 0.0, 0.35, UNDERBODY),
        _box(0.0, length, w, 0.35, 1.05, paint, lamps=BOTH),
        _glass(length * 0.2, length * 0.95, w * 0.88, 1.05, 1.8, _shade(paint, 0.9)),
    ]


def unit_blocks(class_name: str, index: int, unit: UnitShape) -> list[Block]:
    """The blocks of unit `index` of a vehicle of class `class_name` (vehicle_classes.build_units)."""
    length, w = unit.length_m, unit.width_m / 2.0
    colors = [d.color for d in unit.decorations]
    if class_name == "car" or (class_name == "car_with_trailer" and index == 0):
        return _car(length, w, colors[0])
    if class_name in ("car_with_trailer", "truck_with_trailer") and index == 1:
        return [_box(0.0, length, max(w, 0.07), 0.35, 0.5, TRIM)]  # drawbar
    if class_name == "car_with_trailer":
        return _box_trailer(length, w, colors[0], 0.4, 1.35)
    if class_name == "truck" or (class_name == "truck_with_trailer" and index == 0):
        return _cab_and_box(length, w, 2.2, colors[1], colors[0])
    if class_name == "truck_with_trailer":
        return _box_trailer(length, w, colors[0], 0.9, 3.6)
    if class_name == "semi_trailer":
        return _tractor(length, w, colors[1]) if index == 0 else _semi_trailer(length, w, colors[0])
    if class_name == "bus":
        return _bus(length, w, colors[0])
    if class_name == "van":
        return _van(length, w, colors[0])
    if class_name == "unclassified":
        return _utility(length, w, colors[1], colors[3])
    if class_name in ("motorcycle", "bicycle", "e_scooter"):
        return _two_wheeler(length, w, colors[0], colors[1], colors[2], class_name == "e_scooter")
    return _generic(length, w, colors[0])
