"""The standalone entry point every ARGOS node shares (`ros2 run`, launch_ros)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.task import Future

from ..params import ConfigError

_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def run_node(make_node: Callable[[], Node], args=None, *, until: Callable[[Node], Future] | None = None) -> int:
    """Spin the node (until `until(node)` completes, if given). A configuration error prints one
    line `error: <key>: <problem>` and returns 2; Ctrl-C or an external shutdown return 0."""
    rclpy.init(args=args)
    node = None
    code = 0
    try:
        # A node may connect to things while it is built (the bridge does): a Ctrl-C landing
        # before `node` is bound would skip destroy_node (no orderly close), so it waits.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            node = make_node()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        if until is None:
            rclpy.spin(node)
        else:
            rclpy.spin_until_future_complete(node, until(node))
    except ConfigError as exc:
        print(f"error: {exc.key}: {exc.problem}", file=sys.stderr)
        code = 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return code
