"""Traffic of the synthetic intersection, in scene time: arrivals, car following, signals.

Longitudinal motion is the Intelligent Driver Model (free-road speed, safe time gap, a
comfortable stop behind a leader or at a red stop line), so queues form and dissolve in
stop-and-go. Positions are clamped so a follower never overlaps its leader and never passes a
red stop line. Everything random comes from one seeded generator, in a fixed order, so a seed
replays the same traffic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .road_network import INNER, OUTER, PIXELS_PER_METER, Route, build_routes
from .vehicle_classes import UnitShape, VehicleClass, build_units, class_for

MAX_STEP_S = 1.0 / 15.0  # sub-step larger frame intervals for a stable integration
TIME_GAP_S = 1.2
MIN_GAP_M = 2.0
COMFORT_DECEL = 2.5  # m/s^2
EMERGENCY_DECEL = 9.0
TURN_SPEED_M_S = 4.0
TURN_PROBABILITY = 0.2
MAX_PENDING = 6  # arrivals waiting for room at the image edge, per lane
LOOKAHEAD_LINKS = 2
# vehicles per hour and approach at density 1 (the horizontal road is the main road)
APPROACH_FLOW = {"eastbound": 700.0, "westbound": 700.0, "southbound": 420.0, "northbound": 420.0}
# two-phase signal: (seconds, east-west state, north-south state)
SIGNAL_PLAN = (
    (14.0, "green", "red"),
    (3.0, "amber", "red"),
    (2.0, "red", "red"),
    (12.0, "red", "green"),
    (3.0, "red", "amber"),
    (2.0, "red", "red"),
)
SIGNAL_CYCLE_S = sum(p[0] for p in SIGNAL_PLAN)
# long reds: queues grow back across the counting lines, then drain in stop-and-go
STOP_AND_GO_SIGNAL_PLAN = (
    (18.0, "green", "red"),
    (3.0, "amber", "red"),
    (2.0, "red", "red"),
    (40.0, "red", "green"),
    (3.0, "red", "amber"),
    (2.0, "red", "red"),
)


def signal_states(t: float, plan=SIGNAL_PLAN) -> dict[str, str]:
    """{"ew": state, "ns": state} at scene time t."""
    t = t % sum(p[0] for p in plan)
    for duration, ew, ns in plan:
        if t < duration:
            return {"ew": ew, "ns": ns}
        t -= duration
    return {"ew": "red", "ns": "red"}


@dataclass
class Vehicle:
    number: int
    vclass: VehicleClass
    route: Route
    units: tuple[UnitShape, ...]
    desired_speed: float  # px/s
    accel: float  # px/s^2
    s: float = 0.0  # front bumper along the route, px
    v: float = 0.0  # px/s
    committed: bool = False  # went on amber: keeps going
    length: float = field(init=False)  # px

    def __post_init__(self):
        self.length = self.vclass.length_m * PIXELS_PER_METER

    @property
    def object_id(self) -> str:
        return f"gt-{self.number}"

    @property
    def label(self) -> str:
        return self.vclass.name

    @property
    def rear(self) -> float:
        return self.s - self.length

    def occupies_box(self) -> bool:
        return self.s > self.route.box_start and self.rear < self.route.box_end


def unit_pose(v: Vehicle, unit: UnitShape) -> tuple[np.ndarray, np.ndarray]:
    """(front point in base px, unit forward axis) of one rigid unit of `v`: the axis is the chord
    from the unit's rear to its front on the route (a rigid unit on a curve)."""
    fx, fy, hx, hy = v.route.pose(v.s - unit.behind_front_m * PIXELS_PER_METER)
    rx, ry = v.route.pose(v.s - (unit.behind_front_m + unit.length_m) * PIXELS_PER_METER)[:2]
    axis = np.array([fx - rx, fy - ry])
    norm = float(np.hypot(*axis))
    axis = axis / norm if norm > 1e-6 else np.array([hx, hy])
    return np.array([fx, fy]), axis


@dataclass
class _Arrival:
    vclass: VehicleClass
    turns: bool


