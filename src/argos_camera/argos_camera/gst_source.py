"""The GStreamer capture engine: one pipeline per source, appsink -> numpy BGR, loss and recovery.

Threads: GStreamer's streaming thread runs `_on_new_sample` (copy the buffer into a numpy array,
put it into a keep-latest slot); the caller's thread runs `read()`, which also services the bus
(errors, end of stream, decoder warnings), the stall watchdog and reconnection. No GLib main
loop is needed.

Buffering is bounded everywhere: appsink holds at most one sample (max-buffers=1) and the
slot one frame. Live sources (RTSP, V4L2, Argus) never wait for the consumer: appsink drops the
older sample (drop=true) and so does the slot; both drops are counted. Files are not live: the
streaming thread waits until the consumer took the previous frame (back-pressure), so offline
processing sees every frame; with `realtime` the appsink syncs on the pipeline clock (the file's
own rate), without it frames come as fast as they are consumed.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from argos_common.handoff import LatestSlot

from .backoff import Backoff
from .gst_runtime import gstreamer
from .pipelines import HARDWARE_DECODERS, SINK_NAME, PipelineSpec
from .source_types import FrameSource, SourceError, SourceState

POLL_S = 0.05  # how often read() looks at the bus while waiting for a frame
CONSUMER_WAIT_S = 0.1  # back-pressure re-check period of the streaming thread
STOP_TIMEOUT_NS = 5_000_000_000


class CorruptFrame(Exception):
    pass


def sample_to_bgr(sample, GstVideo) -> np.ndarray:
    """H x W x 3 uint8 BGR array over one copy of the sample's buffer (rows may be padded)."""
    caps = sample.get_caps()
    info = GstVideo.VideoInfo.new_from_caps(caps)
    if info is None:
        raise CorruptFrame(f"unreadable caps {caps.to_string()}")
    width, height, stride = info.width, info.height, info.stride[0]
    buffer = sample.get_buffer()
    size = buffer.get_size()
    if size < stride * height or stride < width * 3:
        raise CorruptFrame(f"buffer of {size} bytes for {width}x{height} BGR (stride {stride})")
    # One copy out of GStreamer memory: the buffer returns to its pool at once, and the array
    # (read-only) is then shared by reference with inference and the publisher.
    data = np.frombuffer(buffer.extract_dup(0, stride * height), np.uint8)
    return data.reshape(height, stride)[:, : width * 3].reshape(height, width, 3)


