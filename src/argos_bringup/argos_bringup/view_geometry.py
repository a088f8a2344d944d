"""Counting lines of the synthetic pole view, in the pixels of its image, for the tracker and the annotator.

The counting lines of config/edge.yaml are drawn on the synthetic intersection's top-down map
(`geometry.image_size: [1280, 720]`, the map's size). A `synthetic://intersection?view=pole...`
source takes them as lines on the map, and its ground truth crosses `view_lines`: the same lines
as the pole camera's image shows them (argos_sim.views). The tracker and the annotator work in
image pixels, so on that view they must count on and draw those image lines, not the map's.

`view_overrides` gives, for such a source, the parameter overrides of both nodes: the lines (and
the tracker's zones) in camera image pixels at the camera's configured width x height,
`geometry.image_size` that size, the annotator's privacy masks (image regions already) rescaled
to that size, and the tracker's `ground_homography` (image px -> ground metres, so CountEvent
speeds are m/s) unless one is set. `argos run`, `edge_container` and edge.launch.py
(composition:=false) all apply it; for any other source it gives nothing.

Only lines in map geometry are mapped: the source is synthetic:// with view=pole and the node's
`geometry.image_size` is exactly [1280, 720] (not normalized). A real camera's lines are never
touched. To give the pole view lines in its own image pixels instead, write them in any other
geometry: `geometry.image_size: []` (camera pixels as they are), `geometry.normalized: true`, or
the size they were drawn on when that is not 1280x720. (The scene's ground truth still crosses
the camera node's lines taken on the map.)
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np

from argos_common.lines import IMAGE_SIZE_KEY, NORMALIZED_KEY, CountingLine, line_params, parse_lines, scale_points
from argos_common.params import ConfigError
from argos_sim import PoleView, parse_scene_uri
from argos_sim.road_network import BASE_HEIGHT, BASE_WIDTH
from argos_sim.views import view_lines

from .config import ConfigPaths, EdgeConfig, load_config

MAP_SIZE = [BASE_WIDTH, BASE_HEIGHT]
MAPPED_NODES = ("tracker", "annotator")  # the nodes that count on and draw lines in image pixels


def pole_view(camera: Mapping[str, Any]) -> PoleView | None:
    """The solved pole camera of the camera node's `source` at its configured `width` x `height`;
    None for any other source. A URI or pole camera the scene refuses is left to the camera node,
    which stops the graph with its own one-line error."""
    source = str(camera.get("source", ""))
    if not source.startswith("synthetic://"):
        return None
    try:
        pole = parse_scene_uri(source).pole_camera()
        if pole is None:
            return None
        return PoleView(pole, int(camera.get("width", BASE_WIDTH)), int(camera.get("height", BASE_HEIGHT)))
    except ValueError:
        return None


def in_map_geometry(params: Mapping[str, Any]) -> bool:
    """Whether a node's lines are drawn on the synthetic map (the opt-out is any other geometry)."""
    return list(params.get(IMAGE_SIZE_KEY) or []) == MAP_SIZE and not params.get(NORMALIZED_KEY, False)


def _image_geometry(params: Mapping[str, Any], view: PoleView) -> dict[str, Any]:
    """Lines, zones and privacy masks of one node in the view's image pixels."""
    size = view.size
    # the map lines in scene map pixels at the camera's size, exactly as the camera node hands
    # them to the scene, so the tracker counts on the very lines the ground truth crosses
    lines = []
    for line in parse_lines(params, size):
        try:
            lines += view_lines([line], view)
        except ValueError as exc:  # a point behind the camera
            raise ConfigError(f"lines.{line.id}.points", str(exc)) from None
    values: dict[str, Any] = {IMAGE_SIZE_KEY: list(size), **line_params(lines)}
    if params.get("zones.names"):
        from argos_tracker.zones import parse_zones

        for zone in parse_zones(params, size):
            # a polygon maps vertex by vertex, as a line does; its edges must not grow
            ring = CountingLine(zone.id, np.asarray(zone.points, np.float64))
            try:
                (mapped,) = view_lines([ring], view, extend_m=0.0)
            except ValueError as exc:
                raise ConfigError(f"zones.{zone.id}.points", str(exc)) from None
            values[f"zones.{zone.id}.points"] = [float(v) for v in mapped.points.ravel()]
    for name in params.get("privacy_masks.names") or []:
        # masks are regions of the image itself, drawn at image_size: only rescaled to the camera's
        key = f"privacy_masks.{name}.points"
        points = np.asarray(params.get(key) or [], np.float64).reshape(-1, 2)
        values[key] = [float(v) for v in scale_points(params, key, points, size).ravel()]
    return values


