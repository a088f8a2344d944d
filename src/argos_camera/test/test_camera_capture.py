"""Capture core: numbering, stamping with an injected clock, end of stream, failures."""

import numpy as np

from argos_camera.capture import MAX_CONSECUTIVE_FAILURES, Capture
from argos_camera.source_types import FrameSource


class ListSource(FrameSource):
    """Serves prepared items; an Exception item is raised instead of returned."""

    def __init__(self, items):
        self.items = list(items)

    def read(self):
        if not self.items:
            return None
        item = self.items.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


def image(value):
    return np.full((4, 4, 3), value, np.uint8)


def ticking_clock(step_ns):
    now = [0]

    def clock():
        now[0] += step_ns
        return now[0]

    return clock


def test_frames_are_numbered_and_stamped_by_the_clock():
    capture = Capture(
        ListSource([(image(1), {}), (image(2), {"k": 1}), (image(3), {})]), ticking_clock(100_000_000), "cam"
    )
    frames = [capture.grab() for _ in range(3)]
    assert [f.capture_index for f in frames] == [0, 1, 2]
    assert [f.stamp_ns for f in frames] == [100_000_000, 200_000_000, 300_000_000]
    assert all(f.frame_id == "cam" for f in frames)
    assert frames[1].extras == {"k": 1} and frames[2].image[0, 0, 0] == 3
    assert capture.measured_fps() == 10.0
    assert not capture.finished


def test_end_of_stream_finishes_once():
    capture = Capture(ListSource([(image(1), {})]), ticking_clock(1), "cam")
    assert capture.grab() is not None
    assert capture.grab() is None
    assert capture.finished and capture.end_reason == "end of stream"
    assert capture.grab() is None
    assert capture.snapshot() == {"frames": 1, "failures": 0, "finished": True, "end_reason": "end of stream"}


def test_failed_reads_are_counted_and_numbering_continues():
    items = [(image(1), {}), OSError("glitch"), (image(2), {})]
    capture = Capture(ListSource(items), ticking_clock(1), "cam")
    assert capture.grab().capture_index == 0
    assert capture.grab() is None and not capture.finished
    assert capture.grab().capture_index == 1
    assert capture.failures == 1 and capture.frames == 2


def test_too_many_failures_in_a_row_end_the_stream():
    capture = Capture(ListSource([OSError("dead")] * (MAX_CONSECUTIVE_FAILURES + 5)), ticking_clock(1), "cam")
    for _ in range(MAX_CONSECUTIVE_FAILURES):
        capture.grab()
    assert capture.finished and "dead" in capture.end_reason
    assert capture.failures == MAX_CONSECUTIVE_FAILURES
