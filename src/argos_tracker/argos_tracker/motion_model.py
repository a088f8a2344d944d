"""Per-track state estimation: constant velocity on box centre and size, in pixels.

State x = [cx, cy, w, h, vx, vy, vw, vh] (px, px/s); measurement z = [cx, cy, w, h].
The time step comes from frame stamps, so dropped or late frames are predicted over the time
that really passed. Process noise is piecewise-constant white acceleration: vehicles brake,
accelerate and turn, which a constant-velocity model can only absorb as noise.

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
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from filterpy.kalman import KalmanFilter
from scipy.linalg import solve_discrete_are

DIM_X = 8
DIM_Z = 4
MIN_SIZE_PX = 1.0
# A detector's box error grows with the object: part of a long truck is easily cut off or merged.
RELATIVE_SIZE_NOISE = 0.05
# Boxes change size slowly (perspective, occlusion) compared with how centres accelerate.
SIZE_ACCEL_FRACTION = 0.25
# Unknown at birth: about the speed of a fast vehicle in this camera geometry (px/s).
INITIAL_VELOCITY_STD = 100.0
INITIAL_SIZE_RATE_STD = 10.0
WARMUP_COVARIANCE_RATIO = 2.0

_H = np.hstack([np.eye(DIM_Z), np.zeros((DIM_Z, DIM_Z))])


@dataclass(frozen=True)
class MotionConfig:
    accel_noise_px_s2: float = 60.0
    measurement_noise_px: float = 2.0
    fixed_gain: bool = False


def box_to_z(box) -> np.ndarray:
    x1, y1, x2, y2 = (float(v) for v in box)
    return np.array([(x1 + x2) / 2.0, (y1 + y2) / 2.0, max(x2 - x1, MIN_SIZE_PX), max(y2 - y1, MIN_SIZE_PX)])


def z_to_box(z) -> tuple[float, float, float, float]:
    cx, cy, w, h = (float(v) for v in z[:4])
    w, h = max(w, MIN_SIZE_PX), max(h, MIN_SIZE_PX)
    return (cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0)


class MotionModel:
    """Model matrices shared by all tracks of one tracker, cached per time step."""

    def __init__(self, config: MotionConfig):
        self.config = config
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
        F = np.eye(DIM_X)
        F[:DIM_Z, DIM_Z:] = np.eye(DIM_Z) * dt
        # acceleration held constant over the step: position gains dt^2/2, velocity dt
        g = np.array([dt * dt / 2.0, dt])
        block = np.outer(g, g)
        sa = self.config.accel_noise_px_s2
        accel_var = np.array([sa, sa, sa * SIZE_ACCEL_FRACTION, sa * SIZE_ACCEL_FRACTION]) ** 2
        Q = np.zeros((DIM_X, DIM_X))
        for i, var in enumerate(accel_var):
            idx = [i, i + DIM_Z]
            Q[np.ix_(idx, idx)] = block * var
        return F, Q

    def measurement_noise(self, size_wh=(0.0, 0.0)) -> np.ndarray:
        """R for a box of the given (w, h): absolute pixel noise plus a share of the box size."""
        w, h = (abs(float(v)) for v in size_wh)
        s = self.config.measurement_noise_px
        std = np.array([s + RELATIVE_SIZE_NOISE * w, s + RELATIVE_SIZE_NOISE * h,
                        2 * s + RELATIVE_SIZE_NOISE * w, 2 * s + RELATIVE_SIZE_NOISE * h])
        return np.diag(std ** 2)

    def steady_state(self, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """(K, P_posterior) of the steady-state filter for frames dt apart (nominal box size)."""
        return self._steady_state(self._dt_key(dt))

    def _build_steady_state(self, dt: float) -> tuple[np.ndarray, np.ndarray]:
        F, Q = self._build_transition(dt)
        R = self.measurement_noise()
        # filtering DARE is the dual of the control one: A = F', B = H'
        P_prior = solve_discrete_are(F.T, _H.T, Q, R)
        S = _H @ P_prior @ _H.T + R
        K = P_prior @ _H.T @ np.linalg.inv(S)
        P_post = (np.eye(DIM_X) - K @ _H) @ P_prior
        return K, (P_post + P_post.T) / 2.0

    def create(self, box) -> "BoxFilter":
        return BoxFilter(self, box)


class BoxFilter:
    """State estimate of one track."""

    def __init__(self, model: MotionModel, box):
        self.model = model
        z = box_to_z(box)
        kf = KalmanFilter(dim_x=DIM_X, dim_z=DIM_Z)
        kf.x = np.concatenate([z, np.zeros(DIM_Z)]).reshape(DIM_X, 1)
        kf.H = _H.copy()
        P = np.zeros((DIM_X, DIM_X))
        P[:DIM_Z, :DIM_Z] = model.measurement_noise(z[2:])
        P[DIM_Z:, DIM_Z:] = np.diag([INITIAL_VELOCITY_STD, INITIAL_VELOCITY_STD,
                                     INITIAL_SIZE_RATE_STD, INITIAL_SIZE_RATE_STD]) ** 2
        kf.P = P
        self.kf = kf
        self._last_dt = 0.0
        self.fixed_gain_active = False

    def predict(self, dt: float) -> None:
        if dt <= 0.0:
            return
        F, Q = self.model.transition(dt)
        self.kf.predict(F=F, Q=Q)
        self._last_dt = dt
        self._clamp_size()

    def update(self, box) -> None:
        z = box_to_z(box)
        if self.fixed_gain_active:
            K, P_post = self.model.steady_state(self._last_dt)
            x = self.kf.x.reshape(DIM_X)
            self.kf.x = (x + K @ (z - x[:DIM_Z])).reshape(DIM_X, 1)
            self.kf.P = P_post.copy()
        else:
            self.kf.update(z, R=self.model.measurement_noise(z[2:]))
            if self.model.config.fixed_gain and self._last_dt > 0.0:
                _, P_post = self.model.steady_state(self._last_dt)
                settled = np.trace(self.kf.P[4:6, 4:6]) <= WARMUP_COVARIANCE_RATIO * np.trace(P_post[4:6, 4:6])
                self.fixed_gain_active = bool(settled)
        self._clamp_size()

    def hold(self) -> None:
        """Treat the object as standing still from now on (its covariance keeps growing)."""
        self.kf.x[DIM_Z:, 0] = 0.0

    def _clamp_size(self) -> None:
        self.kf.x[2, 0] = max(self.kf.x[2, 0], MIN_SIZE_PX)
        self.kf.x[3, 0] = max(self.kf.x[3, 0], MIN_SIZE_PX)

    @property
    def box(self) -> tuple[float, float, float, float]:
        return z_to_box(self.kf.x[:DIM_Z, 0])

    @property
    def velocity(self) -> tuple[float, float]:
        """Centre velocity (px/s)."""
        return float(self.kf.x[4, 0]), float(self.kf.x[5, 0])

    @property
    def size_rate(self) -> tuple[float, float]:
        return float(self.kf.x[6, 0]), float(self.kf.x[7, 0])

    def centre_gate_distance(self, boxes: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of each box centre from the predicted centre, with the
        predicted covariance plus the measurement noise of a box of the track's size."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        x, P = self.kf.x[:, 0], self.kf.P
        s = self.model.config.measurement_noise_px
        a = P[0, 0] + (s + RELATIVE_SIZE_NOISE * x[2]) ** 2
        c = P[1, 1] + (s + RELATIVE_SIZE_NOISE * x[3]) ** 2
        b = P[0, 1]
        dx = (boxes[:, 0] + boxes[:, 2]) / 2.0 - x[0]
        dy = (boxes[:, 1] + boxes[:, 3]) / 2.0 - x[1]
        # closed-form inverse of the 2x2 innovation covariance [[a, b], [b, c]]
        return (c * dx * dx - 2.0 * b * dx * dy + a * dy * dy) / (a * c - b * b)
