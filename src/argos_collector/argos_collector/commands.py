"""`argos collector` (registered by argos_bringup's CLI; also the `argos-collector` command)."""

from __future__ import annotations


def _collector(args) -> int:
    from .service import run_collector

    return run_collector(args)


def register(top) -> None:
    from .service import add_arguments

    collector = top.add_parser(
        "collector",
        help="read the Redis stream (consumer group), aggregate per "
        "interval, write InfluxDB line protocol (v1/v2 HTTP) and/or MQTT",
    )
    add_arguments(collector)
    collector.set_defaults(func=_collector)
