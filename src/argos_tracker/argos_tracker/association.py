"""ByteTrack-style two-stage association of detections to predicted tracks (numpy only).

Stage 1: high-score detections against every live track (tentative, confirmed, coasting).
Stage 2: low-score detections against the tracks stage 1 left unmatched (the tracker allows
tentative ones too, `tentative_low_score`), with a stricter IoU: a weak box (partly occluded,
blurred) may keep a known object alive but is too unreliable to be trusted as a new object, so
only unmatched high-score detections start tracks.
Stage 3 (recovery): confirmed tracks (measured or coasting) still unmatched against high-score
detections still unmatched, by position and shape instead of overlap: the detection's centre
must lie inside the track's Mahalanobis gate (whose covariance grows while the track coasts), the
two boxes, centred on each other, must have an IoU of at least `recovery_shape_iou`, and the
caller may restrict the pairs further (`recoverable`; the tracker keeps a moving track to its own
lane: see motion_model.Predicted.in_lane). A thin
box (a bicycle seen from above is 5 px tall) loses its IoU to a few pixels of camera shake, and a
vehicle that braked or pulled away while hidden is no longer overlapped by its constant-velocity
prediction; matching by IoU alone would end such a track and start a second one on the same
object, which then counts the same crossing again, or misses one made in between. The stage
only takes detections that would otherwise have started new tracks; its cost is the gate
distance (nearest first).
Each stage is an optimal assignment (scipy's linear_sum_assignment) on
cost = (1 - IoU of the predicted box) + motion_cost_weight * min(d2 / MOTION_COST_SCALE, 1),
d2 being the squared Mahalanobis distance of the detection's centre from the track's predicted
centre; pairs outside the IoU or Mahalanobis gate are impossible. The motion term separates
candidates IoU cannot tell apart: two vehicles side by side in a queue overlap a track's box
about equally, but only one is where the track's velocity says it should be.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from argos_common.geometry import centred_iou_matrix, iou_matrix

# Stands in for "impossible" in the cost matrix; any real cost is in [0, 1 + weight].
_INFEASIBLE = 1e6
# d2 at which the motion term saturates: the 99.9 % point of chi-square with 2 dof
MOTION_COST_SCALE = 13.8


def assign(cost: np.ndarray, feasible: np.ndarray) -> list[tuple[int, int]]:
    """Minimum-cost one-to-one matching among feasible (row, column) pairs."""
    if cost.size == 0 or not feasible.any():
        return []
    rows, cols = linear_sum_assignment(np.where(feasible, cost, _INFEASIBLE))
    return [(int(r), int(c)) for r, c in zip(rows, cols) if feasible[r, c]]


@dataclass
class Association:
    matches: list[tuple[int, int]] = field(default_factory=list)  # (track index, detection index)
    unmatched_tracks: list[int] = field(default_factory=list)
    unmatched_high: list[int] = field(default_factory=list)  # detections that may start tracks


@dataclass(frozen=True)
class AssociationConfig:
    iou_threshold: float = 0.2
    low_score_iou_threshold: float = 0.4
    gate_chi2: float = 13.8  # 0: no Mahalanobis gate
    motion_cost_weight: float = 0.0  # 0: IoU alone decides
    recovery_shape_iou: float = 0.0  # 0: no recovery stage (it needs the gate: gate_chi2 > 0)

    @property
    def needs_distances(self) -> bool:
        return self.gate_chi2 > 0 or self.motion_cost_weight > 0

    @property
    def recovers(self) -> bool:
        return self.gate_chi2 > 0 and self.recovery_shape_iou > 0


def associate(
    track_boxes: np.ndarray,
    can_take_low: np.ndarray,
    det_boxes: np.ndarray,
    det_is_high: np.ndarray,
    config: AssociationConfig,
    gate_d2: np.ndarray | None = None,
    recoverable: np.ndarray | Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    can_recover: np.ndarray | None = None,
) -> Association:
    """Match detections to tracks.

    track_boxes: (T, 4) predicted boxes. can_take_low: (T,) bool, tracks allowed in stage 2;
    can_recover: (T,) bool, tracks allowed in stage 3 (None: can_take_low). det_boxes: (D, 4);
    det_is_high: (D,) bool, the rest are low-score detections. gate_d2: (T, D) squared
    Mahalanobis distances, or None for no such gate (and no
    recovery stage). recoverable: (T, D) bool, pairs the recovery stage may consider (None: all),
    or a function of (track indices, detection indices) giving that block, called only when the
    stage has candidates (most frames have none).
    """
    track_boxes = np.asarray(track_boxes, dtype=np.float64).reshape(-1, 4)
    det_boxes = np.asarray(det_boxes, dtype=np.float64).reshape(-1, 4)
    det_is_high = np.asarray(det_is_high, dtype=bool).reshape(-1)
    can_take_low = np.asarray(can_take_low, dtype=bool).reshape(-1)
    can_recover = can_take_low if can_recover is None else np.asarray(can_recover, dtype=bool).reshape(-1)
    n_tracks, n_dets = len(track_boxes), len(det_boxes)

    iou = iou_matrix(track_boxes, det_boxes)
    gated = np.ones((n_tracks, n_dets), dtype=bool)
    cost = 1.0 - iou
    if gate_d2 is not None:
        d2 = np.asarray(gate_d2, dtype=np.float64).reshape(n_tracks, n_dets)
        if config.gate_chi2 > 0:
            gated = d2 <= config.gate_chi2
        if config.motion_cost_weight > 0:
            cost = cost + config.motion_cost_weight * np.minimum(d2 / MOTION_COST_SCALE, 1.0)

    high = np.flatnonzero(det_is_high)
    low = np.flatnonzero(~det_is_high)
    all_tracks = np.arange(n_tracks)
    track_free = np.ones(n_tracks, dtype=bool)
    high_free = det_is_high.copy()

    first = _stage(cost, gated & (iou >= config.iou_threshold), all_tracks, high)
    _take(first, track_free, high_free)
    second = _stage(
        cost, gated & (iou >= config.low_score_iou_threshold), np.flatnonzero(track_free & can_take_low), low
    )
    _take(second, track_free, None)
    matches = first + second
    if config.recovers and gate_d2 is not None:
        lost = np.flatnonzero(track_free & can_recover)
        fresh = np.flatnonzero(high_free)
        if len(lost) and len(fresh):
            sub = np.ix_(lost, fresh)
            alike = centred_iou_matrix(track_boxes[lost], det_boxes[fresh]) >= config.recovery_shape_iou
            allowed = gated[sub] & alike
            if allowed.any():
                if callable(recoverable):
                    allowed &= np.asarray(recoverable(lost, fresh), dtype=bool).reshape(len(lost), len(fresh))
                elif recoverable is not None:
                    allowed &= np.asarray(recoverable, dtype=bool).reshape(n_tracks, n_dets)[sub]
            third = [(int(lost[r]), int(fresh[c])) for r, c in assign(d2[sub], allowed)]
            matches += third
            _take(third, track_free, high_free)
    return Association(
        matches=matches,
        unmatched_tracks=np.flatnonzero(track_free).tolist(),
        unmatched_high=np.flatnonzero(high_free).tolist(),
    )


def _take(pairs: list[tuple[int, int]], track_free: np.ndarray, det_free: np.ndarray | None) -> None:
    for t, d in pairs:
        track_free[t] = False
        if det_free is not None:
            det_free[d] = False


def _stage(cost: np.ndarray, feasible: np.ndarray, tracks: np.ndarray, dets: np.ndarray) -> list[tuple[int, int]]:
    if len(tracks) == 0 or len(dets) == 0:
        return []
    sub = np.ix_(tracks, dets)
    return [(int(tracks[r]), int(dets[c])) for r, c in assign(cost[sub], feasible[sub])]
