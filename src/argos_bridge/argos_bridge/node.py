"""rclpy wiring of the bridge: `tracks` and `counts` in, the core (argos_bridge.bridge) does the rest."""

from __future__ import annotations

import sys
import traceback

from vision_msgs.msg import Detection2DArray

from argos_common.metrics import HistogramSample, Sample, samples
from argos_common.ros.conversions import msg_to_count_record, msg_to_detections, msg_to_movement_record, ns_from_stamp
from argos_common.ros.diagnostics import DiagnosticsReporter
from argos_common.ros.managed import ManagedNode
from argos_common.ros.node_main import run_node
from argos_common.ros.params import LiveParameters, configuring, declare_params
from argos_common.ros.qos import COUNTS, LATCHED, RESULTS
from argos_interfaces.msg import CountEvent, CountingEpoch, MovementEvent

from .bridge import Bridge
from .health import LOSS_COUNTERS, health
from .params import PARAMS


class _RclpyLogAdapter:
    """The core logs like `logging` (exc_info=...); rclpy's logger takes plain messages only."""

    def __init__(self, logger):
        self._logger = logger

    def info(self, msg: str) -> None:
        self._logger.info(msg)

    def warning(self, msg: str) -> None:
        self._logger.warning(msg)

    def error(self, msg: str, exc_info: bool = False) -> None:
        self._logger.error(msg + ("\n" + traceback.format_exc() if exc_info else ""))


class BridgeNode(ManagedNode):
    """Lifecycle: configure opens the spool and the Redis and MQTT connections (the writer starts
    delivering what the spool holds from before); activate takes `tracks`, `counts` and
    `counts/epoch`; deactivate stops taking them while the writer keeps its queue, the Redis
    buffer and the spool, and goes on delivering them; cleanup drains and closes (the spool stays
    on disk with what the broker did not take)."""

    def __init__(self, *, node_name: str = "bridge", autostart: bool = True, **kwargs):
        super().__init__(node_name, **kwargs)
        self._closed = True  # nothing to close until the bridge exists
        self._bridge: Bridge | None = None
        self._taking = False
        self.ignored_while_inactive = 0
        with configuring(self):
            self._values = declare_params(self, PARAMS)
        self.create_subscription(Detection2DArray, "tracks", self._on_tracks, RESULTS)
        self.create_subscription(CountEvent, "counts", self._on_count, COUNTS)
        self.create_subscription(CountingEpoch, "counts/epoch", self._on_epoch, LATCHED)
        self._live = LiveParameters(self, PARAMS, self._values, self._retune)
        self.create_subscription(MovementEvent, "movements", self._on_movement, COUNTS)
        self._diagnostics = DiagnosticsReporter(self, self.stats, health)
        self.autostart(autostart)

    # -- lifecycle ------------------------------------------------------------------------
    def _configure(self) -> None:
        self._bridge = Bridge(self._named(self._values), logger=_RclpyLogAdapter(self.get_logger()))
        self._closed = False
        self._bridge.start()

    def _activate(self) -> None:
        self._taking = True

    def _deactivate(self) -> None:
        self._taking = False

    def _cleanup(self) -> None:
        self._taking = False
        if not self._closed and self._bridge is not None:
            self._closed = True
            self._bridge.close()

    def _retune(self, values: dict, changed: set[str]) -> None:
        if self._bridge is not None:
            self._bridge.retune(self._named(values))
        self._values = values

    def _taken(self) -> bool:
        if self._taking and self._bridge is not None:
            return True
        self.ignored_while_inactive += 1
        return False

    def _named(self, values: dict) -> dict:
        if values["camera"]:
            return values
        # empty: named after this camera's namespace (/cam1 -> cam1)
        return {**values, "camera": self.get_namespace().rstrip("/").rsplit("/", 1)[-1] or "cam0"}

    def _on_epoch(self, msg: CountingEpoch) -> None:
        # the latest epoch is kept by its publisher (transient local) and taken even while
        # inactive: it describes what the next counts mean, it is not data to deliver
        if self._bridge is not None:
            self._bridge.submit_epoch(int(msg.epoch), ns_from_stamp(msg.header.stamp))

    @property
    def bridge(self) -> Bridge:
        if self._bridge is None:
            raise RuntimeError(f"{self.get_fully_qualified_name()} is not configured")
        return self._bridge

    def _on_tracks(self, msg: Detection2DArray) -> None:
        if not self._taken():
            return
        self.bridge.submit_tracks(ns_from_stamp(msg.header.stamp), msg.header.frame_id, msg_to_detections(msg))

    def _on_count(self, msg: CountEvent) -> None:
        if not self._taken():
            return
        self.bridge.submit_count(msg_to_count_record(msg))

    def _on_movement(self, msg: MovementEvent) -> None:
        self._bridge.submit_movement(msg_to_movement_record(msg))

    def stats(self) -> dict:
        if self._bridge is None:
            return {"lifecycle_state": self.state}
        return {
            **self._bridge.stats(),
            "lifecycle_state": self.state,
            "ignored_while_inactive": self.ignored_while_inactive,
            # the running movement matrix of the open bin: `argos status` shows it
            "open_bin": self._bridge.open_bin_matrix(),
        }

    def metrics(self) -> list:
        """Prometheus samples (argos_common.metrics): every loss counter by name, buffers, links."""
        if self._bridge is None:
            return []
        stats = self._bridge.stats()
        depth = {
            "bridge_queue": stats["queue_depth"],
            "redis_buffer": stats["redis_buffer_depth"],
            "mqtt_spool": stats["mqtt_spool_depth"],
            "mqtt_in_flight": stats["mqtt_in_flight"],
        }
        return [
            Sample("argos_frames", stats["frames"], {"stage": "delivered"}),
            *samples("argos_dropped", {k: stats.get(k) or 0 for k in LOSS_COUNTERS}, "reason"),
            *samples("argos_buffer_depth", depth, "buffer"),
            # the first connection is not a reconnection
            Sample("argos_reconnects", max(int(stats["mqtt_connects"]) - 1, 0), {"link": "mqtt"}),
            Sample("argos_connected", stats["mqtt_connected"], {"link": "mqtt"}),
            Sample("argos_connected", stats["redis_connected"], {"link": "redis"}),
            Sample("argos_published", stats["redis_written"], {"sink": "redis"}),
            Sample("argos_published", stats["mqtt_published"], {"sink": "mqtt"}),
            HistogramSample("argos_stage_latency_seconds", self._bridge.stage_latency, {"stage": "bridge"}),
            HistogramSample("argos_end_to_end_latency_seconds", self._bridge.end_to_end_latency),
        ]

    def latencies_ms(self) -> list[float]:
        return self._bridge.latencies_ms() if self._bridge is not None else []

    def destroy_node(self) -> None:
        self._cleanup()
        super().destroy_node()


def main(args=None) -> None:
    sys.exit(run_node(BridgeNode, args))


if __name__ == "__main__":
    main()