class Traffic:
    def __init__(self, rng: np.random.Generator, classes: list[str], density: float = 1.0, signal_plan=SIGNAL_PLAN):
        if not classes:
            raise ValueError("classes: the synthetic scene needs at least one class")
        self.rng = rng
        self.density = density
        self.signal_plan = tuple(signal_plan)
        self.routes = build_routes()
        self.classes = [class_for(name) for name in classes]
        weights = np.array([c.weight for c in self.classes], np.float64)
        self.class_weights = weights / weights.sum()
        self.vehicles: list[Vehicle] = []
        self.time = 0.0
        self.signals = signal_states(0.0, self.signal_plan)
        self._next_number = 1
        self._pending: dict[tuple[str, int], list[_Arrival]] = {
            (approach, lane): [] for approach in APPROACH_FLOW for lane in (INNER, OUTER)
        }

    def step(self, dt: float) -> None:
        substeps = max(1, math.ceil(dt / MAX_STEP_S - 1e-9))
        for _ in range(substeps):
            self._substep(dt / substeps)

    def _substep(self, dt: float) -> None:
        self.time += dt
        self.signals = signal_states(self.time, self.signal_plan)
        self._arrive(dt)
        self._spawn()
        self._move(dt)
        self.vehicles = [v for v in self.vehicles if v.rear < v.route.length]

    # -- arrivals -------------------------------------------------------------------------
    def _arrive(self, dt: float) -> None:
        for approach, per_hour in APPROACH_FLOW.items():
            for _ in range(int(self.rng.poisson(per_hour * self.density * dt / 3600.0))):
                vclass = self.classes[int(self.rng.choice(len(self.classes), p=self.class_weights))]
                turns = vclass.can_turn and self.rng.random() < TURN_PROBABILITY
                if turns or vclass.two_wheeler:
                    lane = OUTER
                else:
                    heavy = vclass.length_m > 7.0
                    lane = OUTER if self.rng.random() < (0.75 if heavy else 0.45) else INNER
                queue = self._pending[approach, lane]
                if len(queue) < MAX_PENDING:
                    queue.append(_Arrival(vclass, turns))

    def _spawn(self) -> None:
        for (approach, lane), queue in self._pending.items():
            if not queue:
                continue
            arrival = queue[0]
            route = self.routes[approach, lane, arrival.turns]
            in_link = route.links[0]
            room = min((v.rear for v in self.vehicles if v.route.links[0] is in_link), default=math.inf)
            desired = arrival.vclass.speed_m_s * PIXELS_PER_METER * float(self.rng.uniform(0.85, 1.15))
            gap_needed = MIN_GAP_M * PIXELS_PER_METER
            if room < gap_needed + 1.0:
                continue
            speed = min(desired, (room - gap_needed) / TIME_GAP_S)
            queue.pop(0)
            units = build_units(arrival.vclass, self.rng)
            self.vehicles.append(
                Vehicle(
                    self._next_number,
                    arrival.vclass,
                    route,
                    units,
                    desired,
                    arrival.vclass.accel_m_s2 * PIXELS_PER_METER,
                    s=0.0,
                    v=speed,
                )
            )
            self._next_number += 1

    # -- motion ---------------------------------------------------------------------------
    def _occupancy(self) -> dict[str, list[tuple[Vehicle, float]]]:
        """link id -> (vehicle, its front in that link's coordinates) for every link a body spans."""
        on_link: dict[str, list[tuple[Vehicle, float]]] = {}
        for v in self.vehicles:
            route = v.route
            first, last = route.link_index(v.rear), route.link_index(v.s)
            for i in range(first, last + 1):
                on_link.setdefault(route.links[i].id, []).append((v, v.s - route.starts[i]))
        return on_link

    def _leader(self, v: Vehicle, on_link) -> tuple[float, float]:
        """(rear of the nearest vehicle ahead in v's route coordinates, its speed); inf if none."""
        route = v.route
        k = route.link_index(v.s)
        best, best_speed = math.inf, 0.0
        for i in range(k, min(len(route.links), k + 1 + LOOKAHEAD_LINKS)):
            for other, front_local in on_link.get(route.links[i].id, ()):
                if other is v:
                    continue
                front = route.starts[i] + front_local
                if front <= v.s:
                    continue
                rear = front - other.length
                if rear < best:
                    best, best_speed = rear, other.v
        return best, best_speed

    def _stop_line(self, v: Vehicle, box_busy: dict[str, bool]) -> float:
        """Route position v must stop its front at, or inf when it may go."""
        route = v.route
        if v.s > route.stop_offset or v.committed:
            return math.inf
        state = self.signals[route.axis]
        crossing_axis = "ns" if route.axis == "ew" else "ew"
        if state == "green" and not box_busy[crossing_axis]:
            return math.inf
        if state == "amber":
            braking_distance = v.v * v.v / (2.0 * COMFORT_DECEL * PIXELS_PER_METER)
            if route.stop_offset - v.s < braking_distance:
                v.committed = True
                return math.inf
        return route.stop_offset

    @staticmethod
    def _desired_speed(v: Vehicle) -> float:
        """Free-road speed, lowered on a braking curve towards the right-turn arc."""
        route = v.route
        if route.links[1].arc_center is None or v.rear > route.box_end:
            return v.desired_speed
        turn_speed = TURN_SPEED_M_S * PIXELS_PER_METER
        distance = max(0.0, route.box_start - v.s)
        return min(v.desired_speed, math.sqrt(turn_speed**2 + 2.0 * COMFORT_DECEL * PIXELS_PER_METER * distance))

    def _move(self, dt: float) -> None:
        on_link = self._occupancy()
        box_busy = {"ew": False, "ns": False}
        for v in self.vehicles:
            if v.occupies_box():
                box_busy[v.route.axis] = True
        min_gap = MIN_GAP_M * PIXELS_PER_METER
        updates = []
        for v in self.vehicles:
            leader_rear, leader_speed = self._leader(v, on_link)
            stop_at = self._stop_line(v, box_busy)
            desired = self._desired_speed(v)
            accel = v.accel * (1.0 - (v.v / desired) ** 4)
            comfort = COMFORT_DECEL * PIXELS_PER_METER
            for obstacle, obstacle_speed in ((leader_rear, leader_speed), (stop_at + min_gap, 0.0)):
                if obstacle == math.inf:
                    continue
                gap = max(obstacle - v.s, 0.1)
                wanted = (
                    min_gap + v.v * TIME_GAP_S + v.v * (v.v - obstacle_speed) / (2.0 * math.sqrt(v.accel * comfort))
                )
                accel -= v.accel * (max(wanted, 0.0) / gap) ** 2
            accel = max(accel, -EMERGENCY_DECEL * PIXELS_PER_METER)
            new_v = max(0.0, v.v + accel * dt)
            new_s = v.s + (v.v + new_v) * 0.5 * dt
            limit = min(leader_rear - 1.0, stop_at)
            if new_s > limit:
                new_s, new_v = max(v.s, limit), 0.0 if limit <= v.s else min(new_v, leader_speed)
            if v.s <= v.route.stop_offset < new_s and self.signals[v.route.axis] == "amber":
                v.committed = True
            updates.append((v, new_s, new_v))
        for v, new_s, new_v in updates:
            v.s, v.v = new_s, new_v
