"""`argos status`: a live table of every ARGOS node's health, read from /diagnostics."""

from __future__ import annotations

import json
import threading
import time

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from argos_common.health import LEVEL_NAMES, STALE
from argos_common.movements import matrix_from_keys

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
_MATRIX_KEYS = ("open_bin", "open_bin_start")  # shown as the movement matrix, not as key values


def movement_matrix_table(node: str, values: dict[str, str]) -> Table | None:
    """The running movement matrix of the bin a bridge has open (its stats' `open_bin`, JSON on
    /diagnostics): one row per movement, one column per class seen, and the totals; None when the
    node reports no such matrix (not a bridge, or one from before movements)."""
    if "open_bin" not in values:
        return None
    try:
        flat = json.loads(values["open_bin"])
        matrix = matrix_from_keys({str(k): int(v) for k, v in flat.items()})
    except (ValueError, TypeError, AttributeError):
        return None
    since = values.get("open_bin_start") or "?"
    table = Table(title=f"Movements of the open bin since {since} ({node})")
    classes = sorted({c for row in matrix.values() for c in row})
    table.add_column("movement")
    for c in classes:
        table.add_column(c, justify="right")
    table.add_column("total", justify="right")
    totals = dict.fromkeys(classes, 0)
    for movement, row in matrix.items():
        for c, n in row.items():
            totals[c] += n
        table.add_row(movement, *(str(row.get(c, 0)) for c in classes), str(sum(row.values())))
    if not matrix:
        table.add_row("(none yet)", "0")
    else:
        table.add_row("total", *(str(totals[c]) for c in classes), str(sum(totals.values())), style="bold")
    return table


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
            values = (
                {k: v for k, v in row["values"].items() if k not in _MATRIX_KEYS}
                if details
                else {k: v for k, v in row["values"].items() if k in _KEY_VALUES}
            )
            table.add_row(
                row["node"],
                f"[{_STYLE.get(row['level'], '')}]{row['level']}[/]",
                row["message"],
                " ".join(f"{k}={v}" for k, v in values.items()),
                str(row["age_s"]),
            )
        return table

    def view(self, details: bool = False) -> Group:
        """The health table, then the movement matrix of every bridge's open bin."""
        matrices = [movement_matrix_table(row["node"], row["values"]) for row in self.rows()]
        return Group(self.table(details), *(m for m in matrices if m is not None))


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
            console.print(board.view(args.details))
            return 0 if board.nodes else 1
        with Live(board.view(args.details), console=console, refresh_per_second=2) as live:
            while end is None or time.monotonic() < end:
                executor.spin_once(timeout_sec=0.2)
                live.update(board.view(args.details))
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=ctx)


def register(sub) -> None:
    status = sub.add_parser(
        "status", help="live table of the graph's health from /diagnostics, and the open bin's movement matrix"
    )
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
