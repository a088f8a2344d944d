"""`argos bench camera`: capture throughput and CPU per source type, and the frame hand-off cost.

Throughput is measured as fast as each source delivers (files and folders unpaced; synthetic
scene rendering; RTSP at the server's rate, so its row shows the client's CPU at that rate).
CPU is the process's user+system time over wall time (100 % = one core), GStreamer's threads
included. The hand-off compares the composed graph's LatestSlot (put on one thread, take on
another) with what separate processes pay: image_to_msg + publish + receive through rclpy.
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import cv2
import numpy as np

from argos_camera.gst_runtime import gstreamer_available, versions
from argos_camera.source_types import FrameSource
from argos_common.machine import cpu_model
from argos_common.stats import percentiles

RESOLUTIONS = {"720p": (1280, 720), "1080p": (1920, 1080)}


@dataclass
class Throughput:
    source: str
    resolution: str
    frames: int
    fps: float
    cpu_percent: float
    note: str = ""


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(open_fn: Callable[[], FrameSource], seconds: float, max_frames: int) -> tuple[int, float, float]:
    """(frames, frames/s, CPU %) reading as fast as the source delivers; opening is not timed."""
    source = open_fn()
    try:
        frames, cpu0, t0 = 0, cpu_seconds(), time.perf_counter()
        while frames < max_frames and time.perf_counter() - t0 < seconds:
            if source.read() is None:
                break
            frames += 1
        wall = time.perf_counter() - t0
        cpu = cpu_seconds() - cpu0
    finally:
        source.close()
    return frames, frames / wall, 100.0 * cpu / wall


def encode_clip(path: Path, size: tuple[int, int], frames: int, codec: list[str]) -> Path:
    w, h = size
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={w}x{h}:rate=30",
            "-frames:v",
            str(frames),
            *codec,
            str(path),
        ],
        check=True,
        timeout=120,
    )
    return path


def write_folder(folder: Path, clip: Path, frames: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    capture = cv2.VideoCapture(str(clip))
    for i in range(frames):
        ok, image = capture.read()
        if not ok:
            break
        cv2.imwrite(str(folder / f"{i:05d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    capture.release()
    return folder


def throughput_rows(seconds: float, clip_frames: int, rtsp: bool) -> list[Throughput]:
    from argos_camera.rtsp_server import RtspServerProcess
    from argos_camera.sources import open_source

    rows: list[Throughput] = []
    offline = {"realtime": False, "loop": True}
    with tempfile.TemporaryDirectory(prefix="argos-bench-camera-") as tmp:
        for label, size in RESOLUTIONS.items():
            w, h = size
            h264 = encode_clip(
                Path(tmp) / f"{label}.mp4",
                size,
                clip_frames,
                ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
            )
            mjpeg = encode_clip(Path(tmp) / f"{label}.avi", size, clip_frames, ["-c:v", "mjpeg", "-q:v", "3"])
            folder = write_folder(Path(tmp) / f"{label}-jpg", h264, clip_frames)
            cases: list[tuple[str, Callable[[], FrameSource], str]] = [
                (
                    "synthetic (Python render)",
                    lambda: open_source("synthetic://intersection", {"width": w, "height": h}),
                    "",
                ),
                ("file H.264/MP4, OpenCV", lambda: open_source(str(h264), {**offline, "file_backend": "opencv"}), ""),
                ("image folder JPEG (OpenCV)", lambda: open_source(f"images://{folder}", offline), ""),
            ]
            if gstreamer_available():
                cases[2:2] = [
                    (
                        "file H.264/MP4, GStreamer",
                        lambda: open_source(str(h264), {**offline, "file_backend": "gstreamer"}),
                        "",
                    ),
                    (
                        "file MJPEG/AVI, GStreamer",
                        lambda: open_source(str(mjpeg), {**offline, "file_backend": "gstreamer"}),
                        "",
                    ),
                ]
            for name, open_fn, note in cases:
                frames, fps, cpu = measure(open_fn, seconds, 10_000)
                rows.append(Throughput(name, label, frames, fps, cpu, note))
            if rtsp and gstreamer_available():
                with RtspServerProcess(width=w, height=h, fps=15) as server:
                    frames, fps, cpu = measure(
                        lambda: open_source(server.url, {"stall_timeout_s": 5.0}), seconds + 1.0, 10_000
                    )
                rows.append(
                    Throughput(
                        "RTSP H.264 (TCP), GStreamer",
                        label,
                        frames,
                        fps,
                        cpu,
                        "live at the server's 15 FPS; encoder in another process",
                    )
                )
    return rows


def handoff_slot_ms(image: np.ndarray, iterations: int) -> list[float]:
    """put() on this thread -> take() on a consumer thread woken by the slot's notify."""
    from argos_common.frame import Frame
    from argos_common.handoff import LatestSlot

    slot: LatestSlot = LatestSlot()
    ready, received = threading.Event(), threading.Event()
    samples: list[float] = []
    started = [0.0]
    stop = [False]

    def consumer():
        while True:
            ready.wait()
            ready.clear()
            if stop[0]:
                return
            frame = slot.take()
            if frame is not None:
                assert frame.image is image  # by reference
                samples.append((time.perf_counter() - started[0]) * 1e3)
                received.set()

    slot.on_put(ready.set)
    thread = threading.Thread(target=consumer, daemon=True)
    thread.start()
    for i in range(iterations):
        received.clear()
        started[0] = time.perf_counter()
        slot.put(Frame(image=image, stamp_ns=i, capture_index=i))
        received.wait(5.0)
    stop[0] = True
    ready.set()
    thread.join(5.0)
    return samples


