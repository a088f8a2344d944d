"""`argos status`: a live table of every ARGOS node's health, read from /diagnostics."""

from __future__ import annotations

import threading
import time

from rich.console import Console
from rich.live import Live
from rich.table import Table

from argos_common.health import LEVEL_NAMES, STALE

_STYLE = {"OK": "green", "WARN": "yellow", "ERROR": "bold red", "STALE": "dim"}
# the few numbers worth a column; everything else is in `--details`
_KEY_VALUES = (
    "fps",
    "source_state",
    "infer_ms_mean",
    "confirmed_tracks",
    "counts_total",
    "mqtt_published",
    "mqtt_spool_depth",
    "redis_written",
    "queue_dropped",
)


class HealthBoard:
    """Latest status per node; a node silent for `stale_after_s` is shown STALE."""

    def __init__(self, stale_after_s: float = 5.0, clock=time.monotonic):
        self._lock = threading.Lock()
        self._clock = clock
        self.stale_after_s = stale_after_s
        self.nodes: dict[str, dict] = {}

    def update(self, name: str, level: int, message: str, values: dict[str, str]) -> None:
        with self._lock:
            self.nodes[name] = {"level": level, "message": message, "values": values, "seen": self._clock()}

    def rows(self) -> list[dict]:
        now = self._clock()
        with self._lock:
            out = []
            for name, row in sorted(self.nodes.items()):
                level = STALE if now - row["seen"] > self.stale_after_s else row["level"]
                out.append(
                    {
                        "node": name,
                        "level": LEVEL_NAMES.get(level, str(level)),
                        "message": row["message"],
                        "values": row["values"],
                        "age_s": round(now - row["seen"], 1),
                    }
                )
            return out

    def table(self, details: bool = False) -> Table:
        table = Table(title="ARGOS health (/diagnostics)")
        for col in ("node", "level", "message", "key values", "age s"):
            table.add_column(col)
        for row in self.rows():
            values = row["values"] if details else {k: v for k, v in row["values"].items() if k in _KEY_VALUES}
            table.add_row(
                row["node"],
                f"[{_STYLE.get(row['level'], '')}]{row['level']}[/]",
                row["message"],
                " ".join(f"{k}={v}" for k, v in values.items()),
                str(row["age_s"]),
            )
        return table


def cmd_status(args) -> int:
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor

    board = HealthBoard(stale_after_s=args.stale_after)
    ctx = Context()
    rclpy.init(args=[], context=ctx)
    node = rclpy.create_node("argos_status", context=ctx)

    def on_diagnostics(msg: DiagnosticArray) -> None:
        for status in msg.status:
            if args.namespace and not status.name.startswith(args.namespace):
                continue
            board.update(
                status.name,
                status.level[0] if isinstance(status.level, bytes) else int(status.level),
                status.message,
                {kv.key: kv.value for kv in status.values},
            )

    node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 50)
    executor = SingleThreadedExecutor(context=ctx)
    executor.add_node(node)
    console = Console(highlight=False)
    try:
        end = time.monotonic() + args.duration if args.duration else None
        if args.once:
            deadline = time.monotonic() + args.wait
            while time.monotonic() < deadline:
                executor.spin_once(timeout_sec=0.1)
            console.print(board.table(args.details))
            return 0 if board.nodes else 1
        with Live(board.table(args.details), console=console, refresh_per_second=2) as live:
            while end is None or time.monotonic() < end:
                executor.spin_once(timeout_sec=0.2)
                live.update(board.table(args.details))
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=ctx)


def register(sub) -> None:
    status = sub.add_parser("status", help="live table of the graph's health from /diagnostics")
    status.add_argument("--namespace", help="only nodes under this namespace, e.g. /cam0")
    status.add_argument(
        "--once",
        action="store_true",
        help="listen for --wait seconds, print one table, exit (exit code 1 when no node reported)",
    )
    status.add_argument("--wait", type=float, default=3.0, metavar="S")
    status.add_argument("--duration", type=float, default=0.0, metavar="S", help="stop the live view after S seconds")
    status.add_argument("--stale-after", type=float, default=5.0, metavar="S")
    status.add_argument("--details", action="store_true", help="every stats value, not just the key ones")
    status.set_defaults(func=cmd_status)
