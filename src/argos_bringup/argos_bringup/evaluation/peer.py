"""Peer trackers behind the same interface as our Tracker, for side-by-side runs: supervision's
ByteTrack and Roboflow `trackers`' SORT, ByteTrack and OC-SORT.

All four take and return supervision Detections; their outputs are turned into Track snapshots
so that the same LineCounter counts every tracker's tracks: the comparison is of tracking, not
of counting rules. A peer reports only tracks matched in the current frame, with their
detection's box (ids of -1 are not yet confirmed and are left out); velocity is taken from the
box centre's step since the track's previous report. A track it did not report is passed on as
LOST (coasting) for as long as the peer keeps lost tracks, so the counter keeps its state and a
re-found track is not taken for a new object.

Parameters: each peer gets ours where they mean the same thing (score to start a track and to
split the two ByteTrack stages: `high_score`; frames to confirm: `confirm_hits`; coasting:
`max_coast_s`, which all four count in frames at 30 FPS and scale by the frame rate) and keeps
its own defaults for the rest (IoU thresholds, OC-SORT's direction weight).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping

import numpy as np

from argos_common.detections import Detections
from argos_tracker.tracker import CONFIRMED, LOST, Track

# every peer counts its lost-track buffer in frames at 30 FPS
_REFERENCE_FPS = 30.0

SUPERVISION_BYTETRACK = "supervision ByteTrack"
TRACKERS_SORT = "trackers SORT"
TRACKERS_BYTETRACK = "trackers ByteTrack"
TRACKERS_OCSORT = "trackers OC-SORT"
PEER_NAMES = (SUPERVISION_BYTETRACK, TRACKERS_SORT, TRACKERS_BYTETRACK, TRACKERS_OCSORT)


def _buffer_frames(p: Mapping) -> int:
    return max(1, int(round(float(p.get("max_coast_s", 1.0)) * _REFERENCE_FPS)))


class _Peer:
    """Shared adapter: Detections in, Track snapshots out; subclasses run the peer itself."""

    def __init__(self, params: Mapping[str, object] | None):
        import supervision as sv

        p = dict(params or {})
        self.params = p
        self._coast_ns = float(p.get("max_coast_s", 1.0)) * 1e9
        self.classes = list(p.get("classes", []))
        self._sv = sv
        self._last: dict[int, tuple[np.ndarray, int, int, Track]] = {}  # id -> (centre, stamp, birth, track)
        self._shown: list[Track] = []

    def _run(self, detections):  # -> sv.Detections with tracker_id
        raise NotImplementedError

    def update(self, dets: Detections, stamp_ns: int) -> list[Track]:
        labels = sorted(set(dets.labels) | set(self.classes))
        index = {label: i for i, label in enumerate(labels)}
        detections = self._sv.Detections(
            xyxy=dets.boxes.astype(np.float32).reshape(-1, 4),
            confidence=dets.scores.astype(np.float32),
            class_id=np.array([index[label] for label in dets.labels], dtype=int),
        )
        out = self._run(detections)
        tracks = []
        seen = {}
        for box, score, class_id, track_id in zip(out.xyxy, out.confidence, out.class_id, out.tracker_id):
            track_id = int(track_id)
            if track_id < 0:  # not (yet) a confirmed track
                continue
            centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], np.float64)
            previous = self._last.get(track_id)
            velocity = (0.0, 0.0)
            birth = stamp_ns
            if previous is not None:
                dt = (stamp_ns - previous[1]) / 1e9
                birth = previous[2]
                if dt > 0:
                    velocity = tuple(float(v) for v in (centre - previous[0]) / dt)
            track = Track(
                track_id,
                CONFIRMED,
                tuple(float(v) for v in box),
                labels[int(class_id)],
                float(score),
                velocity,
                1,
                1,
                0,
                birth,
                stamp_ns,
            )
            seen[track_id] = (centre, stamp_ns, birth, track)
            tracks.append(track)
        self._shown = list(tracks)
        for track_id, (_centre, last_ns, birth, track) in list(self._last.items()):
            if track_id in seen:
                continue
            if stamp_ns - last_ns > self._coast_ns:
                del self._last[track_id]
                continue
            tracks.append(
                Track(track_id, LOST, track.box, track.label, track.score, track.velocity, 1, 1, 1, birth, last_ns)
            )
        self._last.update(seen)
        return tracks

    def confirmed_detections(self) -> Detections:
        """The tracks the peer reported for the last frame, ids = its track ids."""
        if not self._shown:
            return Detections.empty()
        return Detections(
            np.array([t.box for t in self._shown], np.float32),
            np.array([t.score for t in self._shown], np.float32),
            [t.label for t in self._shown],
            [str(t.id) for t in self._shown],
        )


class PeerByteTrack(_Peer):
    """supervision 0.30.9's ByteTrack (deprecated there in favour of `trackers`)."""

    def __init__(self, fps: float, params: Mapping[str, object] | None = None):
        super().__init__(params)
        p = self.params
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._tracker = self._sv.ByteTrack(
                track_activation_threshold=float(p.get("high_score", 0.5)),
                lost_track_buffer=_buffer_frames(p),
                minimum_matching_threshold=0.8,
                frame_rate=fps,
                minimum_consecutive_frames=int(p.get("confirm_hits", 3)),
            )

    def _run(self, detections):
        return self._tracker.update_with_detections(detections)


class PeerTrackers(_Peer):
    """One of Roboflow `trackers`' SORT, ByteTrack or OC-SORT (`kind`: sort | bytetrack | ocsort)."""

    def __init__(self, kind: str, fps: float, params: Mapping[str, object] | None = None):
        super().__init__(params)
        import trackers

        p = self.params
        common = {
            "lost_track_buffer": _buffer_frames(p),
            "frame_rate": fps,
            "minimum_consecutive_frames": int(p.get("confirm_hits", 3)),
        }
        high = float(p.get("high_score", 0.5))
        if kind == "sort":
            self._tracker = trackers.SORTTracker(track_activation_threshold=high, **common)
        elif kind == "bytetrack":
            self._tracker = trackers.ByteTrackTracker(
                track_activation_threshold=high, high_conf_det_threshold=high, **common
            )
        elif kind == "ocsort":
            self._tracker = trackers.OCSORTTracker(high_conf_det_threshold=high, **common)
        else:
            raise ValueError(f"unknown trackers kind {kind!r} (sort, bytetrack, ocsort)")

    def _run(self, detections):
        return self._tracker.update(detections)


def peer_factories(fps: float, params: Mapping[str, object]) -> dict[str, Callable[[], _Peer]]:
    """Name -> factory of a fresh peer tracker, for every peer, in PEER_NAMES order."""
    return {
        SUPERVISION_BYTETRACK: lambda: PeerByteTrack(fps, params),
        TRACKERS_SORT: lambda: PeerTrackers("sort", fps, params),
        TRACKERS_BYTETRACK: lambda: PeerTrackers("bytetrack", fps, params),
        TRACKERS_OCSORT: lambda: PeerTrackers("ocsort", fps, params),
    }
