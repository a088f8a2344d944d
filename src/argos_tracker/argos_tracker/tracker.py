"""Multi-object tracker: motion model + two-stage association + track lifecycle.

Lifecycle: a new track is TENTATIVE and dies at its first missed frame; after `confirm_hits`
matched frames in a row it is CONFIRMED. A tentative track may take a low-score detection
(`tentative_low_score`) and is published on `tracks` from its `report_hits`-th matched frame,
before it counts: a score-evaluated output (MOTA, HOTA) loses every frame an object waits for
confirmation, while a count must not take a flicker for a vehicle. A confirmed track that misses a frame is LOST and
coasts on its prediction; it returns to CONFIRMED when matched again and is removed once its
last detection is more than `max_coast_s` old. Time is taken from the frame stamps.

Stop-and-go: a track that loses its detections while (nearly) standing still, e.g. a vehicle
waiting at a red light that a background-subtraction detector absorbs into the background, is
held in place (velocity zeroed) for up to `max_coast_stopped_s`, so it keeps its id when it
pulls away, and a crossing made while it was unseen is still counted, once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from argos_common.detections import Detections
from argos_common.params import resolve

from .association import AssociationConfig, associate
from .motion_model import BoxFilter, MotionConfig, MotionModel, states_to_boxes
from .params import PARAMS, validate

TENTATIVE = "tentative"
CONFIRMED = "confirmed"
LOST = "lost"

# Camera stamps jitter; a track that coasted "exactly" max_coast_s must not die of rounding.
_STAMP_TOLERANCE_NS = 5_000_000


def _held_up_by(hidden: BoxFilter, leader: BoxFilter) -> bool:
    """A hidden track queued behind a slower vehicle going its way (within about 45 degrees, the
    leader ahead of it): it cannot drive through the leader, so it moves at the leader's speed."""
    v, w = hidden.velocity, leader.velocity
    speed, leader_speed = math.hypot(*v), math.hypot(*w)
    if not speed or not leader_speed or v[0] * w[0] + v[1] * w[1] < 0.7 * speed * leader_speed:
        return False
    (hx1, hy1, hx2, hy2), (lx1, ly1, lx2, ly2) = hidden.box, leader.box
    ahead = (lx1 + lx2 - hx1 - hx2) * v[0] + (ly1 + ly2 - hy1 - hy2) * v[1]
    return ahead > 0.0 and leader_speed < speed


def anchor_point(box, kind: str = "bottom_center") -> tuple[float, float]:
    x1, y1, x2, y2 = (float(v) for v in box)
    if kind == "center":
        return ((x1 + x2) / 2.0, (y1 + y2) / 2.0)
    if kind == "bottom_center":
        # image y grows downwards: the bottom edge is y2
        return ((x1 + x2) / 2.0, y2)
    raise ValueError(f"unknown anchor {kind!r}")


class Track(NamedTuple):
    """Snapshot of one live track after an update (immutable; a NamedTuple rather than a frozen
    dataclass because the tracker builds one per track per frame, and a frozen dataclass's
    __init__ costs several times as much: measured at 200 tracks)."""

    id: int
    state: str  # TENTATIVE | CONFIRMED | LOST
    box: tuple[float, float, float, float]  # x1 y1 x2 y2, filtered (predicted while LOST)
    label: str  # score-weighted vote over the track's life
    score: float  # score of the last matched detection
    velocity: tuple[float, float]  # box centre, px/s
    hits: int  # frames with a matched detection
    age: int  # frames since birth (birth frame = 1)
    misses: int  # frames in a row without detection; 0 = measured now
    birth_ns: int
    last_seen_ns: int

    def anchor(self, kind: str = "bottom_center") -> tuple[float, float]:
        return anchor_point(self.box, kind)

    @property
    def speed_px_s(self) -> float:
        return math.hypot(*self.velocity)

    @property
    def heading_deg(self) -> float:
        """Direction of travel in the image, degrees in [0, 360): 0 = +x (right), 90 = +y (down);
        NaN while standing still."""
        if not any(self.velocity):
            return math.nan
        return math.degrees(math.atan2(self.velocity[1], self.velocity[0])) % 360.0


