"""ARGOS synthetic intersection: a deterministic traffic scene seen from above or by a camera
on a pole at a corner, with exact ground truth (boxes with visible fraction, crossings of the
counting lines).

Public API: `IntersectionScene` (frame by frame: image and GroundTruth; `view="top"|"pole"`),
`PoleCamera` (height, tilt, field of view, corner), `open_scene` / `parse_scene_uri`
(`synthetic://intersection?seed=..&conditions=..&view=pole&height=8&tilt=30&fov=100`), `CONDITIONS`,
`GroundTruthMovement` (a vehicle's planned route and the lines it entered and left by),
`parse_conditions`, `ground_truth_totals`. ROS-free: the camera's `synthetic://` source, the
training data, the detector benchmark and the evaluations use it the same way.
"""

from .scene import (
    CONDITIONS,
    PIXELS_PER_METER,
    GroundTruth,
    GroundTruthCrossing,
    GroundTruthMovement,
    IntersectionScene,
    ground_truth_totals,
    parse_conditions,
)
from .uri import SCENES, SceneOptions, open_scene, parse_scene_uri
from .views import VIEWS, PoleCamera, PoleView

__all__ = [
    "CONDITIONS",
    "PIXELS_PER_METER",
    "GroundTruth",
    "GroundTruthCrossing",
    "GroundTruthMovement",
    "IntersectionScene",
    "PoleCamera",
    "PoleView",
    "SCENES",
    "SceneOptions",
    "VIEWS",
    "ground_truth_totals",
    "open_scene",
    "parse_conditions",
    "parse_scene_uri",
]
