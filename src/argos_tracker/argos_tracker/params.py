"""Parameters of the tracker node (section `/**/tracker` of config/edge.yaml; `classes` and
`lines.*` are global).

The node declares these with descriptors and `argos_bringup.config` validates the YAML file
against the same list, so both sides agree on names, types, defaults and ranges. Rules that
involve two parameters at once live in `validate(values)`, the hook `argos_bringup.config`
calls before anything starts (the Tracker and the node apply it too).
"""
from __future__ import annotations

from typing import Mapping

from argos_common.classes import DEFAULT_CLASSES
from argos_common.lines import LINES_GROUP
from argos_common.params import ConfigError, ParamSpec

ANCHORS = ("bottom_center", "center")
FILTERS = ("kalman", "fixed_gain")

PARAMS = [
    ParamSpec("classes", "str[]", list(DEFAULT_CLASSES),
              "class labels the tracker accepts; detections with any other label are ignored"),
    LINES_GROUP,
    # association (ByteTrack-style two stages)
    ParamSpec("high_score", "float", 0.5,
              "detections at or above this score are matched first and may start new tracks", min=0.0, max=1.0),
    ParamSpec("low_score", "float", 0.1,
              "detections in [low_score, high_score) only extend confirmed tracks; below: ignored",
              min=0.0, max=1.0),
    ParamSpec("iou_threshold", "float", 0.2,
              "least IoU between a track's predicted box and a high-score detection to match them",
              min=0.0, max=1.0),
    ParamSpec("low_score_iou_threshold", "float", 0.4,
              "least IoU for a low-score detection to extend a track (stricter: such boxes are less reliable)",
              min=0.0, max=1.0),
    ParamSpec("gate_chi2", "float", 13.8,
              "Mahalanobis gate on the box centre (chi-square, 2 dof; 13.8 = 99.9 %); 0 disables",
              min=0.0),
    # lifecycle
    ParamSpec("confirm_hits", "int", 3, "matched frames in a row before a new track is confirmed", min=1),
    ParamSpec("max_coast_s", "float", 1.0,
              "how long a confirmed track coasts on its prediction without detections before removal",
              min=0.0),
    ParamSpec("stopped_speed_px_s", "float", 20.0,
              "a confirmed track slower than this when its detections stop is taken as stopped (px/s)",
              min=0.0),
    ParamSpec("max_coast_stopped_s", "float", 10.0,
              "how long a stopped track is held in place without detections (a vehicle waiting at a red "
              "light fades into a background-subtraction detector's background); at least max_coast_s",
              min=0.0),
    ParamSpec("max_tracks", "int", 256, "most tracks alive at once; further births are refused", min=1),
    ParamSpec("max_track_id", "int", 999999,
              "track ids run 1..max_track_id and then wrap (ids alive at the time are skipped)",
              min=2, max=2**31 - 1),
    # motion model
    ParamSpec("filter", "str", "kalman",
              "kalman: full Kalman filter; fixed_gain: steady-state (Luenberger) gain, cheaper and stiffer",
              choices=FILTERS),
    ParamSpec("accel_noise_px_s2", "float", 60.0,
              "process noise: std of unmodelled acceleration of the box centre (px/s^2)", min=0.001),
    ParamSpec("measurement_noise_px", "float", 2.0,
              "std of a detection's box centre (px); size std is twice this, plus 5 % of the box size",
              min=0.001),
    # counting
    ParamSpec("anchor", "str", "bottom_center", "point of the box that must cross a counting line",
              choices=ANCHORS),
    ParamSpec("count_hysteresis_px", "float", 5.0,
              "an anchor must get this far from a line on the new side before a crossing counts", min=0.0),
    ParamSpec("meters_per_pixel", "float", 0.0,
              "ground scale for CountEvent.speed_m_s; 0: unknown (speed_m_s is NaN)", min=0.0),
]


def validate(values: Mapping[str, object]) -> None:
    """Rules across parameters; raises ConfigError naming the parameter to change."""
    if values["low_score"] > values["high_score"]:
        raise ConfigError("low_score", f"{values['low_score']} is above high_score {values['high_score']}")
    if values["max_track_id"] <= values["max_tracks"]:
        raise ConfigError("max_track_id", f"must exceed max_tracks ({values['max_tracks']}) so a free id always exists")
    if not values["classes"]:
        raise ConfigError("classes", "needs at least one class label")
