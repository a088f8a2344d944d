"""`argos bag record|play|info` and `argos replay`."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time

from argos_common.params import ConfigError


def _ros_context():
    import rclpy
    from rclpy.context import Context

    ctx = Context()
    rclpy.init(args=[], context=ctx)
    return ctx


def cmd_record(args) -> int:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from .bags.recorder import BagRecorder
    from .bags.recorder_node import ARGOS_TOPIC_PATTERNS, RecorderNode

    patterns = args.topics or (["*"] if args.all else list(ARGOS_TOPIC_PATTERNS))
    ctx = _ros_context()
    node = RecorderNode(context=ctx)
    executor = SingleThreadedExecutor(context=ctx)
    executor.add_node(node)
    try:
        deadline = time.monotonic() + args.discovery_wait
        topics = {}
        while time.monotonic() < deadline:  # DDS discovery takes a moment
            executor.spin_once(timeout_sec=0.1)
            topics = node.discover(patterns)
        topics = {t: ty for t, ty in topics.items() if t not in ("/rosout", "/parameter_events")}
        if not topics:
            print(
                f"error: --topics: no published topic matches {' '.join(patterns)} "
                f"(after {args.discovery_wait:g} s of discovery)",
                file=sys.stderr,
            )
            return 2
        try:
            recorder = BagRecorder(
                args.output,
                topics,
                storage=args.storage,
                max_bytes=args.max_bag_size,
                max_duration_s=args.max_bag_duration,
            )
        except (FileExistsError, ValueError) as exc:
            print(f"error: --output: {exc}", file=sys.stderr)
            return 2
        node.start(recorder)
        print(f"recording {len(topics)} topics to {args.output}: {', '.join(sorted(topics))}", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        end = time.monotonic() + args.duration if args.duration else None
        while not stop.is_set() and (end is None or time.monotonic() < end):
            executor.spin_once(timeout_sec=0.1)
        stats = node.close()
        print(
            f"recorded {sum(stats.messages.values())} messages ({stats.bytes_written / 1e6:.1f} MB) "
            f"in {len(stats.parts)} part(s): " + ", ".join(f"{t} {n}" for t, n in sorted(stats.messages.items()))
        )
        return 0
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=ctx)


def cmd_play(args) -> int:
    import rclpy

    from .bags.player import parse_remaps, schedule
    from .bags.player_node import PlayerNode
    from .bags.reader import read_messages, topics_of

    try:
        topics = topics_of(args.bag)
        remaps = parse_remaps(args.remap)
        selected = set(args.topics) if args.topics else set(topics)
        plan = schedule(
            read_messages(args.bag, selected),
            rate=args.rate,
            start_offset_s=args.start_offset,
            loops=0 if args.loop else 1,
        )
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ctx = _ros_context()
    # The player only publishes, so it needs no executor: playback runs on this thread.
    node = PlayerNode({t: topics[t] for t in selected if t in topics}, remaps, clock_hz=args.clock, context=ctx)
    signal.signal(signal.SIGINT, lambda *_: node.stop())
    try:
        published = node.play(plan, wait_for_subscribers_s=args.wait_for_subscribers)
        print("published " + ", ".join(f"{remaps.get(t, t)} {n}" for t, n in sorted(published.items())))
        return 0
    finally:
        node.destroy_node()
        rclpy.shutdown(context=ctx)


def cmd_info(args) -> int:
    from .bags.reader import describe

    try:
        info = describe(args.bag)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    duration = (info["end_ns"] - info["start_ns"]) / 1e9 if info["start_ns"] else 0.0
    print(f"bag       {info['path']}")
    print("parts     " + ", ".join(f"{p['name']} ({p['storage']}, {p['messages']} msgs)" for p in info["parts"]))
    print(f"duration  {duration:.2f} s   messages {info['messages']}")
    width = max((len(t) for t in info["topics"]), default=5)
    for topic, row in sorted(info["topics"].items()):
        print(f"  {topic:<{width}}  {row['messages']:7d}  {row['type']}")
    return 0


def cmd_replay(args) -> int:
    from .bags.replay import replay
    from .config import default_config_path, load_config, parse_assignment
    from .summary import print_count_comparison

    try:
        overrides: dict = {}
        for text in args.param or []:
            node, name, value = parse_assignment(text)
            overrides.setdefault(node, {})[name] = value
        cfg = load_config(args.config or default_config_path(), overrides)
        result = replay(
            args.bag, cfg.node("tracker"), cfg.node("inference"), source=args.source, namespace=args.namespace
        )
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"replayed {result.frames} frames from {result.source_topic} ({args.source})")
    print_count_comparison(result.replayed, [("recorded", result.recorded), ("truth", result.ground_truth)])
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {
                    "frames": result.frames,
                    "source_topic": result.source_topic,
                    "replayed": result.replayed.by_class_direction(),
                    "replayed_by_line": result.replayed.by_line_direction(),
                    "recorded": result.recorded.by_class_direction(),
                    "ground_truth": result.ground_truth.by_class_direction(),
                    "events": result.events,
                },
                fh,
                indent=2,
            )
    return 0


def register(sub) -> None:
    bag = sub.add_parser("bag", help="record, play and inspect rosbag2 recordings")
    bag_sub = bag.add_subparsers(dest="bag_command", required=True)

    rec = bag_sub.add_parser("record", help="record ARGOS topics (raw, serialized) to a rosbag2 bag")
    rec.add_argument("-o", "--output", required=True, help="new directory for the recording")
    rec.add_argument("--topics", nargs="+", help="topic names or fnmatch patterns (default: the ARGOS topics)")
    rec.add_argument("--all", action="store_true", help="every topic")
    rec.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap")
    rec.add_argument("--max-bag-size", type=int, default=0, metavar="BYTES", help="split after this many bytes")
    rec.add_argument("--max-bag-duration", type=float, default=0.0, metavar="S", help="split after this many seconds")
    rec.add_argument("--duration", type=float, default=0.0, metavar="S", help="stop after S seconds (default: Ctrl-C)")
    rec.add_argument("--discovery-wait", type=float, default=2.0, metavar="S", help="topic discovery time")
    rec.set_defaults(func=cmd_record)

    play = bag_sub.add_parser("play", help="publish a recording at its recorded pace")
    play.add_argument("bag")
    play.add_argument("--rate", type=float, default=1.0)
    play.add_argument("--loop", action="store_true")
    play.add_argument("--start-offset", type=float, default=0.0, metavar="S")
    play.add_argument("--topics", nargs="+", help="play only these topics")
    play.add_argument("--remap", nargs="+", metavar="FROM:=TO", help="publish FROM under the name TO")
    play.add_argument(
        "--clock", type=float, default=0.0, metavar="HZ", help="publish /clock at HZ (for nodes with use_sim_time)"
    )
    play.add_argument(
        "--wait-for-subscribers",
        type=float,
        default=2.0,
        metavar="S",
        help="wait up to S seconds for a subscriber before starting",
    )
    play.set_defaults(func=cmd_play)

    info = bag_sub.add_parser("info", help="topics, types, message counts and duration of a recording")
    info.add_argument("bag")
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=cmd_info)

    rp = sub.add_parser("replay", help="re-run tracking and counting on a recording, deterministically")
    rp.add_argument("bag")
    rp.add_argument(
        "--source",
        choices=("detections", "images"),
        default="detections",
        help="detections: tracker+counting on recorded detections; images: the whole chain",
    )
    rp.add_argument("--config", help="parameter file (default: config/edge.yaml)")
    rp.add_argument("--param", action="append", metavar="NODE.NAME=VALUE", help="override a parameter")
    rp.add_argument("--namespace", help="camera namespace when the bag holds several")
    rp.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    rp.set_defaults(func=cmd_replay)