class _LiveTrack:
    __slots__ = (
        "id",
        "filter",
        "state",
        "hits",
        "age",
        "misses",
        "votes",
        "score",
        "birth_ns",
        "last_seen_ns",
        "stopped",
        "occluded",
        "heading",
        "last_centre",
        "label",
        "measured_box",
    )

    def __init__(
        self,
        track_id: int,
        motion: BoxFilter,
        label: str,
        score: float,
        stamp_ns: int,
        confirmed: bool,
        box: Sequence[float],
    ):
        self.id = track_id
        self.filter = motion
        self.state = CONFIRMED if confirmed else TENTATIVE
        self.hits = 1
        self.age = 1
        self.misses = 0
        self.votes: dict[str, float] = {label: score}
        self.label = label  # the vote's winner, kept current by vote()
        self.score = score
        self.birth_ns = stamp_ns
        self.last_seen_ns = stamp_ns
        self.stopped = False
        self.occluded = False  # hidden by a nearer measured track since its detections stopped
        self.heading = (0.0, 0.0)  # unit vector of the last direction of travel while moving; 0: unknown
        self.last_centre = (0.0, 0.0)  # box centre after the last detection (set with each snapshot)
        self.measured_box = box  # the last matched detection's box (x1 y1 x2 y2)

    def vote(self, label: str, score: float) -> None:
        self.votes[label] = self.votes.get(label, 0.0) + score
        if label != self.label:
            self.label = max(self.votes, key=self.votes.__getitem__)


def _association(p: Mapping) -> AssociationConfig:
    return AssociationConfig(
        p["iou_threshold"],
        p["low_score_iou_threshold"],
        p["gate_chi2"],
        p["motion_cost_weight"],
        p["recovery_shape_iou"],
    )


