"""Per-track state estimation on box centre, size and aspect, in pixels.

The box is measured as z = [cx, cy, b3, b4], either ("wh") width and height, or ("ah") aspect
w/h and height, the parametrisation of SORT/DeepSORT-style trackers. Both carry size and aspect;
"wh" is the default because a vehicle turning in a top-down view sweeps its aspect from about
2.5 to 0.4, which is far from linear in a but nearly so in w and h.

Constant velocity (default): x = [z, dz/dt] (8 states). Constant acceleration: x = [z, dz/dt,
d2z/dt2] (12 states), for approaches where vehicles brake into and pull out of queues; its
process noise is white jerk instead of white acceleration. The time step comes from frame
stamps, so dropped or late frames are predicted over the time that really passed. Velocity is
always at x[4:8], so the two models are read the same way.

Two estimators share the model:
- "kalman": filterpy's KalmanFilter, gain from the propagated covariance (adapts while coasting
  and right after birth).
- "fixed_gain": a Luenberger-style observer whose gain is the steady-state Kalman gain of the
  same model for the observed frame interval (discrete algebraic Riccati equation, cached per
  interval). Cheaper per update and stiffer. A new track knows nothing about its velocity,
  which the small steady-state gain would learn only slowly, so each track runs the Kalman
  update until its velocity covariance is within WARMUP_COVARIANCE_RATIO of the steady state
  (about 7 frames), then switches to the fixed gain for good; its covariance, used only for
  gating, is then the steady-state posterior, grown by the prediction while coasting.

Every track's state lives in its own filterpy KalmanFilter (x, P). The prediction, the box
conversion, the gate distances and the measurement update are done for all tracks of a frame at
once on stacked arrays (`MotionModel.predict`, `MotionModel.update`): the tracks share F, Q and
H, and per-track calls of filterpy's predict and update cost more in Python overhead than the
8x8 arithmetic itself. Both are the same arithmetic as filterpy's `KalmanFilter.predict` and
`KalmanFilter.update` (gain through the inverse innovation covariance, Joseph-form covariance);
unit tests hold them equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from filterpy.kalman import KalmanFilter
from scipy.linalg import solve_discrete_are

DIM_Z = 4
MIN_SIZE_PX = 1.0
MIN_ASPECT = 0.01
BOX_STATES = ("wh", "ah")
# A detector's box error grows with the object: part of a long truck is easily cut off or merged.
RELATIVE_SIZE_NOISE = 0.05
# Boxes change size slowly (perspective, occlusion) compared with how centres accelerate.
SIZE_ACCEL_FRACTION = 0.25
# Unknown at birth: about the speed of a fast vehicle in this camera geometry (px/s).
INITIAL_VELOCITY_STD = 100.0
INITIAL_SIZE_RATE_STD = 10.0
INITIAL_ACCEL_STD = 60.0  # px/s^2: a hard brake
WARMUP_COVARIANCE_RATIO = 2.0
# "ah": noise of the aspect ratio, relative to it (detectors cut or merge parts of a vehicle)
RELATIVE_ASPECT_NOISE = 0.08
# "ah": unmodelled rate of change of the aspect (1/s^2, or 1/s^3 for constant acceleration):
# a turning vehicle changes its aspect by about 2 within 2 s
ASPECT_ACCEL = 1.0


@dataclass(frozen=True)
class MotionConfig:
    accel_noise_px_s2: float = 60.0
    measurement_noise_px: float = 2.0
    fixed_gain: bool = False
    constant_acceleration: bool = False
    jerk_noise_px_s3: float = 150.0  # process noise of the constant-acceleration model
    box_state: str = "wh"  # "wh" | "ah"

    def __post_init__(self):
        if self.box_state not in BOX_STATES:
            raise ValueError(f"box_state must be one of {BOX_STATES}, got {self.box_state!r}")

    @property
    def order(self) -> int:
        """Derivatives carried per measured quantity: 2 (constant velocity) or 3."""
        return 3 if self.constant_acceleration else 2

    @property
    def dim_x(self) -> int:
        return DIM_Z * self.order


def box_to_z(box, box_state: str = "wh") -> np.ndarray:
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = max(x2 - x1, MIN_SIZE_PX), max(y2 - y1, MIN_SIZE_PX)
    third = w / h if box_state == "ah" else w
    return np.array([(x1 + x2) / 2.0, (y1 + y2) / 2.0, third, h])


def z_to_box(z, box_state: str = "wh") -> tuple[float, float, float, float]:
    cx, cy, third, h = (float(v) for v in z[:4])
    h = max(h, MIN_SIZE_PX)
    w = max(third * h if box_state == "ah" else third, MIN_SIZE_PX)
    return (cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0)


def boxes_to_z(boxes: np.ndarray, box_state: str = "wh") -> np.ndarray:
    """box_to_z for (N, 4) boxes at once: (N, 4) measurements."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    w = np.maximum(b[:, 2] - b[:, 0], MIN_SIZE_PX)
    h = np.maximum(b[:, 3] - b[:, 1], MIN_SIZE_PX)
    third = w / h if box_state == "ah" else w
    return np.column_stack([(b[:, 0] + b[:, 2]) / 2.0, (b[:, 1] + b[:, 3]) / 2.0, third, h])


