"""The standalone entry point every ARGOS node shares (`ros2 run`, launch_ros)."""

from __future__ import annotations

import sys
from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions
from rclpy.task import Future

from ..metrics_server import MetricsSource, camera_label, serve_from_environment
from ..params import ConfigError
from ..shutdown import StopSignals, signals_blocked
from .managed import ManagedNode, bring_up

_SPIN_SLICE_S = 0.1  # how soon a stop signal is noticed
# A managed node started on its own configures and activates itself; launch (or another
# lifecycle manager) passes this to drive the transitions itself.
NO_AUTOSTART = "--no-autostart"


def _own_args(args) -> list[str]:
    """The command-line arguments outside --ros-args blocks."""
    argv = sys.argv[1:] if args is None else list(args)
    own, in_ros = [], False
    for token in argv:
        if token == "--ros-args":
            in_ros = True
        elif token == "--" and in_ros:
            in_ros = False
        elif not in_ros:
            own.append(token)
    return own


def _serve_metrics(node: Node):
    """The node's Prometheus endpoint when ARGOS_METRICS_PORT asks for one; a bad setting is a
    configuration error like any other."""
    try:
        metrics = serve_from_environment(
            lambda: [MetricsSource(camera_label(node.get_namespace()), node.get_name(), node)]
        )
    except ValueError as exc:
        key, _, problem = str(exc).partition(": ")
        raise ConfigError(key, problem) from None
    if metrics is not None:
        node.get_logger().info(f"metrics: {metrics.url}")
    return metrics


def run_node(make_node: Callable[[], Node], args=None, *, until: Callable[[Node], Future] | None = None) -> int:
    """Spin the node until SIGINT/SIGTERM (or until `until(node)` completes, if given), then close
    it with both signals blocked, while its context is still valid: no callback ever runs on a
    shut-down context, and a second signal cannot interrupt the close. A configuration error
    prints one line `error: <key>: <problem>` and returns 2; a stop returns 0."""
    # rclpy's own handlers would shut the context down under running callbacks; ours only ask to stop
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    stop = StopSignals().install()
    node = None
    metrics = None
    executor = SingleThreadedExecutor()
    code = 0
    try:
        # A node may connect to things while it is built (the bridge does): a signal landing
        # before `node` is bound would skip destroy_node (no orderly close), so it waits.
        with signals_blocked():
            managed = isinstance(make_node, type) and issubclass(make_node, ManagedNode)
            node = make_node(autostart=False) if managed else make_node()
            if isinstance(node, ManagedNode) and NO_AUTOSTART not in _own_args(args):
                bring_up(node)
        metrics = _serve_metrics(node)
        done = until(node) if until is not None else None
        executor.add_node(node)
        while not stop.requested and not (done is not None and done.done()):
            executor.spin_once(timeout_sec=_SPIN_SLICE_S)
    except ConfigError as exc:
        print(f"error: {exc.key}: {exc.problem}", file=sys.stderr)
        code = 2
    except ExternalShutdownException:
        pass
    finally:
        with signals_blocked():
            if metrics is not None:
                metrics.close()
            executor.shutdown(timeout_sec=2.0)
            if node is not None:
                if isinstance(node, ManagedNode):
                    node.release()
                node.destroy_node()
            rclpy.try_shutdown()
    return code