class GstSource(FrameSource):
    paces_itself = True

    def __init__(
        self,
        uri: str,
        spec: PipelineSpec,
        *,
        realtime: bool = True,
        loop: bool = False,
        reconnect: Backoff | None = None,
        connect_timeout_s: float = 10.0,
        stall_timeout_s: float = 5.0,
        hardware_decode: bool = True,
        fallback_fps: float = 15.0,
    ):
        self.Gst, self.GstVideo = gstreamer(uri)
        self.uri = uri
        self.spec = spec
        self.realtime = realtime
        self.loop = loop
        self.reconnect = reconnect or Backoff(0.5, 10.0)
        self.connect_timeout_s = connect_timeout_s
        self.stall_timeout_s = stall_timeout_s
        self.fps = fallback_fps
        self.size = (0, 0)
        if not hardware_decode:
            self._demote_hardware_decoders()
        self._lock = threading.Lock()
        self._slot: LatestSlot[np.ndarray] = LatestSlot()
        self._frame_ready = threading.Event()
        self._frame_taken = threading.Event()
        self._slot.on_put(self._frame_ready.set)
        self._pipeline: Any = None  # Gst.Pipeline and its Gst.Bus while one runs (gi ships no type stubs)
        self._bus: Any = None
        self._pipeline_lock = threading.RLock()  # close() may come from another thread
        self._generation = 0  # samples of a torn-down pipeline are ignored
        self._stopping = False
        self._closed = False
        self.state = SourceState.CONNECTING
        self.live = spec.live
        self.frames_decoded = 0
        self.dropped = 0
        self.corrupt = 0
        self.reconnects = 0
        self.restarts = 0
        self.last_error = ""  # why the source was lost or ended early
        self.last_corrupt = ""  # why the last frame was skipped
        self._attempt_started = 0.0
        self._last_frame_at = 0.0
        self._retry_at = 0.0
        self._first_frame = threading.Event()
        self._start_pipeline(fail_fast=True)
        self._await_first_frame()

    # -- pipeline lifecycle -----------------------------------------------------------------
    def _demote_hardware_decoders(self) -> None:
        registry = self.Gst.Registry.get()
        for name in HARDWARE_DECODERS:
            feature = registry.lookup_feature(name)
            if feature is not None:
                feature.set_rank(self.Gst.Rank.NONE)

    def _start_pipeline(self, fail_fast: bool) -> None:
        with self._pipeline_lock:
            if not self._closed:
                self._start_locked(fail_fast)

    def _start_locked(self, fail_fast: bool) -> None:
        Gst = self.Gst
        try:
            pipeline = Gst.parse_launch(self.spec.description)
        except Exception as exc:  # GLib.Error: syntax error or a missing element
            raise SourceError(f"{self.uri}: cannot build the pipeline ({exc})") from None
        sink = pipeline.get_by_name(SINK_NAME)
        if self.live is None:
            # gst:// pipelines: a live source refuses to preroll
            self.live = pipeline.set_state(Gst.State.PAUSED) == Gst.StateChangeReturn.NO_PREROLL
        sink.set_property("sync", bool(self.realtime and not self.live))
        sink.set_property("drop", bool(self.live))
        sink.set_property("emit-signals", True)
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._stopping = False
        sink.connect("new-sample", self._on_new_sample, generation)
        self._pipeline, self._bus = pipeline, pipeline.get_bus()
        self._attempt_started = time.monotonic()
        if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            reason = self._pending_error() or "the pipeline refused to start"
            self._stop_pipeline()
            if fail_fast and not self.live:
                raise SourceError(f"{self.uri}: {reason}")
            self._lost(reason)

    def _stop_pipeline(self) -> None:
        with self._pipeline_lock:
            pipeline = self._pipeline
            if pipeline is None:
                return
            with self._lock:
                self._stopping = True  # releases a streaming thread waiting for the consumer
            self._frame_taken.set()
            pipeline.set_state(self.Gst.State.NULL)
            pipeline.get_state(STOP_TIMEOUT_NS)
            self._pipeline = self._bus = None

    def _pending_error(self) -> str:
        if self._bus is None:
            return ""
        msg = self._bus.pop_filtered(self.Gst.MessageType.ERROR)
        return self._error_text(msg) if msg is not None else ""

    @staticmethod
    def _error_text(msg) -> str:
        err, debug = msg.parse_error()
        text = f"{msg.src.get_name() if msg.src else 'pipeline'}: {err.message}"
        if "not-negotiated" in (debug or "") or "not-linked" in (debug or ""):
            # decodebin found a stream but nothing that converts to raw video (audio only, or no decoder)
            text += " (no video stream that can be decoded to BGR: audio-only or unsupported format)"
        return text

    def _await_first_frame(self) -> None:
        """Files fail fast: open() returns only once a frame decoded (size and rate known)."""
        deadline = time.monotonic() + self.connect_timeout_s
        while time.monotonic() < deadline and not self._first_frame.is_set():
            self._service()
            if self.state in (SourceState.FAILED, SourceState.ENDED):
                break
            if self.live and self.state == SourceState.RECONNECTING:
                return  # a camera that is not up yet: keep trying in read(), not an error
            self._first_frame.wait(POLL_S)
        if self._first_frame.is_set():
            return
        if self.live:
            return
        self._stop_pipeline()
        reason = self.last_error or f"no video frame within {self.connect_timeout_s:g} s"
        if self.state == SourceState.ENDED:
            reason = "contains no decodable video frame"
        raise SourceError(f"{self.uri}: {reason}")

    # -- streaming thread -----------------------------------------------------------------
    def _on_new_sample(self, sink, generation: int):
        Gst = self.Gst
        sample = sink.pull_sample()
        if sample is None:
            return Gst.FlowReturn.EOS
        buffer = sample.get_buffer()
        try:
            if buffer.has_flags(Gst.BufferFlags.CORRUPTED):
                raise CorruptFrame("buffer flagged corrupted by the decoder")
            image = sample_to_bgr(sample, self.GstVideo)
        except CorruptFrame as exc:
            with self._lock:
                self.corrupt += 1
                self.last_corrupt = str(exc)
            return Gst.FlowReturn.OK
        if not self.live:
            self._wait_for_consumer(generation)
        with self._lock:
            if generation != self._generation or self._stopping:
                return Gst.FlowReturn.FLUSHING
            self.frames_decoded += 1
            self._last_frame_at = time.monotonic()
            if not self._first_frame.is_set():
                self.size = (image.shape[1], image.shape[0])
                self.fps = self._caps_fps(sample.get_caps()) or self.fps
            self.state = SourceState.STREAMING
        self._first_frame.set()
        if self._slot.put(image):
            with self._lock:
                self.dropped += 1
        return Gst.FlowReturn.OK

    @staticmethod
    def _caps_fps(caps) -> float:
        ok, num, den = caps.get_structure(0).get_fraction("framerate")
        return num / den if ok and num > 0 and den > 0 else 0.0

    def _wait_for_consumer(self, generation: int) -> None:
        while True:
            self._frame_taken.clear()
            with self._lock:
                if self._slot.empty() or self._stopping or generation != self._generation:
                    return
            self._frame_taken.wait(CONSUMER_WAIT_S)

    # -- reader thread -------------------------------------------------------------------
    def read(self) -> tuple[np.ndarray, dict[str, Any]] | None:
        """The next frame; blocks (servicing loss and reconnection) until one arrives or the end."""
        while not self._closed:
            image = self._slot.take()
            if image is not None:
                self._frame_taken.set()
                return image, {}
            self._service()
            if self.state in (SourceState.ENDED, SourceState.FAILED):
                image = self._slot.take()
                return (image, {}) if image is not None else None
            if self._frame_ready.wait(POLL_S):
                self._frame_ready.clear()
        return None

    def _service(self) -> None:
        """Bus messages, the stall watchdog and due reconnection attempts."""
        Gst = self.Gst
        while self._bus is not None:
            msg = self._bus.pop_filtered(Gst.MessageType.ERROR | Gst.MessageType.EOS | Gst.MessageType.WARNING)
            if msg is None:
                break
            if msg.type == Gst.MessageType.WARNING:
                self._on_warning(msg)
            elif msg.type == Gst.MessageType.ERROR:
                self._on_error(self._error_text(msg))
            else:
                self._on_eos()
        now = time.monotonic()
        if self.live and self._pipeline is not None:
            if self.state == SourceState.STREAMING and now - self._last_frame_at > self.stall_timeout_s:
                self._lost(f"no frame for {self.stall_timeout_s:g} s")
            elif self.state != SourceState.STREAMING and now - self._attempt_started > self.connect_timeout_s:
                self._lost(f"no frame within {self.connect_timeout_s:g} s of connecting")
        if self.state == SourceState.RECONNECTING and self._pipeline is None and now >= self._retry_at:
            with self._lock:
                self.reconnects += 1
            self._start_pipeline(fail_fast=False)

    def _on_warning(self, msg) -> None:
        err, _debug = msg.parse_warning()
        if err.domain == "gst-stream-error-quark":  # decode/demux errors: a frame was skipped
            with self._lock:
                self.corrupt += 1
                self.last_corrupt = f"{msg.src.get_name() if msg.src else 'pipeline'}: {err.message}"

    def _on_error(self, reason: str) -> None:
        with self._lock:
            self.last_error = reason
        if self.live:
            self._lost(reason)
            return
        self._stop_pipeline()
        # a file that delivered frames and then broke (truncated, damaged container): its end
        with self._lock:
            self.state = SourceState.ENDED if self._first_frame.is_set() else SourceState.FAILED

    def _on_eos(self) -> None:
        if self.live:
            self._lost("end of stream from a live source")
            return
        if self.loop and self._first_frame.is_set():
            flags = self.Gst.SeekFlags.FLUSH | self.Gst.SeekFlags.KEY_UNIT
            if self._pipeline.seek_simple(self.Gst.Format.TIME, flags, 0):
                self.restarts += 1
                return
        self._stop_pipeline()
        with self._lock:
            self.state = SourceState.ENDED

    def _lost(self, reason: str) -> None:
        self._stop_pipeline()
        with self._lock:
            if self.state == SourceState.STREAMING:
                self.reconnect.reset()  # a fresh loss retries soon; repeated failures back off
            self.last_error = reason
            self.state = SourceState.RECONNECTING
        self._retry_at = time.monotonic() + self.reconnect.next_delay()

    # -- reporting and shutdown ---------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "state": self.state,
                "live": bool(self.live),
                "frames_decoded": self.frames_decoded,
                "dropped": self.dropped,
                "corrupt": self.corrupt,
                "reconnects": self.reconnects,
                "restarts": self.restarts,
                "last_error": self.last_error,
                "last_corrupt": self.last_corrupt,
            }

    def close(self) -> None:
        self._closed = True
        self._frame_ready.set()
        self._stop_pipeline()
        with self._lock:
            if self.state not in (SourceState.FAILED,):
                self.state = SourceState.ENDED
