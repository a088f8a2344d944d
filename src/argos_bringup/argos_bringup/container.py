"""`edge_container`: the composed graph as a ROS executable, what `ros2 launch argos_bringup
edge.launch.py` starts by default (one process per camera).

    ros2 run argos_bringup edge_container [--namespace /cam0 ...] [--shared-inference] \\
        --ros-args -r __ns:=/cam0 --params-file config/edge.yaml [--params-file override.yaml] \\
        [--log-level info] [-r from:=to] [-p use_sim_time:=true]

It takes the ROS arguments launch_ros passes to any node process: the parameter files (read by
rcl for every node, and validated first by the same rules as `argos run`, so a bad key ends in one
line naming it and exit code 2), the namespace (`-r __ns:=`, or several `--namespace` for cameras
sharing one process and one batched detector), remappings, log levels and `use_sim_time`. Inside,
camera -> inference (and annotator) hand frames over by reference, exactly as in `argos run`;
every other topic is the typed ROS topic it is between separate processes.

Exit: 0 after SIGINT/SIGTERM or when every camera's source ended (frames in flight are drained
first, nodes closed with both signals blocked); 2 for a configuration error; 1 when a node's
executor died, so launch can report it and respawn the container (`respawn:=true`).
"""

from __future__ import annotations

import argparse
import sys

from argos_common.params import ConfigError
from argos_common.shutdown import StopSignals, signals_blocked

from . import foxglove_options, metrics_options
from .config import load_config

_NAMESPACE_REMAPS = ("__ns:=",)


def split_ros_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """(own arguments, ROS arguments) of a command line: ROS arguments are those between
    `--ros-args` and `--` (or the end), as rcl reads them; there can be several such blocks."""
    own, ros, in_ros = [], [], False
    for token in argv:
        if token == "--ros-args":
            in_ros = True
        elif token == "--" and in_ros:
            in_ros = False
        elif in_ros:
            ros.append(token)
        else:
            own.append(token)
    return own, ros


def launch_settings(ros_args: list[str]) -> tuple[list[str], str | None, list[str]]:
    """(parameter files, the namespace remap if any, the ROS arguments without it). The namespace
    is taken out because the container gives each camera's nodes their namespace itself; a
    process-wide `__ns` remap would put several cameras' nodes into one namespace."""
    files, namespace, rest = [], None, []
    tokens = iter(ros_args)
    for token in tokens:
        if token == "--params-file":
            value = next(tokens, "")
            files.append(value)
            rest += [token, value]
        elif token in ("-r", "--remap"):
            value = next(tokens, "")
            if value.startswith(_NAMESPACE_REMAPS):
                namespace = "/" + value.split(":=", 1)[1].strip("/")
            else:
                rest += [token, value]
        else:
            rest.append(token)
    return files, namespace, rest


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edge_container", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--namespace",
        action="append",
        metavar="NS",
        help="camera namespace, repeatable (default: the launch namespace, else the config's cameras)",
    )
    parser.add_argument(
        "--shared-inference",
        action="store_true",
        help="one detector for all cameras of this process, fed as a batch (DNN engines)",
    )
    parser.add_argument(
        "--executor",
        choices=("per-node", "multi"),
        default="per-node",
        help="per-node: one single-threaded executor thread per node (default)",
    )
    parser.add_argument(
        "--no-autostart",
        action="store_true",
        help="leave camera, inference and bridge unconfigured for an external lifecycle manager "
        "(default: configure and activate them)",
    )
    metrics_options.add_arguments(parser)
    foxglove_options.add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .config import camera_namespaces, default_config_path
    from .graph import Cameras
    from .view_geometry import map_view_geometry

    stop = StopSignals().install()
    own, ros_args = split_ros_args(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(own)
    if problem := metrics_options.check(args) or foxglove_options.check(args):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    files, launch_namespace, rclpy_args = launch_settings(ros_args)
    if not files:
        files = [str(default_config_path())]
        rclpy_args = ["--params-file", files[0], *rclpy_args]
    try:
        namespaces = args.namespace or ([launch_namespace] if launch_namespace else camera_namespaces(files))
        configs = {ns: load_config(files, None, ns) for ns in namespaces}
        for ns, config in configs.items():
            # a synthetic pole view counts on its image's lines; the nodes' explicit parameters
            # win over the same keys of the parameter files rcl reads for them
            if note := map_view_geometry(config):
                print(f"{ns}: {note}", flush=True)
        with signals_blocked():  # built completely, or not at all
            cameras = Cameras(
                configs,
                executor=args.executor,
                shared_inference=args.shared_inference,
                ros_args=rclpy_args,
                autostart=not args.no_autostart,
            )
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        try:
            metrics = metrics_options.serve(cameras, args)
        except (ValueError, OSError) as exc:
            print(f"error: --metrics-port: {exc}", file=sys.stderr)
            return 2
        if metrics is not None:
            print(f"metrics: {metrics.url}", flush=True)
        try:
            foxglove = foxglove_options.serve(cameras, args)
        except (ValueError, OSError, RuntimeError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if foxglove is not None:
            print(f"foxglove: {foxglove.url}", flush=True)
        cameras.start()
        ended = cameras.wait(stop)
        cameras.stop_and_drain()
    finally:
        with signals_blocked():
            failed = cameras.failed
            cameras.close()
    for namespace, error in failed.items():
        print(f"error: the graph of {namespace} lost a node: {error!r}", file=sys.stderr)
    return 1 if ended == "failed" else 0


if __name__ == "__main__":
    sys.exit(main())