def states_to_boxes(x: np.ndarray, box_state: str = "wh") -> np.ndarray:
    """z_to_box for (N, >= 4) measurements or states at once: (N, 4) boxes x1 y1 x2 y2."""
    x = np.asarray(x, dtype=np.float64)
    x = x.reshape(-1, x.shape[-1]) if x.size else np.zeros((0, 4))
    h = np.maximum(x[:, 3], MIN_SIZE_PX)
    w = np.maximum(x[:, 2] * h if box_state == "ah" else x[:, 2], MIN_SIZE_PX)
    return np.column_stack([x[:, 0] - w / 2.0, x[:, 1] - h / 2.0, x[:, 0] + w / 2.0, x[:, 1] + h / 2.0])


def box_wh(z, box_state: str = "wh") -> tuple[float, float]:
    """(w, h) in pixels of a measurement or state vector."""
    x1, y1, x2, y2 = z_to_box(z, box_state)
    return x2 - x1, y2 - y1


class MotionModel:
    """Model matrices shared by all tracks of one tracker, cached per time step."""

    def __init__(self, config: MotionConfig):
        self.config = config
        self.dim_x = config.dim_x
        self.H = np.hstack([np.eye(DIM_Z), np.zeros((DIM_Z, self.dim_x - DIM_Z))])
        self._eye = np.eye(self.dim_x)[None]
        self._transition = lru_cache(maxsize=64)(self._build_transition)
        self._steady_state = lru_cache(maxsize=64)(self._build_steady_state)

    @staticmethod
    def _dt_key(dt: float) -> float:
        # millisecond buckets: stamps jitter by microseconds, the model does not care
        return round(max(float(dt), 1e-3), 3)

    def transition(self, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """(F, Q) for a prediction over dt seconds."""
        return self._transition(self._dt_key(dt))

    def _build_transition(self, dt: float) -> tuple[np.ndarray, np.ndarray]:
        order = self.config.order
        F = np.eye(self.dim_x)
        F[:DIM_Z, DIM_Z : 2 * DIM_Z] = np.eye(DIM_Z) * dt
        if order == 3:
            F[:DIM_Z, 2 * DIM_Z :] = np.eye(DIM_Z) * dt * dt / 2.0
            F[DIM_Z : 2 * DIM_Z, 2 * DIM_Z :] = np.eye(DIM_Z) * dt
            # jerk held constant over the step
            g = np.array([dt**3 / 6.0, dt * dt / 2.0, dt])
            strength = self.config.jerk_noise_px_s3
        else:
            # acceleration held constant over the step: position gains dt^2/2, velocity dt
            g = np.array([dt * dt / 2.0, dt])
            strength = self.config.accel_noise_px_s2
        block = np.outer(g, g)
        third = ASPECT_ACCEL if self.config.box_state == "ah" else strength * SIZE_ACCEL_FRACTION
        noise_var = np.array([strength, strength, third, strength * SIZE_ACCEL_FRACTION]) ** 2
        Q = np.zeros((self.dim_x, self.dim_x))
        for i, var in enumerate(noise_var):
            idx = [i + DIM_Z * k for k in range(order)]
            Q[np.ix_(idx, idx)] = block * var
        return F, Q

    def measurement_noise(self, size_wh=(0.0, 0.0)) -> np.ndarray:
        """R for a box of the given (w, h): absolute pixel noise plus a share of the box size."""
        return np.diag(self.measurement_std(np.asarray(size_wh, dtype=np.float64).reshape(1, 2))[0] ** 2)

    def measurement_std(self, size_wh: np.ndarray) -> np.ndarray:
        """(N, 4) standard deviations of the measurement z of boxes of the given (N, 2) sizes."""
        wh = np.abs(np.asarray(size_wh, dtype=np.float64).reshape(-1, 2))
        w, h = wh[:, 0], wh[:, 1]
        s = self.config.measurement_noise_px
        rw, rh = RELATIVE_SIZE_NOISE * w, RELATIVE_SIZE_NOISE * h
        out = np.empty((len(wh), 4))
        out[:, 0] = s + rw
        out[:, 1] = s + rh
        if self.config.box_state == "ah":
            aspect = np.divide(w, h, out=np.ones_like(w), where=h > 0)
            out[:, 2] = RELATIVE_ASPECT_NOISE * np.maximum(aspect, 0.25)
        else:
            out[:, 2] = 2 * s + rw
        out[:, 3] = 2 * s + rh
        return out

    def measurements(self, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(z, std) of (N, 4) detection boxes: their measurements and measurement noise."""
        z = boxes_to_z(boxes, self.config.box_state)
        wh = states_to_boxes(z, self.config.box_state)
        return z, self.measurement_std(wh[:, 2:] - wh[:, :2])

    def predict(self, filters: list[BoxFilter], dt: float) -> Predicted:
        """Predict every filter over dt seconds at once; returns the stacked predicted states."""
        if not filters:
            return Predicted(self, np.zeros((0, self.dim_x)), np.zeros((0, self.dim_x, self.dim_x)))
        x = np.stack([f.kf.x for f in filters])  # (N, dim_x, 1)
        P = np.stack([f.kf.P for f in filters])  # (N, dim_x, dim_x)
        if dt > 0.0:
            F, Q = self.transition(dt)
            x = F @ x
            P = F @ P @ F.T + Q
            x[:, 2, 0] = np.maximum(x[:, 2, 0], MIN_ASPECT if self.config.box_state == "ah" else MIN_SIZE_PX)
            x[:, 3, 0] = np.maximum(x[:, 3, 0], MIN_SIZE_PX)
            for f, xi, Pi in zip(filters, x, P):
                f.kf.x, f.kf.P, f._last_dt = xi, Pi, dt
        return Predicted(self, x[:, :, 0], P)

    def update(self, filters: list[BoxFilter], z: np.ndarray, std: np.ndarray) -> None:
        """Correct each filter with its measurement: z (N, 4) (see box_to_z), std (N, 4) its
        noise (MotionModel.measurements)."""
        if not filters:
            return
        z = np.asarray(z, dtype=np.float64).reshape(-1, DIM_Z)
        std = np.asarray(std, dtype=np.float64).reshape(-1, DIM_Z)
        fixed = [i for i, f in enumerate(filters) if f.fixed_gain_active]
        kalman = [i for i, f in enumerate(filters) if not f.fixed_gain_active] if fixed else range(len(filters))
        for i in fixed:
            f = filters[i]
            K, P_post = self.steady_state(f._last_dt)
            x = f.kf.x[:, 0]
            f.kf.x = (x + K @ (z[i] - x[:DIM_Z])).reshape(-1, 1)
            f.kf.P = P_post.copy()
        if len(kalman):
            group = [filters[i] for i in kalman]
            x = np.stack([f.kf.x for f in group])  # (M, dim_x, 1)
            P = np.stack([f.kf.P for f in group])  # (M, dim_x, dim_x)
            R = np.zeros((len(group), DIM_Z, DIM_Z))
            R[:, np.arange(DIM_Z), np.arange(DIM_Z)] = std[kalman] ** 2
            # H = [I 0]: P H' is P's first DIM_Z columns, H P H' its top-left block
            PHT = P[:, :, :DIM_Z]
            K = PHT @ np.linalg.inv(P[:, :DIM_Z, :DIM_Z] + R)
            x = x + K @ (z[kalman][:, :, None] - x[:, :DIM_Z])
            I_KH = np.repeat(self._eye, len(group), axis=0)
            I_KH[:, :, :DIM_Z] -= K
            P = I_KH @ P @ I_KH.transpose(0, 2, 1) + K @ R @ K.transpose(0, 2, 1)
            floor = MIN_ASPECT if self.config.box_state == "ah" else MIN_SIZE_PX
            x[:, 2, 0] = np.maximum(x[:, 2, 0], floor)
            x[:, 3, 0] = np.maximum(x[:, 3, 0], MIN_SIZE_PX)
            for f, xi, Pi, Ki in zip(group, x, P, K):
                f.kf.x, f.kf.P, f.kf.K = xi, Pi, Ki  # K where filterpy keeps it (the last gain)
            if self.config.fixed_gain:
                for f in group:
                    if f._last_dt > 0.0:
                        _, P_post = self.steady_state(f._last_dt)
                        settled = np.trace(f.kf.P[4:6, 4:6]) <= WARMUP_COVARIANCE_RATIO * np.trace(P_post[4:6, 4:6])
                        f.fixed_gain_active = bool(settled)
        for i in fixed:
            filters[i]._clamp_size()

    def steady_state(self, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """(K, P_posterior) of the steady-state filter for frames dt apart (nominal box size)."""
        return self._steady_state(self._dt_key(dt))

    def _build_steady_state(self, dt: float) -> tuple[np.ndarray, np.ndarray]:
        F, Q = self._build_transition(dt)
        R = self.measurement_noise()
        # filtering DARE is the dual of the control one: A = F', B = H'
        H = self.H
        P_prior = solve_discrete_are(F.T, H.T, Q, R)
        S = H @ P_prior @ H.T + R
        K = P_prior @ H.T @ np.linalg.inv(S)
        P_post = (np.eye(self.dim_x) - K @ H) @ P_prior
        return K, (P_post + P_post.T) / 2.0

    def create(self, box) -> BoxFilter:
        return BoxFilter(self, box)


class Predicted:
    """States of all tracks after one prediction: x (N, dim_x), P (N, dim_x, dim_x)."""

    def __init__(self, model: MotionModel, x: np.ndarray, P: np.ndarray):
        self.model, self.x, self.P = model, x, P
        self.boxes = states_to_boxes(x, model.config.box_state)

    def gate_distances(self, boxes: np.ndarray) -> np.ndarray:
        """(N, D) squared Mahalanobis distances of each box centre from each predicted centre,
        with the predicted covariance plus the measurement noise of a box of the track's size."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        t = self.boxes
        noise = self.model.measurement_std(np.column_stack([t[:, 2] - t[:, 0], t[:, 3] - t[:, 1]]))
        a = self.P[:, 0, 0] + noise[:, 0] ** 2
        c = self.P[:, 1, 1] + noise[:, 1] ** 2
        b = self.P[:, 0, 1]
        dx = ((boxes[:, 0] + boxes[:, 2]) / 2.0)[None, :] - self.x[:, 0, None]
        dy = ((boxes[:, 1] + boxes[:, 3]) / 2.0)[None, :] - self.x[:, 1, None]
        # closed-form inverse of each 2x2 innovation covariance [[a, b], [b, c]]:
        # (c dx dx - 2 b dx dy + a dy dy) / (a c - b b), in place on (N, D) planes (called every frame)
        d2 = c[:, None] * dx
        d2 *= dx
        cross = (2.0 * b)[:, None] * dx
        cross *= dy
        d2 -= cross
        dy2 = a[:, None] * dy
        dy2 *= dy
        d2 += dy2
        d2 /= (a * c - b * b)[:, None]
        return d2

    def in_lane(
        self, boxes: np.ndarray, headings: np.ndarray, last_centres: np.ndarray, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """(N, D) bool: where a track that lost its overlap may plausibly be found again; with
        `rows` (track indices), (len(rows), D) for those tracks only (headings and last_centres
        then given for them).

        headings: (N, 2) unit vectors of each track's last direction of travel (kept while it
        stands), zeros where unknown; last_centres: (N, 2) box centres at its last detection.
        With a heading, a box centre must be no further across it from the prediction than the
        track box's own extent across it (a similar box one lane over is another vehicle), and
        not behind the last detection by more than half the box's extent along it (vehicles do
        not reverse into the car queued behind them; the half allows for a box cut short by an
        occluder). Without one, the centre must be within the box's own width and height of the
        prediction. Each limit has twice the measurement noise of slack."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        headings = np.asarray(headings, dtype=np.float64).reshape(-1, 2)
        last_centres = np.asarray(last_centres, dtype=np.float64).reshape(-1, 2)
        t, centre = (self.boxes, self.x) if rows is None else (self.boxes[rows], self.x[rows])
        size = t[:, 2:] - t[:, :2]
        slack = 2.0 * self.model.measurement_std(size)[:, :2]
        cx = (boxes[None, :, 0] + boxes[None, :, 2]) / 2.0
        cy = (boxes[None, :, 1] + boxes[None, :, 3]) / 2.0
        dx, dy = cx - centre[:, 0, None], cy - centre[:, 1, None]
        hx, hy = headings[:, 0], headings[:, 1]

        def extent(ux, uy, share=1.0):  # (a share of) the box's extent along a unit direction, plus slack
            return share * (size[:, 0] * np.abs(ux) + size[:, 1] * np.abs(uy)) + np.hypot(
                slack[:, 0] * ux, slack[:, 1] * uy
            )

        across = np.abs(dx * -hy[:, None] + dy * hx[:, None]) < extent(-hy, hx)[:, None]
        along_last = (cx - last_centres[:, 0, None]) * hx[:, None] + (cy - last_centres[:, 1, None]) * hy[:, None]
        not_behind = along_last > -extent(hx, hy, 0.5)[:, None]
        limit = size + slack
        near = (np.abs(dx) < limit[:, 0, None]) & (np.abs(dy) < limit[:, 1, None])
        known = np.any(headings != 0.0, axis=1)
        return np.where(known[:, None], across & not_behind, near)


class BoxFilter:
    """State estimate of one track."""

    def __init__(self, model: MotionModel, box):
        self.model = model
        self.box_state = model.config.box_state
        dim_x = model.dim_x
        z = box_to_z(box, self.box_state)
        kf = KalmanFilter(dim_x=dim_x, dim_z=DIM_Z)
        kf.x = np.concatenate([z, np.zeros(dim_x - DIM_Z)]).reshape(dim_x, 1)
        kf.H = model.H.copy()
        P = np.zeros((dim_x, dim_x))
        P[:DIM_Z, :DIM_Z] = model.measurement_noise(box_wh(z, self.box_state))
        third_rate = 0.5 if self.box_state == "ah" else INITIAL_SIZE_RATE_STD
        P[DIM_Z : 2 * DIM_Z, DIM_Z : 2 * DIM_Z] = (
            np.diag([INITIAL_VELOCITY_STD, INITIAL_VELOCITY_STD, third_rate, INITIAL_SIZE_RATE_STD]) ** 2
        )
        if dim_x > 2 * DIM_Z:
            P[2 * DIM_Z :, 2 * DIM_Z :] = (
                np.diag([INITIAL_ACCEL_STD, INITIAL_ACCEL_STD, third_rate, INITIAL_SIZE_RATE_STD]) ** 2
            )
        kf.P = P
        self.kf = kf
        self._last_dt = 0.0
        self.fixed_gain_active = False

    def predict(self, dt: float) -> None:
        self.model.predict([self], dt)

    def update(self, box) -> None:
        z, std = self.model.measurements(np.asarray(box, dtype=np.float64).reshape(1, 4))
        self.update_measurement(z[0], std[0])

    def update_measurement(self, z: np.ndarray, std: np.ndarray) -> None:
        """Correct with a measurement z (see box_to_z) of the given noise std (MotionModel.measurements)."""
        self.model.update([self], z[None], std[None])

    def hold(self) -> None:
        """Treat the object as standing still from now on (its covariance keeps growing)."""
        self.kf.x[DIM_Z:, 0] = 0.0

    def follow(self, leader: BoxFilter) -> None:
        """Move at `leader`'s centre velocity from now on (a hidden vehicle queued behind it)."""
        self.kf.x[4:6, 0] = leader.kf.x[4:6, 0]
        if self.kf.x.shape[0] > 2 * DIM_Z:
            self.kf.x[2 * DIM_Z : 2 * DIM_Z + 2, 0] = 0.0

    def _clamp_size(self) -> None:
        self.kf.x[2, 0] = max(self.kf.x[2, 0], MIN_ASPECT if self.box_state == "ah" else MIN_SIZE_PX)
        self.kf.x[3, 0] = max(self.kf.x[3, 0], MIN_SIZE_PX)

    @property
    def box(self) -> tuple[float, float, float, float]:
        return z_to_box(self.kf.x[:DIM_Z, 0], self.box_state)

    @property
    def velocity(self) -> tuple[float, float]:
        """Centre velocity (px/s)."""
        return float(self.kf.x[4, 0]), float(self.kf.x[5, 0])

    @property
    def size_rate(self) -> tuple[float, float]:
        return float(self.kf.x[6, 0]), float(self.kf.x[7, 0])

    def centre_gate_distance(self, boxes: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of each box centre from the predicted centre (see
        Predicted.gate_distances)."""
        return Predicted(self.model, self.kf.x[None, :, 0], self.kf.P[None]).gate_distances(boxes)[0]
