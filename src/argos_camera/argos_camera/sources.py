"""`source` URIs -> FrameSource.

synthetic://   the synthetic intersection (Python)
file://, path  video files: GStreamer (any container/codec it decodes); OpenCV when PyGObject is
               missing or file_backend=opencv
rtsp://, v4l2://, argus://, gst://   GStreamer (gst_source.GstSource; pipelines.py builds the pipeline)
images://      a folder of still images (OpenCV imread)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from argos_common.classes import DEFAULT_CLASSES
from argos_common.lines import parse_lines
from argos_sim import IntersectionScene, SceneOptions, open_scene

from .backoff import Backoff
from .file_source import VideoFileSource
from .gst_runtime import gstreamer, gstreamer_available, has_element
from .gst_source import GstSource
from .image_folder import ImageFolderSource
from .pipelines import GST_SCHEMES, RtspOptions, pipeline_for
from .source_types import FrameSource, SourceError

SUPPORTED = "synthetic://, file://, rtsp://, rtsps://, v4l2://, argus://, gst://, images://"


class SyntheticSource(FrameSource):
    """The synthetic intersection (argos_sim) as a camera: rendered frames with ground truth."""

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


def open_synthetic(uri: str, params: Mapping[str, Any]) -> SyntheticSource:
    defaults = SceneOptions(
        seed=int(params.get("seed", 7)),
        density=float(params.get("density", 1.0)),
        occluders=bool(params.get("occluders", True)),
    )
    classes = list(params.get("classes", DEFAULT_CLASSES))
    if not classes:
        raise SourceError("the synthetic scene needs at least one class", key="classes")
    size = (int(params.get("width", 1280)), int(params.get("height", 720)))
    lines = parse_lines(params, size)  # ground truth crosses the lines the tracker counts on, in scene pixels
    try:
        scene = open_scene(
            uri,
            size[0],
            size[1],
            float(params.get("fps", 15.0)),
            classes,
            lines,
            defaults,
        )
    except ValueError as exc:
        raise SourceError(str(exc)) from None
    return SyntheticSource(scene, uri)


def open_gstreamer(uri: str, params: Mapping[str, Any]) -> FrameSource:
    rtsp = RtspOptions(
        transport=str(params.get("rtsp_transport", "tcp")),
        latency_ms=int(params.get("rtsp_latency_ms", 200)),
        timeout_s=float(params.get("stall_timeout_s", 5.0)),
    )
    gstreamer(uri)  # raises SourceError with the install hint when PyGObject/GStreamer is missing
    spec = pipeline_for(uri, has_element, rtsp)
    backoff = Backoff(float(params.get("reconnect_initial_s", 0.5)), float(params.get("reconnect_max_s", 10.0)))
    return GstSource(
        uri,
        spec,
        realtime=bool(params.get("realtime", True)),
        loop=bool(params.get("loop", False)),
        reconnect=backoff,
        connect_timeout_s=float(params.get("connect_timeout_s", 10.0)),
        stall_timeout_s=float(params.get("stall_timeout_s", 5.0)),
        hardware_decode=bool(params.get("hardware_decode", True)),
        fallback_fps=float(params.get("fps", 15.0)),
    )


def open_file(path: str, params: Mapping[str, Any]) -> FrameSource:
    """A video file: GStreamer unless file_backend says opencv (or auto and PyGObject is missing)."""
    backend = str(params.get("file_backend", "auto"))
    target = Path(path)
    if not target.exists():
        raise SourceError(f"video file not found: {target}")
    if not target.is_file():
        raise SourceError(f"not a file: {target}")
    if backend == "opencv" or (backend == "auto" and not gstreamer_available()):
        return VideoFileSource(
            target, loop=bool(params.get("loop", False)), fallback_fps=float(params.get("fps", 15.0))
        )
    return open_gstreamer(target.resolve().as_uri(), params)


def open_images(uri: str, params: Mapping[str, Any]) -> ImageFolderSource:
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        raise SourceError(f"images URIs name a local absolute folder (images:///path), got {uri!r}")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = set(options) - {"pattern"}
    if unknown:
        raise SourceError(f"{uri}: unknown option {sorted(unknown)[0]!r} (known: pattern)")
    return ImageFolderSource(
        unquote(parts.path),
        pattern=options.get("pattern", ""),
        fps=float(params.get("fps", 15.0)),
        loop=bool(params.get("loop", False)),
    )


def open_source(uri: str, params: Mapping[str, Any]) -> FrameSource:
    """Open the source named by `uri`; `params` are the camera node's resolved parameters."""
    uri = uri.strip()
    if not uri:
        raise SourceError(f"empty source (supported: {SUPPORTED})")
    if "://" not in uri:
        return open_file(uri, params)
    scheme = uri.split("://", 1)[0].lower()
    if scheme == "synthetic":
        return open_synthetic(uri, params)
    if scheme == "file":
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise SourceError(f"file URIs name a local absolute path (file:///path), got {uri!r}")
        return open_file(unquote(parts.path), params)
    if scheme == "images":
        return open_images(uri, params)
    if scheme in GST_SCHEMES:
        return open_gstreamer(uri, params)
    raise SourceError(f"unsupported source '{scheme}://' (supported: {SUPPORTED})")


__all__ = [
    "FrameSource",
    "ImageFolderSource",
    "SourceError",
    "SyntheticSource",
    "VideoFileSource",
    "open_source",
    "SUPPORTED",
]