def handoff_rclpy_ms(image: np.ndarray, iterations: int) -> list[float]:
    """image_to_msg + publish -> receive in a subscription of the same process (rclpy, Fast DDS)."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import Image

    from argos_common.ros.conversions import image_to_msg, msg_to_image
    from argos_common.ros.qos import SENSOR

    context = rclpy.context.Context()
    rclpy.init(context=context, domain_id=int(os.environ.get("ROS_DOMAIN_ID", "0")))
    node = rclpy.create_node("bench_camera_handoff", context=context)
    received = threading.Event()
    samples: list[float] = []
    started = [0.0]

    def on_image(msg):
        msg_to_image(msg)
        samples.append((time.perf_counter() - started[0]) * 1e3)
        received.set()

    topic = f"bench_camera_{os.getpid()}/image_raw"
    publisher = node.create_publisher(Image, topic, SENSOR)
    node.create_subscription(Image, topic, on_image, SENSOR)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        deadline = time.monotonic() + 5.0
        while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        for i in range(iterations + 3):
            received.clear()
            started[0] = time.perf_counter()
            publisher.publish(image_to_msg(image, i, "bench"))
            received.wait(2.0)
    finally:
        executor.shutdown()
        spinner.join(5.0)
        node.destroy_node()
        rclpy.shutdown(context=context)
    return samples[3:]  # the first messages include discovery and allocation warm-up


def machine_lines() -> list[str]:
    cpu = cpu_model()
    libs = {"numpy": np.__version__, "OpenCV": cv2.__version__, **versions()}
    try:
        libs["rclpy"] = metadata.version("ros-rclpy")
    except metadata.PackageNotFoundError:
        pass
    return [
        f"machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        f"python {platform.python_version()}; " + ", ".join(f"{k} {v}" for k, v in libs.items()),
    ]


def run_bench(seconds: float = 2.0, clip_frames: int = 60, iterations: int = 60, rtsp: bool = True) -> int:
    print("\n".join(machine_lines()), flush=True)
    if not gstreamer_available():
        print("GStreamer/PyGObject not importable: GStreamer rows left out")
    rows = throughput_rows(seconds, clip_frames, rtsp)
    print(f"\nCapture throughput (as fast as each source delivers, {seconds:g} s or to the end per row)")
    print(f"| {'source':<30} | {'res':<5} | {'frames':>6} | {'FPS':>7} | {'CPU %':>6} | note")
    print(f"|{'-' * 32}|{'-' * 7}|{'-' * 8}|{'-' * 9}|{'-' * 8}|-----")
    for r in rows:
        print(
            f"| {r.source:<30} | {r.resolution:<5} | {r.frames:>6} | {r.fps:>7.1f} | {r.cpu_percent:>6.0f} | {r.note}"
        )
    image = np.random.default_rng(0).integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
    slot_p50, slot_p95 = percentiles(handoff_slot_ms(image, iterations), digits=None).values()
    ros_p50, ros_p95 = percentiles(handoff_rclpy_ms(image, max(10, iterations // 3)), digits=None).values()
    print("\nHand-off of one 1920x1080 BGR frame, camera -> inference (ms)")
    print(f"| {'path':<62} | {'p50':>7} | {'p95':>7}")
    print(f"|{'-' * 64}|{'-' * 9}|{'-' * 9}")
    print(f"| {'composed: LatestSlot put -> take on another thread':<62} | {slot_p50:>7.3f} | {slot_p95:>7.3f}")
    print(f"| {'separate processes: image_to_msg + publish + receive (rclpy)':<62} | {ros_p50:>7.3f} | {ros_p95:>7.3f}")
    return 0
