"""The composed graph: all nodes of one camera in one process, executors in parallel threads.

Frames go camera -> inference by reference through a keep-latest slot (no serialization);
everything downstream of inference travels on the ROS topics, exactly as in the launch-file
graph, so both process models publish the same messages.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import rclpy
from rclpy.context import Context
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.parameter import Parameter

from argos_common.handoff import FanOut, LatestSlot
from argos_common.metrics_server import LOOPBACK, MetricsServer, MetricsSource, camera_label
from argos_common.ros.managed import ACTIVE, ManagedNode, bring_up
from argos_common.ros.params import parameter_overrides as ros_parameter_overrides
from argos_common.systemd import Watchdog, notify

from .config import EdgeConfig, node_specs
from .monitor import RunMonitor
from .monitor_node import MonitorNode


def parameter_overrides(node: str, values: dict[str, Any]) -> list[Parameter]:
    return ros_parameter_overrides(node_specs(node), values)


class ComposedGraph:
    def __init__(
        self,
        config: EdgeConfig,
        namespace: str = "/cam0",
        executor: str = "per-node",
        threads: int = 4,
        own_inference: bool = True,
        ros_args: list[str] | None = None,
        autostart: bool = True,
    ):
        """own_inference False: frames wait in `frame_slot` for a detector shared with other cameras
        (see `adopt`). `ros_args`: ROS command-line arguments for this graph's context (log levels,
        remappings, parameter files, as launch_ros passes them to a process)."""
        # Node classes are imported here so `argos --help` and config checks stay light.
        from argos_bridge.node import BridgeNode
        from argos_camera.annotator_node import AnnotatorNode
        from argos_camera.node import CameraNode
        from argos_inference.node import InferenceNode
        from argos_tracker.node import TrackerNode

        self.config = config
        self.namespace = namespace
        self.context = Context()
        rclpy.init(args=["argos", "--ros-args", *ros_args] if ros_args else [], context=self.context)
        self.frame_slot: LatestSlot = LatestSlot()
        self.monitor = RunMonitor()
        common = {"namespace": namespace, "context": self.context}
        self.nodes: dict[str, Any] = {}
        try:
            self.nodes["monitor"] = MonitorNode(self.monitor, **common)
            self.nodes["bridge"] = BridgeNode(
                autostart=False, parameter_overrides=parameter_overrides("bridge", config.node("bridge")), **common
            )
            self.nodes["tracker"] = TrackerNode(
                parameter_overrides=parameter_overrides("tracker", config.node("tracker")), **common
            )
            if own_inference:
                self.nodes["inference"] = InferenceNode(
                    autostart=False,
                    frame_slot=self.frame_slot,
                    parameter_overrides=parameter_overrides("inference", config.node("inference")),
                    **common,
                )
            # the annotator gets every frame too (its own slot), and draws only while watched
            self.annotator_slot: LatestSlot = LatestSlot()
            self.nodes["annotator"] = AnnotatorNode(
                frame_slot=self.annotator_slot,
                parameter_overrides=parameter_overrides("annotator", config.node("annotator")),
                **common,
            )
            self.nodes["camera"] = CameraNode(
                autostart=False,
                frame_slot=FanOut(self.frame_slot, self.annotator_slot),
                parameter_overrides=parameter_overrides("camera", config.node("camera")),
                **common,
            )
            if own_inference and autostart:
                self.bring_up()
        except BaseException:
            self.close()
            raise
        self.executor_model = executor
        if executor == "multi":
            self.executors = [MultiThreadedExecutor(num_threads=threads, context=self.context)]
            for node in self.nodes.values():
                self.executors[0].add_node(node)
        elif executor == "per-node":
            # One single-threaded executor thread per node: nodes still run in parallel, and no
            # wait loop spins on entities whose callback is busy elsewhere. rclpy's
            # MultiThreadedExecutor does spin there, holding the GIL against the very callbacks
            # it waits for (measured: 7.6 FPS and p95 740 ms vs 15 FPS and p95 18 ms; README).
            self.executors = []
            for node in self.nodes.values():
                ex = SingleThreadedExecutor(context=self.context)
                ex.add_node(node)
                self.executors.append(ex)
        else:
            raise ValueError(f"executor: unknown model {executor!r} (per-node, multi)")
        self._executor_of = {id(n): ex for ex in self.executors for n in ex.get_nodes()}
        self._spin_threads: list[threading.Thread] = []
        self.spin_error: BaseException | None = None

    def bring_up(self) -> None:
        """Configure and activate the managed nodes: the bridge and inference first, so the first
        frame the camera delivers finds them ready; raises the ConfigError of a node that failed."""
        for name in ("bridge", "inference", "camera"):
            node = self.nodes.get(name)
            if isinstance(node, ManagedNode) and node.state != ACTIVE:
                bring_up(node)

    @property
    def camera(self):
        return self.nodes["camera"]

    @property
    def bridge(self):
        return self.nodes["bridge"]

    def start(self) -> None:
        for i, ex in enumerate(self.executors):
            t = threading.Thread(target=self._spin, args=(ex,), name=f"argos-executor-{i}", daemon=True)
            t.start()
            self._spin_threads.append(t)

    def _spin(self, executor) -> None:
        try:
            executor.spin()
        except (ExternalShutdownException, KeyboardInterrupt):
            pass
        except BaseException as exc:  # surfaced by the runner instead of dying silently in a thread
            self.spin_error = exc

    def add_node(self, node) -> None:
        """Add an extra node (e.g. a test probe) to the graph's first executor."""
        self.executors[0].add_node(node)
        self._executor_of[id(node)] = self.executors[0]

    def adopt(self, name: str, node) -> None:
        """Run an extra node of this context (e.g. the shared detector) on its own executor thread;
        before start(). It is closed with the graph."""
        executor = SingleThreadedExecutor(context=self.context)
        executor.add_node(node)
        self.executors.append(executor)
        self._executor_of[id(node)] = executor
        self.nodes[name] = node

    def stop_camera(self) -> None:
        """No new frames; the frames in flight still go through."""
        self._executor_of[id(self.camera)].remove_node(self.camera)

    @property
    def finished(self) -> bool:
        """The camera's source ended (end of a file, of an image folder)."""
        return self.camera.finished.is_set()

    def drain(self, timeout: float = 3.0) -> None:
        """After stop_camera(): let the frames in flight reach the bridge and the brokers."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            snap = self.monitor.snapshot()
            state = (
                snap["detection_frames"],
                snap["track_frames"],
                snap["counted"],
                self.bridge.stats().get("queue_depth", 0),
            )
            if state == last and snap["track_frames"] >= snap["detection_frames"] and not state[3]:
                return
            last = state
            time.sleep(0.3)

    def stats(self) -> dict[str, dict]:
        return {name: node.stats() for name, node in self.nodes.items() if hasattr(node, "stats")}

    def close(self) -> None:
        for ex in getattr(self, "executors", []):
            ex.shutdown(timeout_sec=2.0)
        for node in reversed(list(self.nodes.values())):
            try:
                if isinstance(node, ManagedNode):
                    node.release()
                node.destroy_node()
            except Exception:  # teardown must reach every node
                pass
        self.nodes.clear()
        if self.context.ok():
            rclpy.shutdown(context=self.context)
        for t in getattr(self, "_spin_threads", []):
            t.join(timeout=2.0)


class Cameras:
    """Every camera of one process, each its own ComposedGraph (own context, nodes and topics),
    optionally sharing one detector that takes the frames waiting in all cameras' slots as one
    batch. `argos run` and the composed container (`edge_container`, what launch starts) both run
    this class; they differ only in what surrounds it (private servers, progress, summary)."""

    def __init__(
        self,
        configs: dict[str, EdgeConfig],
        *,
        executor: str = "per-node",
        shared_inference: bool = False,
        ros_args: list[str] | None = None,
        autostart: bool = True,
    ):
        self.graphs: dict[str, ComposedGraph] = {}
        self.metrics_server: MetricsServer | None = None
        self.foxglove_server = None  # argos_camera.foxglove_out.FoxgloveServer, when serving
        self._shared_inference = shared_inference
        try:
            for namespace, config in configs.items():
                self.graphs[namespace] = ComposedGraph(
                    config,
                    namespace=namespace,
                    executor=executor,
                    own_inference=not shared_inference,
                    ros_args=ros_args,
                    autostart=autostart,
                )
            if shared_inference:
                self._share_one_detector(next(iter(configs.values())), autostart)
        except BaseException:
            self.close()
            raise

    def _share_one_detector(self, config: EdgeConfig, autostart: bool) -> None:
        """One inference node (the first camera's inference parameters) for every camera."""
        from argos_inference.node import InferenceNode

        first = next(iter(self.graphs.values()))
        shared: ManagedNode = InferenceNode(
            autostart=False,
            node_name="inference_shared",
            namespace="/",
            context=first.context,
            frame_slots={ns: g.frame_slot for ns, g in self.graphs.items()},
            parameter_overrides=parameter_overrides("inference", config.node("inference")),
        )
        first.adopt("inference", shared)
        for graph in self.graphs.values() if autostart else ():
            graph.bring_up()

    def start(self) -> None:
        for graph in self.graphs.values():
            graph.start()

    def metrics_sources(self) -> list[MetricsSource]:
        """Every node of every camera, labelled by camera; a shared detector by `shared`."""
        found = []
        for namespace, graph in self.graphs.items():
            for name, node in graph.nodes.items():
                shared = name == "inference" and self._shared_inference
                found.append(MetricsSource("shared" if shared else camera_label(namespace), name, node))
        return found

    def serve_metrics(self, port: int, host: str = LOOPBACK, **tls) -> MetricsServer:
        """One Prometheus endpoint for the whole process (port 0: a free one); closed with the cameras."""
        self.metrics_server = MetricsServer(self.metrics_sources, port, host, **tls)
        return self.metrics_server

    def serve_foxglove(self, port: int, host: str = LOOPBACK, **tls):
        """One Foxglove WebSocket server for the whole process (port 0: a free one), each camera's
        channels under its namespace, fed by its annotator; closed with the cameras. Before start()."""
        from argos_camera.foxglove_out import FoxgloveServer

        self.foxglove_server = FoxgloveServer(port, host, **tls)
        for namespace, graph in self.graphs.items():
            graph.nodes["annotator"].attach_foxglove(self.foxglove_server.camera(namespace))
        return self.foxglove_server

    def frames_captured(self) -> int:
        return sum(g.camera.capture.frames for g in self.graphs.values())

    def wait(self, stop, duration_s: float | None = None, tick=None, tick_s: float = 2.0) -> str:
        """Run until a stop is requested ("stopped"), `duration_s` passes ("duration"; None: no
        limit), every camera's source ended ("finished") or a node's executor died ("failed").
        `tick(elapsed_s)` is called every `tick_s`. Under systemd (Type=notify) it says READY=1 and
        feeds the watchdog while frames are captured."""
        watchdog = Watchdog()
        notify(f"READY=1\nSTATUS=running {len(self.graphs)} camera(s)")
        started = time.monotonic()
        next_tick = started + tick_s
        while True:
            watchdog.poll(self.frames_captured())
            now = time.monotonic()
            if self.failed:
                return "failed"
            if stop.requested:
                return "stopped"
            if duration_s is not None and now - started >= duration_s:
                return "duration"
            if all(g.finished for g in self.graphs.values()):
                return "finished"
            if tick is not None and now >= next_tick:
                tick(now - started)
                next_tick += tick_s
            stop.wait(0.05)

    def stop_and_drain(self) -> None:
        """No new frames; what is in flight reaches the bridges and the brokers."""
        notify("STOPPING=1")
        for graph in self.graphs.values():
            graph.stop_camera()
        for graph in self.graphs.values():
            graph.drain()

    @property
    def failed(self) -> dict[str, BaseException]:
        return {ns: g.spin_error for ns, g in self.graphs.items() if g.spin_error is not None}

    def close(self) -> None:
        if self.metrics_server is not None:
            self.metrics_server.close()
            self.metrics_server = None
        for graph in reversed(list(self.graphs.values())):
            graph.close()
        self.graphs.clear()
        if self.foxglove_server is not None:  # after the annotators that feed it
            self.foxglove_server.close()
            self.foxglove_server = None