def view_overrides(camera: Mapping[str, Any], nodes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Parameter overrides (node -> flat values) of the tracker and the annotator for the view of
    the camera node's source; {} for the top view and every non-synthetic source.

    `camera`: the camera node's resolved parameters (source, width, height); `nodes`: resolved
    parameters by node name (those of MAPPED_NODES present are looked at). Raises ConfigError
    naming the parameter when the lines do not fit the camera's size (as the camera would)."""
    view = pole_view(camera)
    if view is None:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for name in MAPPED_NODES:
        params = nodes.get(name)
        if params is None:
            continue
        try:
            values = _image_geometry(params, view) if in_map_geometry(params) else {}
        except ConfigError as exc:
            raise exc.under(f"/**/{name}") from None
        if name == "tracker" and not params.get("ground_homography"):
            values["ground_homography"] = list(view.ground_homography)
        if values:
            out[name] = values
    return out


def describe(camera: Mapping[str, Any], overrides: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The one line to log about `overrides` (None when there are none)."""
    view = pole_view(camera)
    if view is None or not overrides:
        return None
    pole = view.camera
    where = (
        f"the {view.size[0]}x{view.size[1]} image of the pole view ({pole.height_m:g} m high, "
        f"{pole.tilt_deg:g} deg down, {pole.fov_deg:g} deg fov, corner {pole.corner})"
    )
    mapped = [node for node, values in overrides.items() if IMAGE_SIZE_KEY in values]
    if mapped:
        names = ", ".join(overrides[mapped[0]]["lines.names"]) or "(none)"
        parts = [f"counting lines {names} mapped from the map into {where} for {' and '.join(mapped)}"]
    else:
        parts = [f"lines not on the map ({IMAGE_SIZE_KEY} is not {MAP_SIZE}), used as they are on {where}"]
    if "ground_homography" in overrides.get("tracker", {}):
        parts.append("tracker ground_homography from the view (speeds in m/s)")
    return "; ".join(parts)


def map_view_geometry(config: EdgeConfig) -> str | None:
    """Apply `view_overrides` to a loaded config in place (`argos run`, `edge_container`); the
    line to log, or None when the source needs nothing."""
    camera = config.node("camera")
    overrides = view_overrides(camera, config.params)
    for node, values in overrides.items():
        config.params[node].update(values)
    return describe(camera, overrides)


def override_files(config: ConfigPaths, namespace: str) -> tuple[dict[str, dict[str, Any]], str | None]:
    """For separate node processes (edge.launch.py composition:=false), which read the parameter
    file themselves: node -> the contents of one more parameter file for that node's process
    only, and the line to log. ({}, None) when nothing is mapped, and when the config does not
    load: each node process then names the bad key itself, as without this file.

    rcl merges parameter files key by key (a later file's value wins within one node key) and
    applies the node keys in the order they first appear; so the overrides stand under every key
    of this node that edge.yaml may use (`/**`, `/**/<node>`, `/<namespace>/<node>`), each a copy
    of its own (rcl refuses YAML aliases)."""
    ns = "/" + namespace.strip("/")
    try:
        loaded = load_config(config, None, ns)
        camera = loaded.node("camera")
        overrides = view_overrides(camera, loaded.params)
    except ConfigError:
        return {}, None
    files = {
        node: {key: {"ros__parameters": copy.deepcopy(values)} for key in ("/**", f"/**/{node}", f"{ns}/{node}")}
        for node, values in overrides.items()
    }
    note = describe(camera, overrides)
    return files, f"{ns}: {note}" if note else None


__all__ = [
    "MAP_SIZE",
    "MAPPED_NODES",
    "describe",
    "in_map_geometry",
    "map_view_geometry",
    "override_files",
    "pole_view",
    "view_overrides",
]
