"""`argos bench camera` (registered by the argos command line)."""
from __future__ import annotations


def _bench(args) -> int:
    from .bench import run_bench
    return run_bench(seconds=args.seconds, clip_frames=args.clip_frames, iterations=args.iterations,
                     rtsp=not args.no_rtsp)


def register(groups) -> None:
    bench = groups.bench.add_parser("camera", help="capture FPS and CPU per source type at 720p/1080p; "
                                                   "frame hand-off composed vs rclpy")
    bench.add_argument("--seconds", type=float, default=2.0, help="measuring time per source and resolution")
    bench.add_argument("--clip-frames", type=int, default=60, help="frames in the encoded test clips")
    bench.add_argument("--iterations", type=int, default=60, help="hand-off samples (rclpy: a third of them)")
    bench.add_argument("--no-rtsp", action="store_true", help="leave out the RTSP rows (no local server)")
    bench.set_defaults(func=_bench)
