"""What each vehicle class of the synthetic scene is: size, rigid units, speed, frequency, look.

A vehicle is one or more rigid units (a truck and its trailer are two) placed one behind the
other along the vehicle's path; each unit carries flat decorations (cab, windows, rider) drawn
in unit-local metres: u from the unit's front (0) backwards to its length, v across (-w/2..w/2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BGR = tuple[int, int, int]

WINDOW = (62, 52, 44)
CAR_PAINTS: tuple[BGR, ...] = (
    (232, 232, 230),
    (28, 28, 30),
    (178, 180, 184),
    (40, 42, 178),
    (150, 84, 34),
    (88, 88, 92),
    (62, 110, 58),
    (120, 150, 190),
)
VAN_PAINTS: tuple[BGR, ...] = ((238, 238, 238), (196, 198, 200), (60, 60, 64), (150, 90, 40))
CAB_PAINTS: tuple[BGR, ...] = ((40, 40, 190), (170, 100, 30), (235, 235, 235), (20, 120, 230), (60, 120, 60))
CARGO_PAINTS: tuple[BGR, ...] = ((214, 214, 208), (190, 196, 200), (60, 130, 200), (110, 130, 90))
BUS_PAINTS: tuple[BGR, ...] = ((20, 196, 240), (40, 40, 196), (200, 140, 40), (236, 236, 236))
SHIRT_PAINTS: tuple[BGR, ...] = ((40, 40, 200), (200, 120, 40), (40, 160, 230), (60, 160, 60), (200, 200, 200))


@dataclass(frozen=True)
class Decoration:
    """A filled polygon (points in unit-local metres) or a disc (centre, radius in metres)."""

    color: BGR
    polygon: np.ndarray | None = None
    center: tuple[float, float] | None = None
    radius: float = 0.0


@dataclass(frozen=True)
class UnitShape:
    behind_front_m: float  # distance from the vehicle's front to this unit's front
    length_m: float
    width_m: float
    decorations: tuple[Decoration, ...]  # the first one is the unit's outline


@dataclass(frozen=True)
class VehicleClass:
    name: str
    length_m: float
    width_m: float
    speed_m_s: float  # desired speed on a free road
    accel_m_s2: float
    weight: float  # relative frequency in the traffic mix
    two_wheeler: bool = False
    can_turn: bool = True


def _rect(u0: float, u1: float, v0: float, v1: float, color: BGR) -> Decoration:
    return Decoration(color, polygon=np.array([(u0, v0), (u1, v0), (u1, v1), (u0, v1)], np.float64))


def _disc(u: float, v: float, r: float, color: BGR) -> Decoration:
    return Decoration(color, center=(u, v), radius=r)


def _shade(color: BGR, factor: float) -> BGR:
    return tuple(int(min(255, max(0, c * factor))) for c in color)  # type: ignore[return-value]


CATALOGUE: dict[str, VehicleClass] = {
    c.name: c
    for c in (
        VehicleClass("motorcycle", 2.2, 0.8, 14.0, 3.0, 0.04, two_wheeler=True),
        VehicleClass("car", 4.5, 1.8, 13.0, 2.0, 0.56),
        VehicleClass("van", 5.5, 2.0, 12.5, 1.7, 0.10),
        VehicleClass("car_with_trailer", 8.0, 1.8, 11.0, 1.4, 0.03),
        VehicleClass("truck", 9.0, 2.5, 11.0, 1.0, 0.06, can_turn=True),
        VehicleClass("truck_with_trailer", 16.0, 2.5, 10.0, 0.8, 0.02, can_turn=False),
        VehicleClass("semi_trailer", 16.5, 2.5, 10.0, 0.8, 0.03, can_turn=False),
        VehicleClass("bus", 12.0, 2.5, 11.0, 1.2, 0.03, can_turn=False),
        VehicleClass("unclassified", 6.0, 2.2, 9.0, 1.2, 0.02),
        VehicleClass("bicycle", 1.8, 0.6, 5.0, 1.0, 0.07, two_wheeler=True),
        VehicleClass("e_scooter", 1.2, 0.5, 5.5, 1.2, 0.04, two_wheeler=True),
    )
}
GENERIC_LOOK = VehicleClass("generic", 5.0, 2.0, 11.0, 1.5, 0.02)


def class_for(name: str) -> VehicleClass:
    """The catalogue entry of `name`; unknown names become a generic vehicle with that label."""
    known = CATALOGUE.get(name)
    if known is not None:
        return known
    return VehicleClass(
        name,
        GENERIC_LOOK.length_m,
        GENERIC_LOOK.width_m,
        GENERIC_LOOK.speed_m_s,
        GENERIC_LOOK.accel_m_s2,
        GENERIC_LOOK.weight,
    )


def _car_body(length: float, width: float, paint: BGR) -> tuple[Decoration, ...]:
    w = width / 2
    return (
        _rect(0, length, -w, w, paint),
        _rect(length * 0.22, length * 0.36, -w * 0.85, w * 0.85, WINDOW),  # windscreen
        _rect(length * 0.36, length * 0.74, -w * 0.78, w * 0.78, _shade(paint, 0.88)),  # roof
        _rect(length * 0.74, length * 0.86, -w * 0.8, w * 0.8, WINDOW),
    )  # rear window


def _box_trailer(length: float, width: float, paint: BGR) -> tuple[Decoration, ...]:
    w = width / 2
    return (_rect(0, length, -w, w, paint), _rect(0.25, length - 0.25, -w * 0.7, w * 0.7, _shade(paint, 0.9)))


def _cab_and_box(length: float, width: float, cab_len: float, cab: BGR, cargo: BGR) -> tuple[Decoration, ...]:
    w = width / 2
    return (
        _rect(0, length, -w, w, cargo),
        _rect(0, cab_len, -w * 0.96, w * 0.96, cab),
        _rect(0.15, 0.75, -w * 0.85, w * 0.85, WINDOW),
        _rect(cab_len + 0.3, length - 0.2, -w * 0.85, w * 0.85, _shade(cargo, 0.92)),
    )


def _bus_body(length: float, width: float, paint: BGR) -> tuple[Decoration, ...]:
    w = width / 2
    decorations = [_rect(0, length, -w, w, paint), _rect(0.1, 0.9, -w * 0.9, w * 0.9, WINDOW)]
    u = 1.6
    while u + 1.1 < length - 0.4:  # the row of side windows seen from above at the roof edge
        decorations.append(_rect(u, u + 1.1, -w * 0.95, -w * 0.62, WINDOW))
        decorations.append(_rect(u, u + 1.1, w * 0.62, w * 0.95, WINDOW))
        u += 1.45
    decorations.append(_rect(length * 0.45, length * 0.6, -w * 0.3, w * 0.3, _shade(paint, 0.75)))  # roof unit
    return tuple(decorations)


def _two_wheeler(
    length: float, width: float, frame: BGR, shirt: BGR, helmet: BGR, standing: bool
) -> tuple[Decoration, ...]:
    w = width / 2
    rider_u = length * (0.45 if standing else 0.55)
    return (
        _rect(0, length, -w * 0.3, w * 0.3, frame),
        _rect(rider_u - 0.22, rider_u + 0.22, -w, w, shirt),  # shoulders
        _disc(rider_u - 0.02, 0.0, min(0.17, w * 0.6), helmet),
        _rect(0.05, 0.15, -w * 0.8, w * 0.8, frame),
    )  # handlebar


def _utility(length: float, width: float) -> tuple[Decoration, ...]:
    w = width / 2
    body = (40, 120, 90)
    return (
        _rect(0, length, -w, w, (45, 45, 45)),  # tyres show at the corners
        _rect(0.3, length - 0.3, -w * 0.8, w * 0.8, body),
        _rect(0.6, 1.6, -w * 0.7, w * 0.7, WINDOW),
        _rect(1.7, 2.0, -w * 0.5, w * 0.5, (0, 170, 250)),
    )  # beacon bar


def _generic(length: float, width: float) -> tuple[Decoration, ...]:
    w = width / 2
    return (
        _rect(0, length, -w, w, (150, 132, 120)),
        _rect(length * 0.18, length * 0.3, -w * 0.8, w * 0.8, WINDOW),
        _rect(length * 0.35, length * 0.95, -w * 0.05, w * 0.05, (110, 96, 88)),
    )


def build_units(vclass: VehicleClass, rng: np.random.Generator) -> tuple[UnitShape, ...]:
    """The rigid units of one vehicle of `vclass`, with colours picked by `rng`."""

    def pick(palette):
        return palette[int(rng.integers(len(palette)))]

    name, length, width = vclass.name, vclass.length_m, vclass.width_m
    if name == "car":
        return (UnitShape(0.0, length, width, _car_body(length, width, pick(CAR_PAINTS))),)
    if name == "van":
        paint = pick(VAN_PAINTS)
        w = width / 2
        return (
            UnitShape(
                0.0,
                length,
                width,
                (
                    _rect(0, length, -w, w, paint),
                    _rect(0.6, 1.2, -w * 0.85, w * 0.85, WINDOW),
                    _rect(1.3, length - 0.2, -w * 0.85, w * 0.85, _shade(paint, 0.93)),
                ),
            ),
        )
    if name == "car_with_trailer":
        car_len, gap = 4.5, 0.8
        return (
            UnitShape(0.0, car_len, width, _car_body(car_len, width, pick(CAR_PAINTS))),
            UnitShape(car_len, gap, 0.15, (_rect(0, gap, -0.07, 0.07, (40, 40, 40)),)),  # drawbar
            UnitShape(
                car_len + gap,
                length - car_len - gap,
                width * 0.95,
                _box_trailer(length - car_len - gap, width * 0.95, (150, 150, 150)),
            ),
        )
    if name == "truck":
        return (UnitShape(0.0, length, width, _cab_and_box(length, width, 2.2, pick(CAB_PAINTS), pick(CARGO_PAINTS))),)
    if name == "truck_with_trailer":
        truck_len, gap = 8.5, 1.0
        cargo = pick(CARGO_PAINTS)
        return (
            UnitShape(0.0, truck_len, width, _cab_and_box(truck_len, width, 2.2, pick(CAB_PAINTS), cargo)),
            UnitShape(truck_len, gap, 0.2, (_rect(0, gap, -0.1, 0.1, (40, 40, 40)),)),
            UnitShape(
                truck_len + gap, length - truck_len - gap, width, _box_trailer(length - truck_len - gap, width, cargo)
            ),
        )
    if name == "semi_trailer":
        tractor_len, coupling = 6.0, 3.0  # the trailer's front rides over the tractor's rear
        cab = pick(CAB_PAINTS)
        w = width / 2
        return (
            UnitShape(
                0.0,
                tractor_len,
                width,
                (
                    _rect(0, tractor_len, -w, w, (50, 50, 50)),
                    _rect(0, 2.4, -w * 0.96, w * 0.96, cab),
                    _rect(0.15, 0.75, -w * 0.85, w * 0.85, WINDOW),
                ),
            ),
            UnitShape(coupling, length - coupling, width, _box_trailer(length - coupling, width, pick(CARGO_PAINTS))),
        )
    if name == "bus":
        return (UnitShape(0.0, length, width, _bus_body(length, width, pick(BUS_PAINTS))),)
    if name == "unclassified":
        return (UnitShape(0.0, length, width, _utility(length, width)),)
    if name == "motorcycle":
        return (
            UnitShape(
                0.0, length, width, _two_wheeler(length, width, (35, 35, 38), pick(SHIRT_PAINTS), (20, 20, 20), False)
            ),
        )
    if name == "bicycle":
        return (
            UnitShape(
                0.0,
                length,
                width,
                _two_wheeler(length, width, (175, 180, 185), pick(SHIRT_PAINTS), (230, 230, 230), False),
            ),
        )
    if name == "e_scooter":
        return (
            UnitShape(
                0.0, length, width, _two_wheeler(length, width, (25, 25, 25), pick(SHIRT_PAINTS), (40, 200, 60), True)
            ),
        )
    return (UnitShape(0.0, length, width, _generic(length, width)),)