class Tracker:
    """`Tracker(params)` with the tracker's flat parameters (missing ones take their defaults)."""

    def __init__(self, params: Mapping[str, object] | None = None):
        p = resolve(PARAMS, dict(params or {}), allow_unknown=True)
        validate(p)
        self.params = p
        self.classes = frozenset(p["classes"])
        self.motion = MotionModel(
            MotionConfig(
                p["accel_noise_px_s2"],
                p["measurement_noise_px"],
                fixed_gain=p["filter"] == "fixed_gain",
                constant_acceleration=p["motion_model"] == "constant_acceleration",
                jerk_noise_px_s3=p["jerk_noise_px_s3"],
                box_state=p["box_state"],
            )
        )
        self.association = _association(p)
        self._live: list[_LiveTrack] = []
        self._snapshot: list[Track] = []
        self._last_stamp_ns: int | None = None
        self._next_id = 1
        self.frames = 0
        self.births = 0
        self.births_refused = 0
        self.resets = 0

    # -- public ------------------------------------------------------------------------------
    def retune(self, params: Mapping[str, object]) -> None:
        """New score thresholds, gates and coasting times from the next frame on; live tracks keep
        their state. The motion model and the class list are fixed at construction."""
        p = resolve(PARAMS, dict(params), allow_unknown=True)
        validate(p)
        self.association = _association(p)
        self.params = p

    def update(self, dets: Detections, stamp_ns: int) -> list[Track]:
        """Advance to the frame at `stamp_ns` with its detections; returns every live track
        (tentative, confirmed and lost)."""
        stamp_ns = int(stamp_ns)
        dt = 0.0
        if self._last_stamp_ns is not None:
            if stamp_ns < self._last_stamp_ns:
                # The source went back in time (file loop, replay): old tracks describe the future.
                self._live.clear()
                self.resets += 1
            else:
                dt = (stamp_ns - self._last_stamp_ns) / 1e9
        self._last_stamp_ns = stamp_ns
        self.frames += 1

        predicted = self.motion.predict([t.filter for t in self._live], dt)
        for t in self._live:
            t.age += 1

        boxes, scores, labels = self._usable(dets)
        is_high = scores >= self.params["high_score"]
        gate = recoverable = None
        if self.association.needs_distances and self._live and len(boxes):
            gate = predicted.gate_distances(boxes)
            if self.association.recovers:
                recoverable = self._in_lane(predicted, boxes)

        established = np.array([t.state != TENTATIVE for t in self._live], dtype=bool)
        can_take_low = np.ones_like(established) if self.params["tentative_low_score"] else established
        result = associate(
            predicted.boxes, can_take_low, boxes, is_high, self.association, gate, recoverable, established
        )

        if result.matches:
            z, noise_std = self.motion.measurements(boxes)
            matched = [di for _, di in result.matches]
            self.motion.update([self._live[ti].filter for ti, _ in result.matches], z[matched], noise_std[matched])
            for (ti, di), score, box in zip(result.matches, scores[matched].tolist(), boxes[matched].tolist()):
                self._matched(self._live[ti], score, labels[di], box, stamp_ns)
        dead = set()
        occluders = self._occluders(predicted.boxes, result, boxes)
        for ti in result.unmatched_tracks:
            t = self._live[ti]
            t.misses += 1
            if t.state == CONFIRMED:  # detections just stopped
                t.stopped = math.hypot(*t.filter.velocity) < self.params["stopped_speed_px_s"]
                if t.stopped:
                    t.filter.hold()
            occluder = occluders.get(ti)
            if occluder is not None and t.state != TENTATIVE:
                t.occluded = True
                if _held_up_by(t.filter, occluder.filter):
                    t.filter.follow(occluder.filter)
            if t.state == TENTATIVE or stamp_ns - t.last_seen_ns > self._coast_limit_ns(t):
                dead.add(ti)
            else:
                t.state = LOST
        if dead:
            self._live = [t for i, t in enumerate(self._live) if i not in dead]

        for di in sorted(result.unmatched_high, key=lambda d: -scores[d]):
            self._birth(boxes[di], float(scores[di]), labels[di], stamp_ns)

        self._snapshot = self._snapshots()
        return list(self._snapshot)

    @property
    def tracks(self) -> list[Track]:
        """Live tracks after the last update."""
        return list(self._snapshot)

    def confirmed_detections(self) -> Detections:
        """What the node publishes on `tracks`: confirmed tracks measured in the last frame, and
        tentative ones already measured in `report_hits` frames in a row, as Detections with ids =
        track ids. Counting takes confirmed tracks only (Track.state)."""
        report_hits = self.params["report_hits"]
        # _snapshot is built from _live at the end of update(), in the same order
        shown = [
            (t, live)
            for t, live in zip(self._snapshot, self._live)
            if t.state == CONFIRMED or (t.state == TENTATIVE and t.hits >= report_hits)
        ]
        if not shown:
            return Detections.empty()
        # every shown track was measured this frame, so its matched detection is current
        own_box = self.params["tracks_box"] == "detection"
        return Detections(
            np.array([live.measured_box if own_box else t.box for t, live in shown], dtype=np.float32),
            np.array([t.score for t, _ in shown], dtype=np.float32),
            [t.label for t, _ in shown],
            [str(t.id) for t, _ in shown],
        )

    # -- steps -------------------------------------------------------------------------------
    def _usable(self, dets: Detections) -> tuple[np.ndarray, np.ndarray, list[str]]:
        keep = [
            i
            for i, (s, lab) in enumerate(zip(dets.scores, dets.labels))
            if s >= self.params["low_score"] and lab in self.classes
        ]
        boxes = dets.boxes[keep].astype(np.float64).reshape(-1, 4)
        return boxes, dets.scores[keep].astype(np.float64), [dets.labels[i] for i in keep]

    def _in_lane(self, predicted, boxes: np.ndarray):
        """The recovery stage's lane rule as a function of (track rows, detection columns)."""
        live = self._live

        def in_lane(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
            return predicted.in_lane(
                boxes[cols],
                np.array([live[i].heading for i in rows]),
                np.array([live[i].last_centre for i in rows]),
                rows,
            )

        return in_lane

    def _coast_limit_ns(self, t: _LiveTrack) -> float:
        limit_s = self.params["max_coast_s"]
        if t.stopped:
            limit_s = max(limit_s, self.params["max_coast_stopped_s"])
        if t.occluded:
            limit_s = max(limit_s, self.params["max_coast_occluded_s"])
        return limit_s * 1e9 + _STAMP_TOLERANCE_NS

    def _occluders(self, predicted: np.ndarray, result, boxes: np.ndarray) -> dict[int, _LiveTrack]:
        """Unmatched track index -> the measured track hiding it: the one whose detection covers
        the most of its predicted box, at least `occlusion_cover`, with its bottom edge lower in the
        image (nearer a camera looking down at the road). Why: behind a bus a car's detections stop
        for longer than max_coast_s, and it reappears where the bus let it go, not on its old path."""
        cover_min = self.params["occlusion_cover"]
        if not cover_min or not result.matches or not result.unmatched_tracks:
            return {}
        hidden_rows = np.asarray(result.unmatched_tracks)
        match_rows = np.array([ti for ti, _ in result.matches])
        front = boxes[[di for _, di in result.matches]]
        hidden = predicted[hidden_rows]
        w = np.minimum(hidden[:, None, 2], front[None, :, 2]) - np.maximum(hidden[:, None, 0], front[None, :, 0])
        h = np.minimum(hidden[:, None, 3], front[None, :, 3]) - np.maximum(hidden[:, None, 1], front[None, :, 1])
        area = np.maximum((hidden[:, 2] - hidden[:, 0]) * (hidden[:, 3] - hidden[:, 1]), 1e-9)
        cover = np.clip(w, 0.0, None) * np.clip(h, 0.0, None) / area[:, None]
        cover[front[None, :, 3] <= hidden[:, None, 3]] = 0.0
        best = cover.argmax(axis=1)
        found = cover[np.arange(len(hidden_rows)), best] >= cover_min
        return {int(r): self._live[int(match_rows[b])] for r, b in zip(hidden_rows[found], best[found])}

    def _snapshots(self) -> list[Track]:
        if not self._live:
            return []
        states = np.stack([t.filter.kf.x[:, 0] for t in self._live])
        boxes = states_to_boxes(states, self.motion.config.box_state).tolist()
        speed = np.hypot(states[:, 4], states[:, 5])
        moving = (speed >= max(self.params["stopped_speed_px_s"], 1e-6)).tolist()
        headings = (states[:, 4:6] / np.maximum(speed, 1e-9)[:, None]).tolist()
        for t, centre, heading, is_moving in zip(self._live, states[:, :2].tolist(), headings, moving):
            if is_moving:
                t.heading = tuple(heading)
            if t.misses == 0:
                t.last_centre = tuple(centre)
        velocities = states[:, 4:6].tolist()
        return [
            Track(
                t.id,
                t.state,
                tuple(box),
                t.label,
                t.score,
                tuple(v),
                t.hits,
                t.age,
                t.misses,
                t.birth_ns,
                t.last_seen_ns,
            )
            for t, box, v in zip(self._live, boxes, velocities)
        ]

    def _matched(self, t: _LiveTrack, score: float, label: str, box: Sequence[float], stamp_ns: int) -> None:
        """Bookkeeping of a track whose filter took a detection this frame."""
        t.hits += 1
        t.misses = 0
        t.stopped = False
        t.occluded = False
        t.score = score
        t.measured_box = box
        t.vote(label, score)
        t.last_seen_ns = stamp_ns
        if t.state == LOST or (t.state == TENTATIVE and t.hits >= self.params["confirm_hits"]):
            t.state = CONFIRMED

    def _birth(self, box, score: float, label: str, stamp_ns: int) -> None:
        if len(self._live) >= self.params["max_tracks"] and not self._evict_oldest_lost():
            self.births_refused += 1
            return
        confirmed = self.params["confirm_hits"] <= 1
        self._live.append(
            _LiveTrack(self._allocate_id(), self.motion.create(box), label, score, stamp_ns, confirmed, box.tolist())
        )
        self.births += 1

    def _evict_oldest_lost(self) -> bool:
        lost = [t for t in self._live if t.state == LOST]
        if not lost:
            return False
        self._live.remove(min(lost, key=lambda t: t.last_seen_ns))
        return True

    def _allocate_id(self) -> int:
        in_use = {t.id for t in self._live}
        while True:
            track_id = self._next_id
            self._next_id = 1 if track_id >= self.params["max_track_id"] else track_id + 1
            if track_id not in in_use:
                return track_id
