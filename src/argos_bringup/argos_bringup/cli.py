"""The `argos` command line."""

from __future__ import annotations

import argparse
import sys

LONG_BENCHES = ("soak", "faults", "fleet")


def _cmd_bench_all(args) -> int:
    """`argos bench` without an area runs every registered benchmark in turn."""
    status = 0
    for name, parser in args.bench_parsers.items():
        if name in LONG_BENCHES:
            print(f"\n(argos bench {name} runs on its own: it takes a long time)")
            continue
        print(f"\n=== argos bench {name} ===", flush=True)
        defaults = parser.parse_args([])
        status |= defaults.func(defaults)
    return status


def _cmd_run(args) -> int:
    from .run import run

    return run(args)


def _cmd_check(args) -> int:
    from argos_common.params import ConfigError

    from .config import camera_namespaces, default_config_path, load_config

    path = args.config or default_config_path()
    try:
        for namespace in camera_namespaces(path):
            cfg = load_config(path, namespace=namespace)
            for node, values in cfg.params.items():
                print(f"{namespace}/{node}: {len(values)} parameters ok")
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{path}: valid")
    return 0


def _cmd_params(args) -> int:
    from argos_common.params import ParamGroup

    from .config import NODE_PARAM_MODULES, node_specs

    for node in NODE_PARAM_MODULES:
        print(f"\n#### {node}\n")
        print("| parameter | type | default | description |")
        print("|---|---|---|---|")
        for spec in node_specs(node):
            items = [spec.names, *(f for f in spec.fields)] if isinstance(spec, ParamGroup) else [spec]
            for item in items:
                name = (
                    item.name
                    if not isinstance(spec, ParamGroup) or item is spec.names
                    else f"{spec.prefix}.<name>.{item.name}"
                )
                limits = []
                if item.choices:
                    limits.append("one of " + "/".join(map(str, item.choices)))
                if item.min is not None:
                    limits.append(f"min {item.min:g}")
                if item.max is not None:
                    limits.append(f"max {item.max:g}")
                extra = f" ({'; '.join(limits)})" if limits else ""
                default = item.default if not isinstance(item.default, list) or len(item.default) < 6 else "[...]"
                text = f"{item.description}{extra}".replace("|", "\\|")
                print(f"| `{name}` | {item.type} | `{default}` | {text} |")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="argos", description="ARGOS edge: detect, track and count road users.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the whole graph of one camera in one process")
    run.add_argument(
        "--config",
        action="append",
        help="parameter file (default: config/edge.yaml); repeatable, a later file wins (e.g. a unit's overrides)",
    )
    run.add_argument(
        "--state-dir",
        metavar="DIR",
        help="keep state across restarts here: the MQTT spool (when spool_dir is empty) and, for private "
        "servers, Redis with its append-only file and mosquitto's persistence (a service's /var/lib/argos)",
    )
    run.add_argument("--source", help="override camera.source (synthetic://intersection, file:///path.mp4, ...)")
    run.add_argument(
        "--duration",
        type=float,
        default=20.0,
        help="seconds to run (default 20; 0: until SIGINT/SIGTERM, as a service)",
    )
    run.add_argument("--summary", metavar="FILE", help="also write the summary as JSON")
    run.add_argument(
        "--param",
        action="append",
        metavar="NODE.NAME=VALUE",
        help="override one parameter, e.g. --param camera.fps=10.0 (repeatable)",
    )
    run.add_argument(
        "--namespace",
        action="append",
        metavar="NS",
        help="camera namespace to run, repeatable (default: the namespaces the config names, "
        "e.g. /cam1/camera sections, else /cam0)",
    )
    run.add_argument(
        "--shared-inference",
        action="store_true",
        help="one detector for all cameras, fed as a batch (DNN engines; default: one per camera)",
    )
    run.add_argument(
        "--embedded-services",
        choices=("auto", "never"),
        default="auto",
        help="auto: start private redis-server/mosquitto when the config names none",
    )
    run.add_argument(
        "--executor",
        choices=("per-node", "multi"),
        default="per-node",
        help="per-node: one single-threaded executor thread per node (default); "
        "multi: one rclpy MultiThreadedExecutor for all nodes",
    )
    run.add_argument("--record", metavar="DIR", help="record the graph's topics to a new rosbag2 bag (MCAP)")
    run.add_argument(
        "--record-images",
        action="store_true",
        help="with --record: also camera/image_raw and the JPEG views (camera, annotated)",
    )
    run.add_argument("--progress-interval", type=float, default=2.0, help="seconds between progress lines")
    run.add_argument("--quiet", action="store_true", help="no progress and no summary table")
    from . import foxglove_options, metrics_options

    metrics_options.add_arguments(run)
    foxglove_options.add_arguments(run)
    run.set_defaults(func=_cmd_run)

    check = sub.add_parser("check-config", help="validate a parameter file and exit")
    check.add_argument("--config", help="parameter file (default: config/edge.yaml)")
    check.set_defaults(func=_cmd_check)
    params = sub.add_parser("params", help="print every node's parameters as Markdown tables")
    params.set_defaults(func=_cmd_params)

    from argos_collector.commands import register as register_collector_command
    from argos_inference.commands import register as register_quantize_command

    from .bag_cli import register as register_bag_commands
    from .bench import register as register_benches
    from .evaluation import register as register_evaluations
    from .export import register as register_export_command
    from .lines_cli import register as register_lines_command
    from .model_cli import register as register_model_command
    from .status import register as register_status_command

    register_bag_commands(sub)
    register_status_command(sub)
    register_quantize_command(sub)
    register_collector_command(sub)
    register_model_command(sub)
    register_lines_command(sub)
    register_export_command(sub)

    bench = sub.add_parser("bench", help="benchmarks, printed as tables with the machine (make bench)")
    bench_sub = bench.add_subparsers(dest="area")
    register_benches(bench_sub)
    bench.set_defaults(func=_cmd_bench_all, bench_parsers=dict(bench_sub.choices))
    evaluate = sub.add_parser("eval", help="accuracy evaluations")
    register_evaluations(evaluate.add_subparsers(dest="area", required=True))
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run" and args.duration < 0:
        print("error: --duration: must be >= 0 (0: run until stopped)", file=sys.stderr)
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
