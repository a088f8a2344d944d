"""The composed graph: all nodes of one camera in one process, one MultiThreadedExecutor.

Frames go camera -> inference by reference through a keep-latest slot (no serialization);
everything downstream of inference travels on the ROS topics, exactly as in the launch-file
graph, so both process models publish the same messages.
"""
from __future__ import annotations

import threading
from typing import Any

import rclpy
from rclpy.context import Context
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.parameter import Parameter

from argos_common.handoff import LatestSlot
from argos_common.params import ParamSpec, expand_specs

from .config import EdgeConfig, node_specs
from .monitor import RunMonitor
from .monitor_node import MonitorNode

_PARAM_TYPES = {
    "bool": Parameter.Type.BOOL, "int": Parameter.Type.INTEGER, "float": Parameter.Type.DOUBLE,
    "str": Parameter.Type.STRING, "bool[]": Parameter.Type.BOOL_ARRAY, "int[]": Parameter.Type.INTEGER_ARRAY,
    "float[]": Parameter.Type.DOUBLE_ARRAY, "str[]": Parameter.Type.STRING_ARRAY,
}


def parameter_overrides(node: str, values: dict[str, Any]) -> list[Parameter]:
    specs: list[ParamSpec] = expand_specs(node_specs(node), values)
    return [Parameter(s.name, _PARAM_TYPES[s.type], values[s.name]) for s in specs if s.name in values]


class ComposedGraph:
    def __init__(self, config: EdgeConfig, namespace: str = "/cam0", threads: int = 4):
        # Node classes are imported here so `argos --help` and config checks stay light.
        from argos_bridge.node import BridgeNode
        from argos_camera.node import CameraNode
        from argos_inference.node import InferenceNode
        from argos_tracker.node import TrackerNode

        self.config = config
        self.namespace = namespace
        self.context = Context()
        rclpy.init(args=[], context=self.context)
        self.frame_slot: LatestSlot = LatestSlot()
        self.monitor = RunMonitor()
        common = {"namespace": namespace, "context": self.context}
        self.nodes: dict[str, Any] = {}
        try:
            self.nodes["monitor"] = MonitorNode(self.monitor, **common)
            self.nodes["bridge"] = BridgeNode(parameter_overrides=parameter_overrides("bridge", config.node("bridge")), **common)
            self.nodes["tracker"] = TrackerNode(parameter_overrides=parameter_overrides("tracker", config.node("tracker")), **common)
            self.nodes["inference"] = InferenceNode(frame_slot=self.frame_slot,
                                                    parameter_overrides=parameter_overrides("inference", config.node("inference")), **common)
            self.nodes["camera"] = CameraNode(frame_slot=self.frame_slot,
                                              parameter_overrides=parameter_overrides("camera", config.node("camera")), **common)
        except BaseException:
            self.close()
            raise
        self.executor = MultiThreadedExecutor(num_threads=threads, context=self.context)
        for node in self.nodes.values():
            self.executor.add_node(node)
        self._spin_thread: threading.Thread | None = None
        self.spin_error: BaseException | None = None

    @property
    def camera(self):
        return self.nodes["camera"]

    @property
    def bridge(self):
        return self.nodes["bridge"]

    def start(self) -> None:
        self._spin_thread = threading.Thread(target=self._spin, name="argos-executor", daemon=True)
        self._spin_thread.start()

    def _spin(self) -> None:
        try:
            self.executor.spin()
        except (ExternalShutdownException, KeyboardInterrupt):
            pass
        except BaseException as exc:  # surfaced by the runner instead of dying silently in a thread
            self.spin_error = exc

    def stats(self) -> dict[str, dict]:
        return {name: node.stats() for name, node in self.nodes.items() if hasattr(node, "stats")}

    def close(self) -> None:
        executor = getattr(self, "executor", None)
        if executor is not None:
            executor.shutdown(timeout_sec=2.0)
        for node in reversed(list(self.nodes.values())):
            try:
                node.destroy_node()
            except Exception:  # teardown must reach every node
                pass
        self.nodes.clear()
        if self.context.ok():
            rclpy.shutdown(context=self.context)
        if self._spin_thread_alive():
            self._spin_thread.join(timeout=2.0)

    def _spin_thread_alive(self) -> bool:
        return getattr(self, "_spin_thread", None) is not None and self._spin_thread.is_alive()
