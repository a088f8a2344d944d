"""Source URIs -> GStreamer pipeline descriptions (pure text; no GStreamer import).

Every GStreamer source ends in the same tail: conversion to packed BGR and the ARGOS appsink.
Only the head differs per source type, so V4L2 and Argus (which cannot run on the development
machines) share every line of runtime code with file and RTSP capture.

`has_element(name)` answers whether a GStreamer element factory is installed; it decides the
hardware path (Jetson: nvvidconv converts NVMM buffers from nvarguscamerasrc / nvv4l2decoder).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import overload
from urllib.parse import parse_qsl, unquote, urlsplit

from .source_types import SourceError

SINK_NAME = "argos_sink"
GST_SCHEMES = ("file", "rtsp", "rtsps", "v4l2", "argus", "gst")
RTSP_TRANSPORTS = ("tcp", "udp", "auto")
V4L2_FORMATS = {
    "YUY2": "video/x-raw,format=YUY2",
    "MJPG": "image/jpeg",
    "NV12": "video/x-raw,format=NV12",
    "GRAY8": "video/x-raw,format=GRAY8",
    "BGR": "video/x-raw,format=BGR",
}
# Hardware decoders that decodebin would auto-plug by rank; demoted when hardware decode is off.
HARDWARE_DECODERS = ("nvv4l2decoder", "nvh264dec", "nvh265dec", "vaapidecodebin", "vah264dec")

HasElement = Callable[[str], bool]


@dataclass(frozen=True)
class RtspOptions:
    transport: str = "tcp"
    latency_ms: int = 200
    timeout_s: float = 5.0


@dataclass(frozen=True)
class PipelineSpec:
    kind: str  # file | rtsp | v4l2 | argus | gst
    description: str  # gst-launch syntax, ends in the ARGOS appsink
    live: bool | None  # None: decided by GStreamer (gst:// pipelines)
    location: str  # what the source reads (path, URL, device), for messages

    @property
    def hardware(self) -> bool:
        return "nvvidconv" in self.description


def quote(value: str) -> str:
    """A property value for gst-launch syntax (paths with spaces, URLs with '&')."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_bgr(has_element: HasElement) -> str:
    """Raw video (system or NVMM memory) -> packed BGR in system memory."""
    if has_element("nvvidconv"):
        # nvvidconv reads NVMM and system memory alike; videoconvert finishes BGRx -> BGR on the CPU
        return "nvvidconv ! video/x-raw,format=BGRx ! videoconvert ! video/x-raw,format=BGR"
    return "videoconvert ! video/x-raw,format=BGR"


def sink() -> str:
    # Properties that depend on pacing (sync, drop) are set at runtime; see gst_source.
    return f"appsink name={SINK_NAME} max-buffers=1 enable-last-sample=false"


def _tail(has_element: HasElement) -> str:
    return f"{to_bgr(has_element)} ! {sink()}"


def file_pipeline(path: str, has_element: HasElement) -> PipelineSpec:
    # decodebin picks the highest-ranked decoder: nvv4l2decoder on a Jetson, libav/others here.
    head = f"filesrc location={quote(path)} ! decodebin name=decoder"
    return PipelineSpec("file", f"{head} ! {_tail(has_element)}", False, path)


def rtsp_pipeline(url: str, options: RtspOptions, has_element: HasElement) -> PipelineSpec:
    if options.transport not in RTSP_TRANSPORTS:
        raise SourceError(
            f"transport must be one of {', '.join(RTSP_TRANSPORTS)}, got {options.transport!r}", key="rtsp_transport"
        )
    protocols = {"tcp": "tcp", "udp": "udp", "auto": "tcp+udp+udp-mcast"}[options.transport]
    timeout_us = int(options.timeout_s * 1e6)
    head = (
        f"rtspsrc name=src location={quote(url)} protocols={protocols} latency={int(options.latency_ms)} "
        f"drop-on-latency=true timeout={timeout_us} tcp-timeout={timeout_us} "
        f"! application/x-rtp,media=video ! decodebin name=decoder"
    )
    return PipelineSpec("rtsp", f"{head} ! {_tail(has_element)}", True, url)


@overload
def _int_option(uri: str, options: dict[str, str], name: str, default: int) -> int: ...
@overload
def _int_option(uri: str, options: dict[str, str], name: str, default: None) -> int | None: ...
def _int_option(uri: str, options: dict[str, str], name: str, default: int | None) -> int | None:
    if name not in options:
        return default
    text = options[name]
    if not re.fullmatch(r"\d+", text) or int(text) <= 0:
        raise SourceError(f"{uri}: {name} must be a positive integer, got {text!r}")
    return int(text)


def _options(uri: str, query: str, known: tuple[str, ...]) -> dict[str, str]:
    options = dict(parse_qsl(query, keep_blank_values=True))
    for name in options:
        if name not in known:
            raise SourceError(f"{uri}: unknown option {name!r} (known: {', '.join(known)})")
    return options


