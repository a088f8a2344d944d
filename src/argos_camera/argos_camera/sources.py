"""`source` URIs -> FrameSource: synthetic://intersection[?options], file:///abs/path or a plain path."""
from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

from argos_common.classes import DEFAULT_CLASSES
from argos_common.lines import parse_lines

from .file_source import VideoFileSource
from .source_types import FrameSource, SourceError
from .synthetic import IntersectionScene

SUPPORTED = "synthetic://, file://"
SYNTHETIC_SCENES = ("intersection",)
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class SyntheticSource(FrameSource):
    def __init__(self, scene: IntersectionScene, uri: str):
        self.scene = scene
        self.uri = uri
        self.fps = scene.fps
        self.size = (scene.width, scene.height)

    def read(self):
        image, truth = self.scene.next_frame()
        return image, {"ground_truth": truth}

    def ground_truth_totals(self):
        return self.scene.ground_truth_totals()


def _synthetic_options(uri: str, query: str, params: Mapping[str, Any]) -> dict[str, Any]:
    options = {"seed": int(params.get("seed", 7)), "density": float(params.get("density", 1.0)),
               "occluders": bool(params.get("occluders", True))}
    for name, text in parse_qsl(query, keep_blank_values=True):
        if name == "seed":
            try:
                options["seed"] = int(text)
            except ValueError:
                raise SourceError(f"{uri}: seed must be an integer, got {text!r}") from None
        elif name == "density":
            try:
                options["density"] = float(text)
            except ValueError:
                raise SourceError(f"{uri}: density must be a number, got {text!r}") from None
            if not 0.0 <= options["density"] <= 10.0:
                raise SourceError(f"{uri}: density must be within 0..10, got {text}")
        elif name == "occluders":
            if text.lower() not in _TRUE + _FALSE:
                raise SourceError(f"{uri}: occluders must be true or false, got {text!r}")
            options["occluders"] = text.lower() in _TRUE
        else:
            raise SourceError(f"{uri}: unknown option {name!r} (known: seed, density, occluders)")
    return options


def open_synthetic(uri: str, params: Mapping[str, Any]) -> SyntheticSource:
    parts = urlsplit(uri)
    scene = parts.netloc or parts.path.strip("/")
    if scene not in SYNTHETIC_SCENES:
        raise SourceError(f"unknown synthetic scene {scene!r} (available: {', '.join(SYNTHETIC_SCENES)})")
    options = _synthetic_options(uri, parts.query, params)
    lines = parse_lines(params)
    classes = list(params.get("classes", DEFAULT_CLASSES))
    if not classes:
        raise SourceError("the synthetic scene needs at least one class", key="classes")
    scene_obj = IntersectionScene(int(params.get("width", 1280)), int(params.get("height", 720)),
                                  float(params.get("fps", 15.0)), options["seed"], classes, lines,
                                  density=options["density"], occluders=options["occluders"])
    return SyntheticSource(scene_obj, uri)


def open_source(uri: str, params: Mapping[str, Any]) -> FrameSource:
    """Open the source named by `uri`; `params` are the camera node's resolved parameters."""
    uri = uri.strip()
    if not uri:
        raise SourceError("empty source (supported: synthetic://intersection, file:///path)")
    if "://" not in uri:
        return VideoFileSource(uri, loop=bool(params.get("loop", False)), fallback_fps=float(params.get("fps", 15.0)))
    scheme = uri.split("://", 1)[0].lower()
    if scheme == "synthetic":
        return open_synthetic(uri, params)
    if scheme == "file":
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise SourceError(f"file URIs name a local absolute path (file:///path), got {uri!r}")
        return VideoFileSource(unquote(parts.path), loop=bool(params.get("loop", False)),
                               fallback_fps=float(params.get("fps", 15.0)))
    raise SourceError(f"unsupported source '{scheme}://' (supported: {SUPPORTED})")


__all__ = ["FrameSource", "SourceError", "SyntheticSource", "VideoFileSource", "open_source", "SUPPORTED"]
