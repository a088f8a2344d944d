"""supervision's ByteTrack behind the same interface as our Tracker, for side-by-side runs.

Its outputs are turned into Track snapshots so that the same LineCounter counts both trackers'
tracks: the comparison is of tracking, not of counting rules. supervision reports only tracks
matched in the current frame, with their detection's box and class; velocity is taken from the
box centre's step since the track's previous report. A track it did not report is passed on as
LOST (coasting) for as long as supervision keeps lost tracks, so the counter keeps its state
and a re-found track is not taken for a new object.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from argos_common.detections import Detections
from argos_tracker.tracker import CONFIRMED, LOST, Track

# supervision's ByteTrack counts its lost-track buffer in frames at 30 FPS
_SV_REFERENCE_FPS = 30.0


class PeerByteTrack:
    def __init__(self, fps: float, params: Mapping[str, object] | None = None):
        import supervision as sv

        p = dict(params or {})
        self._coast_ns = float(p.get("max_coast_s", 1.0)) * 1e9
        self.classes = list(p.get("classes", []))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecated in favour of the separate `trackers` package
            self._tracker = sv.ByteTrack(
                track_activation_threshold=float(p.get("high_score", 0.5)),
                lost_track_buffer=max(1, int(round(float(p.get("max_coast_s", 1.0)) * _SV_REFERENCE_FPS))),
                minimum_matching_threshold=0.8,
                frame_rate=fps,
                minimum_consecutive_frames=int(p.get("confirm_hits", 3)),
            )
        self._sv = sv
        self._last: dict[int, tuple[np.ndarray, int, int, Track]] = {}  # id -> (centre, stamp, birth, track)

    def update(self, dets: Detections, stamp_ns: int) -> list[Track]:
        labels = sorted(set(dets.labels) | set(self.classes))
        index = {label: i for i, label in enumerate(labels)}
        detections = self._sv.Detections(
            xyxy=dets.boxes.astype(np.float32).reshape(-1, 4),
            confidence=dets.scores.astype(np.float32),
            class_id=np.array([index[label] for label in dets.labels], dtype=int),
        )
        out = self._tracker.update_with_detections(detections)
        tracks = []
        seen = {}
        for box, score, class_id, track_id in zip(out.xyxy, out.confidence, out.class_id, out.tracker_id):
            track_id = int(track_id)
            if track_id < 0:  # not yet confirmed (minimum_consecutive_frames)
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
