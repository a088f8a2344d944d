"""The live view of a unit in Foxglove: one WebSocket server per process (foxglove-sdk), one set
of channels per camera, fed by the annotator, which already holds the frames, tracks, lines and
totals.

Channels of a camera in namespace /cam0 (the names are those of the ROS topics carrying the same
data, so one layout opens both a live unit and a bag recorded with `argos run --record`):

    /cam0/camera/image_raw/compressed      foxglove.CompressedImage (JPEG, privacy masks applied)
    /cam0/annotated/image_raw/compressed   foxglove.CompressedImage (the annotated view, JPEG, masked)
    /cam0/annotations                      foxglove.ImageAnnotations (track boxes "class #id", counting lines)
    /cam0/counts                           JSON: one message per CountEvent, the CountEvent's field names
    /cam0/totals                           JSON: totals by line and direction and by class

Nothing is encoded for a channel no client subscribes to (`wants`). The server binds 127.0.0.1;
any other address needs TLS (foxglove-sdk serves wss:// with a certificate and key). The SDK
has no client authentication of its own: TLS keeps the stream private on the wire, it does not
choose who may connect (README, "Watching a unit in Foxglove").
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import foxglove
import numpy as np
from foxglove.channels import CompressedImageChannel, ImageAnnotationsChannel
from foxglove.messages import (
    Color,
    CompressedImage,
    ImageAnnotations,
    Point2,
    PointsAnnotation,
    PointsAnnotationType,
    TextAnnotation,
    Timestamp,
)

from argos_common.counts import CountRecord, CountTotals
from argos_common.detections import Detections
from argos_common.lines import CountingLine

from .annotator_params import is_loopback
from .overlay import AnnotationTypes, build_annotations

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8765  # Foxglove's own default for a WebSocket data source
IMAGE_KINDS = ("camera", "annotated")
TOPICS = {
    "camera": "camera/image_raw/compressed",
    "annotated": "annotated/image_raw/compressed",
    "annotations": "annotations",
    "counts": "counts",
    "totals": "totals",
}
ENVIRONMENT = {  # what a separate annotator process reads (edge.launch.py composition:=false)
    "port": "ARGOS_FOXGLOVE_PORT",
    "host": "ARGOS_FOXGLOVE_HOST",
    "tls_cert": "ARGOS_FOXGLOVE_TLS_CERT",
    "tls_key": "ARGOS_FOXGLOVE_TLS_KEY",
}

COUNT_SCHEMA = {
    "title": "argos.CountEvent",
    "type": "object",
    "properties": {
        "stamp": {
            "type": "object",
            "properties": {"sec": {"type": "integer"}, "nsec": {"type": "integer"}},
        },
        "tracker_frame": {"type": "integer"},
        "line_id": {"type": "string"},
        "lane": {"type": "string"},
        "class_id": {"type": "string"},
        "direction": {"type": "string", "enum": ["in", "out"]},
        "track_id": {"type": "string"},
        "speed_px_s": {"type": ["number", "null"]},
        "speed_m_s": {"type": ["number", "null"]},
    },
}
TOTALS_SCHEMA = {
    "title": "argos.CountTotals",
    "type": "object",
    "properties": {
        "total": {"type": "integer"},
        "by_line": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {"in": {"type": "integer"}, "out": {"type": "integer"}},
            },
        },
        "by_class": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
}


def stamp_of(stamp_ns: int) -> Timestamp:
    return Timestamp(stamp_ns // 1_000_000_000, stamp_ns % 1_000_000_000)


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f"JPEG encoding of a {image.shape} image failed")
    return data.tobytes()


_SDK_ANNOTATIONS = AnnotationTypes(
    ImageAnnotations,
    PointsAnnotation,
    TextAnnotation,
    Point2,
    Color,
    PointsAnnotationType.LineLoop,
    PointsAnnotationType.LineStrip,
)


def annotations_message(
    stamp_ns: int,
    tracks: Detections | None,
    lines: Sequence[CountingLine],
    classes: Sequence[str] = (),
) -> ImageAnnotations:
    """The overlay (overlay.py) as the SDK's ImageAnnotations."""
    return build_annotations(_SDK_ANNOTATIONS, stamp_of(stamp_ns), tracks, lines, classes)


def _finite_or_none(value: float) -> float | None:
    return value if np.isfinite(value) else None  # JSON has no NaN


