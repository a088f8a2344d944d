"""`synthetic://<scene>?seed=..&density=..&occluders=..&conditions=..` -> a scene.

The camera's `synthetic://` source, the detector benchmark and the evaluations open scenes this
way, so one URI means the same traffic everywhere."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from argos_common.lines import CountingLine

from .scene import IntersectionScene, parse_conditions

SCENES = ("intersection",)
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class SceneOptions:
    scene: str = "intersection"
    seed: int = 7
    density: float = 1.0
    occluders: bool = True
    conditions: tuple[str, ...] = ()


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
    }
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
        else:
            raise ValueError(f"{uri}: unknown option {name!r} (known: seed, density, occluders, conditions)")
    return SceneOptions(**options)


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
    )
