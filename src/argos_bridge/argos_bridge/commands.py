"""`argos collector` and `argos bench bridge` (registered by argos_bringup's CLI)."""
from __future__ import annotations


def _collector(args) -> int:
    from .collector import run_collector
    return run_collector(args)


def _bench(args) -> int:
    from .bench import run_bench
    return run_bench(args)


def register(groups) -> None:
    from .collector import add_arguments
    collector = groups.top.add_parser("collector", help="read the Redis stream (consumer group), aggregate per "
                                      "interval, write InfluxDB line protocol (v1/v2 HTTP) and/or MQTT")
    add_arguments(collector)
    collector.set_defaults(func=_collector)

    bench = groups.bench.add_parser("bridge", help="messages/s of the bridge's Redis and MQTT sinks vs the raw clients")
    bench.add_argument("--messages", type=int, default=3000, help="messages per measurement (default 3000)")
    bench.add_argument("--repeats", type=int, default=3, help="best of N runs per measurement (default 3)")
    bench.set_defaults(func=_bench)
