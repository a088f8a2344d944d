"""Parameters of the tracker node (section `/**/tracker` of config/edge.yaml; `classes` and
`lines.*` are global).

The node declares these with descriptors and `argos_bringup.config` validates the YAML file
against the same list, so both sides agree on names, types, defaults and ranges. Rules that
involve two parameters at once live in `validate(values)`, the hook `argos_bringup.config`
calls before anything starts (the Tracker and the node apply it too).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from argos_common.classes import DEFAULT_CLASSES
from argos_common.lines import GEOMETRY_PARAMS, LINES_GROUP
from argos_common.params import ConfigError, ParamGroup, ParamSpec, writable

ANCHORS = ("bottom_center", "center")
FILTERS = ("kalman", "fixed_gain")
MOTION_MODELS = ("constant_velocity", "constant_acceleration")
BOX_STATES = ("wh", "ah")
TRACKS_BOXES = ("detection", "filtered")

ZONES_GROUP = ParamGroup(
    prefix="zones",
    description="counting zone",
    fields=(
        ParamSpec(
            "points",
            "float[]",
            [],
            "polygon vertices x0, y0, x1, y1, ... (>= 3 points), scaled like lines.<name>.points",
        ),
    ),
)

MOVEMENTS_GROUP = ParamGroup(
    prefix="movements",
    description="movement label (e.g. WBT)",
    fields=(
        ParamSpec("from", "str", "", "approach line the movement enters by (one of movements.lines)"),
        ParamSpec("to", "str", "", "approach line the movement leaves by (one of movements.lines)"),
    ),
)

PARAMS: list[ParamSpec | ParamGroup] = [
    ParamSpec(
        "classes",
        "str[]",
        list(DEFAULT_CLASSES),
        "class labels the tracker accepts; detections with any other label are ignored",
    ),
    # live: a change starts a new counting epoch (pipeline.TrackingPipeline.retune)
    *writable(LINES_GROUP, *GEOMETRY_PARAMS, ZONES_GROUP),
    # turning movements (argos_tracker.movements)
    ParamSpec(
        "movements.lines",
        "str[]",
        [],
        "approach lines (counting lines whose `in` direction enters the intersection): a track entering "
        "by one and leaving by another is a turning movement; empty: no movements",
    ),
    MOVEMENTS_GROUP,
    ParamSpec(
        "movements.link_s",
        "float",
        15.0,
        "a track lost inside after entering may be continued by a re-found track (new id) born within "
        "this time that leaves without entry; also how long a vanished entry waits for it",
        min=0.0,
        max=600.0,
    ),
    ParamSpec(
        "movements.link_max_px",
        "float",
        150.0,
        "farthest the re-found track may be born from where the lost one was last seen (source px)",
        min=0.0,
    ),
    # association (ByteTrack-style two stages)
    ParamSpec(
        "high_score",
        "float",
        0.5,
        "detections at or above this score are matched first and may start new tracks",
        min=0.0,
        max=1.0,
        read_only=False,
    ),
    ParamSpec(
        "low_score",
        "float",
        0.1,
        "detections in [low_score, high_score) only extend confirmed tracks; below: ignored",
        min=0.0,
        max=1.0,
        read_only=False,
    ),
    ParamSpec(
        "iou_threshold",
        "float",
        0.2,
        "least IoU between a track's predicted box and a high-score detection to match them",
        min=0.0,
        max=1.0,
        read_only=False,
    ),
    ParamSpec(
        "low_score_iou_threshold",
        "float",
        0.4,
        "least IoU for a low-score detection to extend a track (stricter: such boxes are less reliable)",
        min=0.0,
        max=1.0,
        read_only=False,
    ),
    ParamSpec(
        "gate_chi2",
        "float",
        13.8,
        "Mahalanobis gate on the box centre (chi-square, 2 dof; 13.8 = 99.9 %); 0 disables",
        min=0.0,
        read_only=False,
    ),
    ParamSpec(
        "motion_cost_weight",
        "float",
        0.0,
        "weight of the Mahalanobis centre distance (saturating at the 99.9 % gate) added to 1 - IoU in "
        "the assignment cost; 0: IoU alone",
        min=0.0,
        max=10.0,
        read_only=False,
    ),
    ParamSpec(
        "recovery_shape_iou",
        "float",
        0.5,
        "recovery stage: a confirmed track that IoU left unmatched may take a high-score detection that "
        "would start a new track, if it is inside the track's Mahalanobis gate and lane and the boxes, "
        "centred on each other, have at least this IoU (thin boxes under camera shake, vehicles that "
        "pulled away while hidden); 0: off (it needs gate_chi2 > 0)",
        min=0.0,
        max=1.0,
        read_only=False,
    ),
    # lifecycle
    ParamSpec(
        "confirm_hits", "int", 3, "matched frames in a row before a new track is confirmed", min=1, read_only=False
    ),
    ParamSpec(
        "report_hits",
        "int",
        2,
        "a tentative track measured in this many frames in a row is published on `tracks` already "
        "(counting, zones and movements still wait for confirm_hits); >= confirm_hits: confirmed only",
        min=1,
        read_only=False,
    ),
    ParamSpec(
        "tracks_box",
        "str",
        "detection",
        "box published on `tracks` for a track measured this frame: detection (the matched detection's "
        "own box, as ByteTrack reports it) or filtered (the Kalman state: smoother, but it lags a box "
        "that changes fast); counting, zones and movements always use the filter",
        choices=TRACKS_BOXES,
        read_only=False,
    ),
    ParamSpec(
        "tentative_low_score",
        "bool",
        True,
        "a tentative track may take a low-score detection in the second (low-score) stage, so one weak "
        "box does not end a new track (tracks still start from high-score detections only)",
        read_only=False,
    ),
    ParamSpec(
        "max_coast_s",
        "float",
        2.0,
        "how long a confirmed track coasts on its prediction without detections before removal",
        min=0.0,
        read_only=False,
    ),
    ParamSpec(
        "stopped_speed_px_s",
        "float",
        20.0,
        "a confirmed track slower than this when its detections stop is taken as stopped (px/s)",
        min=0.0,
        read_only=False,
    ),
    ParamSpec(
        "max_coast_stopped_s",
        "float",
        10.0,
        "how long a stopped track is held in place without detections (a vehicle waiting at a red "
        "light fades into a background-subtraction detector's background); at least max_coast_s",
        min=0.0,
        read_only=False,
    ),
    ParamSpec(
        "occlusion_cover",
        "float",
        0.0,
        "a confirmed track whose detections stop while at least this share of its predicted box lies "
        "under the box of a measured track nearer the camera (bottom edge lower in the image) is taken "
        "as hidden by that vehicle: it coasts up to max_coast_occluded_s and, behind a vehicle going its "
        "way, moves at that vehicle's speed; 0: off (the default: measured on the pole view it did "
        "not help, docs/tracker.md)",
        min=0.0,
        max=1.0,
        read_only=False,
    ),
    ParamSpec(
        "max_coast_occluded_s",
        "float",
        4.0,
        "how long a track hidden by a nearer vehicle coasts without detections (a car behind a bus in "
        "a queue or a turn); at least max_coast_s",
        min=0.0,
        read_only=False,
    ),
    ParamSpec("max_tracks", "int", 256, "most tracks alive at once; further births are refused", min=1),
    ParamSpec(
        "max_track_id",
        "int",
        999999,
        "track ids run 1..max_track_id and then wrap (ids alive at the time are skipped)",
        min=2,
        max=2**31 - 1,
    ),
    # motion model
    ParamSpec(
        "filter",
        "str",
        "kalman",
        "kalman: full Kalman filter; fixed_gain: steady-state (Luenberger) gain, cheaper and stiffer",
        choices=FILTERS,
    ),
    ParamSpec(
        "motion_model",
        "str",
        "constant_velocity",
        "state of each track: box and its velocity, or also its acceleration (braking into and pulling out of queues)",
        choices=MOTION_MODELS,
    ),
    ParamSpec(
        "box_state",
        "str",
        "wh",
        "box part of the state besides the centre: wh (width, height) or ah (aspect w/h, height)",
        choices=BOX_STATES,
    ),
    ParamSpec(
        "jerk_noise_px_s3",
        "float",
        150.0,
        "constant_acceleration only: process noise, std of unmodelled jerk of the box centre (px/s^3)",
        min=0.001,
    ),
    ParamSpec(
        "accel_noise_px_s2",
        "float",
        60.0,
        "process noise: std of unmodelled acceleration of the box centre (px/s^2)",
        min=0.001,
    ),
    ParamSpec(
        "measurement_noise_px",
        "float",
        2.0,
        "std of a detection's box centre (px); size std is twice this, plus 5 % of the box size",
        min=0.001,
    ),
    # counting
    ParamSpec("anchor", "str", "bottom_center", "point of the box that must cross a counting line", choices=ANCHORS),
    ParamSpec(
        "count_hysteresis_px",
        "float",
        5.0,
        "an anchor must get this far from a line on the new side before a crossing counts",
        min=0.0,
        read_only=False,
    ),
    ParamSpec(
        "meters_per_pixel",
        "float",
        0.0,
        "ground scale for CountEvent.speed_m_s; 0: unknown (speed_m_s is NaN); ground_homography takes precedence",
        min=0.0,
    ),
    ParamSpec(
        "ground_homography",
        "float[]",
        [],
        "3x3 homography, row-major (9 values), from image pixels to ground-plane metres; "
        "empty: none (speed_m_s from meters_per_pixel)",
    ),
    # reporting
    ParamSpec(
        "totals_interval_s",
        "float",
        10.0,
        "period of the totals log line (counts per line/zone, class and direction); 0: off",
        min=0.0,
        read_only=False,
    ),
]


def validate(values: Mapping[str, Any]) -> None:
    """Rules across parameters; raises ConfigError naming the parameter to change."""
    if values["low_score"] > values["high_score"]:
        raise ConfigError("low_score", f"{values['low_score']} is above high_score {values['high_score']}")
    if values["max_track_id"] <= values["max_tracks"]:
        raise ConfigError("max_track_id", f"must exceed max_tracks ({values['max_tracks']}) so a free id always exists")
    if not values["classes"]:
        raise ConfigError("classes", "needs at least one class label")
    homography = list(values.get("ground_homography", []) or [])
    if homography:
        _check_homography(homography)
    from .movements import movement_table

    movement_table(values)  # ConfigError naming movements.lines or a label's from/to
    line_names = set(values.get("lines.names", []) or [])
    for name in values.get("zones.names", []) or []:
        key = f"zones.{name}.points"
        if name in line_names:
            raise ConfigError(key, f"zone {name!r} has the name of a counting line (their events share line_id)")
        pts = list(values.get(key, []) or [])
        if len(pts) < 6 or len(pts) % 2:
            raise ConfigError(
                key, f"needs an even number (>= 6) of coordinates x0, y0, x1, y1, x2, y2, ...; got {len(pts)}"
            )


def _check_homography(values: list) -> None:
    from .ground_plane import GroundPlane

    try:
        GroundPlane(values)
    except ValueError as exc:
        raise ConfigError("ground_homography", str(exc)) from None