def count_message(record: CountRecord) -> dict:
    return {
        "stamp": {"sec": record.stamp_ns // 1_000_000_000, "nsec": record.stamp_ns % 1_000_000_000},
        "tracker_frame": record.tracker_frame,
        "line_id": record.line_id,
        "lane": record.lane,
        "class_id": record.class_id,
        "direction": record.direction,
        "track_id": record.track_id,
        "speed_px_s": _finite_or_none(record.speed_px_s),
        "speed_m_s": _finite_or_none(record.speed_m_s),
    }


def totals_message(totals: CountTotals, line_ids: Sequence[str] = ()) -> dict:
    by_line = totals.by_line_direction()
    return {
        "total": totals.total,
        "by_line": {
            lid: {"in": by_line.get(lid, {}).get("in", 0), "out": by_line.get(lid, {}).get("out", 0)}
            for lid in dict.fromkeys([*line_ids, *by_line])
        },
        "by_class": totals.by_class(),
    }


def _read(path: str, option: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"{option}: cannot read {path}: {exc.strerror}") from None


class FoxgloveServer:
    """The process's Foxglove WebSocket server (port 0: a free one, `self.port` says which)."""

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        host: str = LOOPBACK,
        *,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        name: str = "ARGOS edge",
    ):
        if not 0 <= port <= 65535:
            raise ValueError(f"--foxglove: {port} is not a port (0-65535)")
        if bool(tls_cert) != bool(tls_key):
            raise ValueError("--foxglove-tls-cert and --foxglove-tls-key go together")
        if not is_loopback(host) and not tls_cert:
            raise ValueError(
                f"--foxglove-host {host} is not loopback: the live view shows the site, so serve it "
                "beyond this unit only as wss:// (--foxglove-tls-cert, --foxglove-tls-key), "
                "or reach it through an SSH tunnel"
            )
        cert = _read(tls_cert, "--foxglove-tls-cert") if tls_cert else None
        key = _read(tls_key, "--foxglove-tls-key") if tls_key else None
        self.host = host
        self.tls = cert is not None
        self.context = foxglove.Context()
        self._server: foxglove.WebSocketServer | None = foxglove.start_server(
            name=name, host=host, port=port, context=self.context, tls_cert=cert, tls_key=key
        )
        self.port = self._server.port if self._server is not None else port
        self._cameras: list[FoxgloveCamera] = []

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'wss' if self.tls else 'ws'}://{host}:{self.port}"

    def camera(self, namespace: str) -> FoxgloveCamera:
        camera = FoxgloveCamera(self.context, namespace)
        self._cameras.append(camera)
        return camera

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()
        for camera in self._cameras:
            camera.close()
        self._cameras.clear()


def server_from_environment(environ=os.environ) -> FoxgloveServer | None:
    """The server an annotator process of a separate-process graph starts when launch asks
    (ARGOS_FOXGLOVE_PORT and friends); None when it does not."""
    text = environ.get(ENVIRONMENT["port"], "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValueError(f"{ENVIRONMENT['port']}: {text!r} is not a port number")
    return FoxgloveServer(
        int(text),
        environ.get(ENVIRONMENT["host"], "").strip() or LOOPBACK,
        tls_cert=environ.get(ENVIRONMENT["tls_cert"]) or None,
        tls_key=environ.get(ENVIRONMENT["tls_key"]) or None,
    )


class FoxgloveCamera:
    """The channels of one camera. Thread-safe: the annotator's callbacks call it from its
    executor thread, the SDK sends from its own."""

    def __init__(self, context: foxglove.Context, namespace: str):
        prefix = "/" + namespace.strip("/") + "/" if namespace.strip("/") else "/"
        self.topics = {kind: prefix + topic for kind, topic in TOPICS.items()}
        self._images = {kind: CompressedImageChannel(self.topics[kind], context=context) for kind in IMAGE_KINDS}
        self._annotations = ImageAnnotationsChannel(self.topics["annotations"], context=context)
        self._counts = foxglove.Channel(self.topics["counts"], schema=COUNT_SCHEMA, context=context)
        self._totals = foxglove.Channel(self.topics["totals"], schema=TOTALS_SCHEMA, context=context)
        self._channels: dict[str, Any] = {**self._images, "annotations": self._annotations}
        self._channels.update(counts=self._counts, totals=self._totals)
        self._lock = threading.Lock()
        self.sent = dict.fromkeys(TOPICS, 0)

    def wants(self, kind: str) -> bool:
        """A client is subscribed to this channel (else nothing is built for it)."""
        return self._channels[kind].has_sinks()

    def _sent(self, kind: str) -> None:
        with self._lock:
            self.sent[kind] += 1

    def send_image(self, kind: str, jpeg: bytes, stamp_ns: int, frame_id: str) -> None:
        message = CompressedImage(timestamp=stamp_of(stamp_ns), frame_id=frame_id, data=jpeg, format="jpeg")
        self._images[kind].log(message, log_time=stamp_ns)
        self._sent(kind)

    def send_annotations(self, message: ImageAnnotations, stamp_ns: int) -> None:
        self._annotations.log(message, log_time=stamp_ns)
        self._sent("annotations")

    def send_count(self, record: CountRecord) -> None:
        self._counts.log(count_message(record), log_time=record.stamp_ns)
        self._sent("counts")

    def send_totals(self, totals: CountTotals, line_ids: Sequence[str], stamp_ns: int) -> None:
        self._totals.log(totals_message(totals, line_ids), log_time=stamp_ns)
        self._sent("totals")

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {f"foxglove_{kind}_sent": n for kind, n in self.sent.items()}

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
