"""A test-pattern (or file) RTSP server on GstRtspServer, for commissioning, tests and benchmarks.

    python -m argos_camera.rtsp_server --port 8554 [--width 1280 --height 720 --fps 15] [--file clip.mp4]

serves rtsp://<host>:<port>/test (H.264) until stopped; prints "ready <url>" once it listens.
"""

from __future__ import annotations

import argparse
import select
import signal
import subprocess
import sys
import time

from argos_common.endpoints import free_port

from .gst_runtime import gstreamer

MOUNT = "/test"


def launch_description(width: int, height: int, fps: int, file: str | None) -> str:
    if file:
        from .pipelines import quote

        head = f"filesrc location={quote(file)} ! decodebin ! videoconvert ! videoscale ! videorate"
    else:
        head = "videotestsrc is-live=true pattern=ball"
    return (
        f"( {head} ! video/x-raw,format=I420,width={width},height={height},framerate={fps}/1 "
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps} bitrate=4000 "
        f"! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )


def serve(port: int, width: int, height: int, fps: int, file: str | None = None) -> None:
    gstreamer()
    import gi

    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, GstRtspServer

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch_description(width, height, fps, file))
    factory.set_shared(True)  # every client watches the same encoder: one encode per frame
    server.get_mount_points().add_factory(MOUNT, factory)
    if server.attach(None) == 0:
        raise SystemExit(f"error: cannot listen on port {port}")
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    print(f"ready rtsp://127.0.0.1:{port}{MOUNT}", flush=True)
    loop.run()


class RtspServerProcess:
    """The server above as a child process: a real network peer that can be killed and restarted."""

    def __init__(
        self, port: int | None = None, width: int = 320, height: int = 240, fps: int = 15, file: str | None = None
    ):
        self.port = port or free_port()
        self.args = [
            sys.executable,
            "-m",
            "argos_camera.rtsp_server",
            "--port",
            str(self.port),
            "--width",
            str(width),
            "--height",
            str(height),
            "--fps",
            str(fps),
        ]
        if file:
            self.args += ["--file", file]
        self.url = f"rtsp://127.0.0.1:{self.port}{MOUNT}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 20.0) -> RtspServerProcess:
        self.process = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None  # stdout=PIPE
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if ready:
                line = self.process.stdout.readline()
                if line.startswith("ready"):
                    return self
                if not line:
                    break
        self.stop()
        raise RuntimeError(f"RTSP server on port {self.port} did not start")

    def stop(self, hard: bool = False) -> None:
        """hard: SIGKILL, as a crash or power cut looks to clients (no RTSP TEARDOWN)."""
        if self.process is None:
            return
        (self.process.kill if hard else self.process.terminate)()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        assert self.process.stdout is not None  # started with stdout=PIPE
        self.process.stdout.close()
        self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m argos_camera.rtsp_server", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--file", help="serve this video file (looping is up to the client) instead of a test pattern")
    args = parser.parse_args(argv)
    serve(args.port, args.width, args.height, args.fps, args.file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
