"""`argos bench <area>`: benchmarks printed as tables naming the machine (make bench)."""

from __future__ import annotations

# `argos bench faults` scenarios, in the order they run (here: the parser needs them without the bench)
FAULT_SCENARIOS = ("redis", "broker", "both", "collector", "camera", "disk", "clock")


def _camera(args) -> int:
    from .camera import run_bench

    return run_bench(
        seconds=args.seconds, clip_frames=args.clip_frames, iterations=args.iterations, rtsp=not args.no_rtsp
    )


def _detector(args) -> int:
    from .detector import run_bench

    return run_bench(args)


def _tracker(args) -> int:
    from ..evaluation.report import run_bench

    run_bench([int(n) for n in args.objects.split(",") if n], args.frames, args.repeats)
    return 0


def _graph(args) -> int:
    from .graph import run_bench

    return run_bench(args)


def _soak(args) -> int:
    from .soak import run_bench

    return run_bench(args)


def _faults(args) -> int:
    from .faults import run_bench

    return run_bench(args)


def _fleet(args) -> int:
    from .fleet import run_bench

    return run_bench(args)


def _bridge(args) -> int:
    from .bridge import run_bench

    return run_bench(args)


def register(bench) -> None:
    """Add the benchmark areas to `bench`, the subparsers of `argos bench`."""
    camera = bench.add_parser(
        "camera", help="capture FPS and CPU per source type at 720p/1080p; frame hand-off composed vs rclpy"
    )
    camera.add_argument("--seconds", type=float, default=2.0, help="measuring time per source and resolution")
    camera.add_argument("--clip-frames", type=int, default=60, help="frames in the encoded test clips")
    camera.add_argument("--iterations", type=int, default=60, help="hand-off samples (rclpy: a third of them)")
    camera.add_argument("--no-rtsp", action="store_true", help="leave out the RTSP rows (no local server)")
    camera.set_defaults(func=_camera)

    detector = bench.add_parser("detector", help="detector latency and throughput per engine and precision")
    detector.add_argument(
        "--model",
        help="fp32 ONNX model to bench (default: models/argos-traffic*.onnx if "
        "present, else a generated YOLO-shaped network)",
    )
    detector.add_argument("--seconds", type=float, default=3.0, help="measuring time per configuration (default 3)")
    detector.add_argument("--input-size", type=int, default=320, help="input size of the generated network")
    detector.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads (0: default)")
    detector.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    detector.set_defaults(func=_detector)

    tracker = bench.add_parser(
        "tracker",
        help="ms/frame at 10..200 objects, ours vs supervision's ByteTrack and trackers' SORT/ByteTrack/OC-SORT",
    )
    tracker.add_argument("--objects", default="10,50,100,200", help="comma-separated object counts")
    tracker.add_argument("--frames", type=int, default=60, help="frames per measurement (default 60)")
    tracker.add_argument("--repeats", type=int, default=5, help="interleaved runs per cell, median (default 5)")
    tracker.set_defaults(func=_tracker)

    bridge = bench.add_parser("bridge", help="messages/s of the bridge's Redis and MQTT sinks vs the raw clients")
    bridge.add_argument("--messages", type=int, default=3000, help="messages per measurement (default 3000)")
    bridge.add_argument("--repeats", type=int, default=3, help="best of N runs per measurement (default 3)")
    bridge.set_defaults(func=_bridge)

    graph = bench.add_parser(
        "graph",
        help="the whole graph as launch starts it, composed and separate processes, "
        "720p/1080p: FPS, latency, frames lost, CPU per process, clean stop",
    )
    graph.add_argument("--models", default="composed,separate", help="process models (composed,separate)")
    graph.add_argument("--resolutions", default="720p,1080p", help="camera resolutions (720p,1080p)")
    graph.add_argument(
        "--cameras",
        type=int,
        default=4,
        help="also N synthetic cameras on the machine, in one container and in a container each "
        "(0 or 1: leave those cases out; default 4)",
    )
    graph.add_argument(
        "--no-shared-inference",
        dest="shared_inference",
        action="store_false",
        help="the N cameras in one container each with their own detector (default: one shared, batched)",
    )
    graph.add_argument("--seconds", type=float, default=15.0, help="measuring window per run (default 15)")
    graph.add_argument("--repeats", type=int, default=3, help="runs per case, interleaved; medians (default 3)")
    graph.add_argument("--warmup", type=float, default=4.0, help="seconds after the first detections (default 4)")
    graph.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    graph.set_defaults(func=_graph)

    soak = bench.add_parser(
        "soak",
        help="the graph at 15 FPS for a long time: RSS, threads, files, tracks, Redis, "
        "spool, latency per interval; RSS slope (not in `argos bench` without an area)",
    )
    soak.add_argument("--duration", type=float, default=3600.0, help="seconds (default 3600)")
    soak.add_argument("--interval", type=float, default=60.0, help="seconds between rows (default 60)")
    soak.add_argument(
        "--warmup", type=float, default=None, help="seconds before the slope starts (default min(600, duration/3))"
    )
    soak.add_argument(
        "--process",
        choices=("run", "container"),
        default="run",
        help="run: argos run --duration 0 (the systemd unit); container: edge_container (launch)",
    )
    soak.set_defaults(func=_soak)

    faults = bench.add_parser(
        "faults",
        help="counts lost, duplicates, FPS and recovery time when Redis, the broker, "
        "the collector, the camera or the spool's disk fail, or the clock jumps (real servers)",
    )
    faults.add_argument(
        "--scenarios",
        default=",".join(FAULT_SCENARIOS),
        help=f"which faults ({','.join(FAULT_SCENARIOS)})",
    )
    faults.add_argument("--hold", type=float, default=60.0, help="seconds a fault lasts (camera, collector: half)")
    faults.add_argument("--warmup", type=float, default=10.0, help="seconds of normal running before the fault")
    faults.add_argument("--keep", default="", help="folder to keep each scenario's logs, summaries and spools in")
    faults.set_defaults(func=_faults)

    fleet = bench.add_parser(
        "fleet",
        help="N simulated units (real bridge cores replaying recorded tracks and counts) "
        "against one broker, one Redis, collector(s) and InfluxDB",
    )
    fleet.add_argument("--units", default="10,50,200", help="fleet sizes (default 10,50,200)")
    fleet.add_argument("--workers", type=int, default=4, help="processes hosting the units (default 4)")
    fleet.add_argument("--collectors", type=int, default=1, help="collector processes sharing the streams by shard")
    fleet.add_argument("--seconds", type=float, default=60.0, help="measuring window per size (default 60)")
    fleet.set_defaults(func=_fleet)
