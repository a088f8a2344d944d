"""`synthetic://<scene>?seed=..&density=..&occluders=..&conditions=..&view=..` -> a scene.

The camera's `synthetic://` source, the detector benchmark and the evaluations open scenes this
way, so one URI means the same traffic everywhere.

`view=top` (default) or `view=pole`; the pole camera's `height` (m), `tilt` (degrees below the
horizontal), `fov` (horizontal, degrees) and `corner` (sw, se, ne, nw) apply to view=pole only,
e.g. `synthetic://intersection?view=pole&height=8&tilt=30&fov=100`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from argos_common.lines import CountingLine

from .scene import IntersectionScene, parse_conditions
from .views import CORNERS, FIT_MAX_M, FOV_RANGE_DEG, HEIGHT_RANGE_M, TILT_RANGE_DEG, VIEWS, PoleCamera

SCENES = ("intersection",)
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
# URI option -> (SceneOptions field, range, unit) of the pole camera's numbers
_POLE_NUMBERS = {
    "height": ("pole_height_m", HEIGHT_RANGE_M, " m"),
    "tilt": ("pole_tilt_deg", TILT_RANGE_DEG, " degrees"),
    "fov": ("pole_fov_deg", FOV_RANGE_DEG, " degrees"),
    "distance": ("pole_distance_m", (1.0, FIT_MAX_M), " m"),  # from the junction centre; default: fitted
}
_KNOWN = "seed, density, occluders, conditions, view, height, tilt, fov, corner, distance"


@dataclass(frozen=True)
class SceneOptions:
    scene: str = "intersection"
    seed: int = 7
    density: float = 1.0
    occluders: bool = True
    conditions: tuple[str, ...] = ()
    view: str = "top"
    pole_height_m: float | None = None  # None: PoleCamera's default (and so for the others)
    pole_tilt_deg: float | None = None
    pole_fov_deg: float | None = None
    pole_corner: str | None = None
    pole_distance_m: float | None = None

    def pole_camera(self) -> PoleCamera | None:
        """The pole camera these options describe (view=pole), else None."""
        if self.view != "pole":
            return None
        given = {
            "height_m": self.pole_height_m,
            "tilt_deg": self.pole_tilt_deg,
            "fov_deg": self.pole_fov_deg,
            "corner": self.pole_corner,
            "distance_m": self.pole_distance_m,
        }
        return PoleCamera(**{k: v for k, v in given.items() if v is not None})  # type: ignore[arg-type]


def parse_scene_uri(uri: str, defaults: SceneOptions = SceneOptions()) -> SceneOptions:
    """The options a `synthetic://` URI names, over `defaults`; ValueError naming the URI and option."""
    parts = urlsplit(uri)
    scene = parts.netloc or parts.path.strip("/")
    if scene not in SCENES:
        raise ValueError(f"unknown synthetic scene {scene!r} (available: {', '.join(SCENES)})")
    options: dict[str, Any] = {
        "scene": scene,
        "seed": defaults.seed,
        "density": defaults.density,
        "occluders": defaults.occluders,
        "conditions": defaults.conditions,
        "view": defaults.view,
        "pole_height_m": defaults.pole_height_m,
        "pole_tilt_deg": defaults.pole_tilt_deg,
        "pole_fov_deg": defaults.pole_fov_deg,
        "pole_corner": defaults.pole_corner,
    }
    pole_given = []
    for name, text in parse_qsl(parts.query, keep_blank_values=True):
        if name == "seed":
            try:
                options["seed"] = int(text)
            except ValueError:
                raise ValueError(f"{uri}: seed must be an integer, got {text!r}") from None
        elif name == "density":
            try:
                options["density"] = float(text)
            except ValueError:
                raise ValueError(f"{uri}: density must be a number, got {text!r}") from None
            if not 0.0 <= options["density"] <= 10.0:
                raise ValueError(f"{uri}: density must be within 0..10, got {text}")
        elif name == "occluders":
            if text.lower() not in _TRUE + _FALSE:
                raise ValueError(f"{uri}: occluders must be true or false, got {text!r}")
            options["occluders"] = text.lower() in _TRUE
        elif name == "conditions":
            try:
                options["conditions"] = parse_conditions(text)
            except ValueError as exc:
                raise ValueError(f"{uri}: {exc}") from None
        elif name == "view":
            if text.lower() not in VIEWS:
                raise ValueError(f"{uri}: view must be one of {', '.join(VIEWS)}, got {text!r}")
            options["view"] = text.lower()
        elif name in _POLE_NUMBERS:
            field, (low, high), unit = _POLE_NUMBERS[name]
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"{uri}: {name} must be a number, got {text!r}") from None
            if not low <= value <= high:
                raise ValueError(f"{uri}: {name} must be within {low:g}..{high:g}{unit}, got {text}")
            options[field] = value
            pole_given.append(name)
        elif name == "corner":
            if text.lower() not in CORNERS:
                raise ValueError(f"{uri}: corner must be one of {', '.join(CORNERS)}, got {text!r}")
            options["pole_corner"] = text.lower()
            pole_given.append(name)
        else:
            raise ValueError(f"{uri}: unknown option {name!r} (known: {_KNOWN})")
    if pole_given and options["view"] != "pole":
        raise ValueError(f"{uri}: {pole_given[0]} applies to view=pole only (the view is {options['view']})")
    result = SceneOptions(**options)
    camera = result.pole_camera()
    if camera is not None:
        try:
            camera.validate()  # tilt and fov together: the camera must not look at its own foot
        except ValueError as exc:
            raise ValueError(f"{uri}: {exc}") from None
    return result


def open_scene(
    uri: str,
    width: int,
    height: int,
    fps: float,
    classes: Sequence[str],
    lines: Sequence[CountingLine],
    defaults: SceneOptions = SceneOptions(),
    render: bool = True,
) -> IntersectionScene:
    options = parse_scene_uri(uri, defaults)
    if not classes:
        raise ValueError("the synthetic scene needs at least one class")
    try:
        return IntersectionScene(
            width,
            height,
            fps,
            options.seed,
            list(classes),
            lines,
            density=options.density,
            occluders=options.occluders,
            conditions=options.conditions,
            render=render,
            view=options.view,
            pole=options.pole_camera(),
        )
    except ValueError as exc:
        if options.view != "pole":
            raise
        raise ValueError(f"{uri}: {exc}") from None  # e.g. no pole distance shows all the counting lines