def _fraction(fps: int) -> str:
    return f"{fps}/1"


def v4l2_pipeline(uri: str, has_element: HasElement) -> PipelineSpec:
    """v4l2:///dev/video0?width=1280&height=720&fps=30&format=YUY2|MJPG|NV12|GRAY8|BGR"""
    parts = urlsplit(uri)
    device = unquote(parts.netloc + parts.path) if parts.netloc else unquote(parts.path)
    if not device.startswith("/dev/"):
        raise SourceError(f"{uri}: expected a device path, e.g. v4l2:///dev/video0")
    options = _options(uri, parts.query, ("width", "height", "fps", "format"))
    fmt = options.get("format", "").upper()
    if fmt and fmt not in V4L2_FORMATS:
        raise SourceError(f"{uri}: format must be one of {', '.join(V4L2_FORMATS)}, got {options['format']!r}")
    caps = [V4L2_FORMATS[fmt]] if fmt else ["video/x-raw"]
    for name in ("width", "height"):
        value = _int_option(uri, options, name, None)
        if value is not None:
            caps.append(f"{name}={value}")
    fps = _int_option(uri, options, "fps", None)
    if fps is not None:
        caps.append(f"framerate={_fraction(fps)}")
    head = f"v4l2src device={quote(device)} io-mode=2 ! {','.join(caps)}"
    if fmt == "MJPG":
        head += " ! nvv4l2decoder mjpeg=1" if has_element("nvv4l2decoder") else " ! jpegdec"
    return PipelineSpec("v4l2", f"{head} ! {_tail(has_element)}", True, device)


def argus_pipeline(uri: str, has_element: HasElement) -> PipelineSpec:
    """argus://0?sensor_mode=&width=&height=&fps= (Jetson CSI camera through libargus, NVMM buffers)."""
    parts = urlsplit(uri)
    sensor = parts.netloc or parts.path.strip("/") or "0"
    if not sensor.isdigit():
        raise SourceError(f"{uri}: the sensor id must be a number, e.g. argus://0")
    options = _options(uri, parts.query, ("sensor_mode", "width", "height", "fps"))
    width = _int_option(uri, options, "width", 1920)
    height = _int_option(uri, options, "height", 1080)
    fps = _int_option(uri, options, "fps", 30)
    head = f"nvarguscamerasrc sensor-id={int(sensor)}"
    if "sensor_mode" in options:
        if not options["sensor_mode"].isdigit():
            raise SourceError(f"{uri}: sensor_mode must be a number, got {options['sensor_mode']!r}")
        head += f" sensor-mode={int(options['sensor_mode'])}"
    head += f" ! video/x-raw(memory:NVMM),width={width},height={height},framerate={_fraction(fps)},format=NV12"
    # nvarguscamerasrc only produces NVMM buffers: the nvvidconv tail is mandatory here.
    tail = f"nvvidconv ! video/x-raw,format=BGRx ! videoconvert ! video/x-raw,format=BGR ! {sink()}"
    return PipelineSpec("argus", f"{head} ! {tail}", True, f"CSI sensor {sensor}")


def custom_pipeline(uri: str, has_element: HasElement) -> PipelineSpec:
    """gst://<pipeline producing raw video>; the BGR conversion and the appsink are appended."""
    body = uri.split("://", 1)[1].strip().rstrip("!").strip()
    if not body:
        raise SourceError("gst:// needs a pipeline, e.g. gst://videotestsrc pattern=ball ! video/x-raw,width=640")
    if SINK_NAME in body:
        raise SourceError(f"{uri}: leave out the sink; ARGOS appends '! {to_bgr(has_element)} ! appsink'")
    try:
        shlex.split(body)
    except ValueError as exc:
        raise SourceError(f"{uri}: unbalanced quotes in the pipeline ({exc})") from None
    return PipelineSpec("gst", f"{body} ! {_tail(has_element)}", None, body)


def pipeline_for(uri: str, has_element: HasElement, rtsp: RtspOptions = RtspOptions()) -> PipelineSpec:
    """The pipeline of a GStreamer source URI (scheme one of GST_SCHEMES); raises SourceError."""
    scheme = uri.split("://", 1)[0].lower()
    if scheme == "file":
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise SourceError(f"file URIs name a local absolute path (file:///path), got {uri!r}")
        return file_pipeline(unquote(parts.path), has_element)
    if scheme in ("rtsp", "rtsps"):
        if not urlsplit(uri).hostname:
            raise SourceError(f"{uri}: an RTSP URL needs a host, e.g. rtsp://192.168.1.20:554/stream")
        return rtsp_pipeline(uri, rtsp, has_element)
    if scheme == "v4l2":
        return v4l2_pipeline(uri, has_element)
    if scheme == "argus":
        return argus_pipeline(uri, has_element)
    if scheme == "gst":
        return custom_pipeline(uri, has_element)
    raise SourceError(f"unsupported GStreamer source '{scheme}://'")
