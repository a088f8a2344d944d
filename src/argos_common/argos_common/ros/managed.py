"""Managed (lifecycle) nodes: the camera, inference and bridge open their sources, models and
connections on `configure`, produce on `activate`, pause on `deactivate` (keeping what they hold)
and release on `cleanup`, driven by the composed runner, launch or any lifecycle manager
(`ros2 lifecycle set /cam0/camera activate`).

A node's parameters are still declared and checked when it is built, so a bad parameter file
fails before anything starts; what `configure` opens can still fail (a model, a spool
directory): the ConfigError is kept in `configure_error`, logged, and the transition fails.
"""

from __future__ import annotations

from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn

from ..params import ConfigError

UNCONFIGURED, INACTIVE, ACTIVE, FINALIZED = "unconfigured", "inactive", "active", "finalized"


class ManagedNode(LifecycleNode):
    """Subclasses implement `_configure`, `_activate`, `_deactivate` and `_cleanup` (each may
    raise ConfigError); `state` is the lifecycle state the node is in."""

    state = UNCONFIGURED
    configure_error: ConfigError | None = None
    _caller_reports = False  # bring_up raises the error itself: no log line besides its one line

    def _configure(self) -> None: ...

    def _activate(self) -> None: ...

    def _deactivate(self) -> None: ...

    def _cleanup(self) -> None: ...

    def _step(self, action, success_state: str) -> TransitionCallbackReturn:
        try:
            action()
        except ConfigError as exc:
            self.configure_error = exc.under(self.get_fully_qualified_name())
            if not self._caller_reports:
                self.get_logger().error(str(self.configure_error))
            return TransitionCallbackReturn.FAILURE
        self.state = success_state
        return TransitionCallbackReturn.SUCCESS

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.configure_error = None
        result = self._step(self._configure, INACTIVE)
        if result != TransitionCallbackReturn.SUCCESS:
            self._cleanup()  # what was opened before the failure
        return result

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = self._step(self._activate, ACTIVE)
        return super().on_activate(state) if result == TransitionCallbackReturn.SUCCESS else result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = self._step(self._deactivate, INACTIVE)
        return super().on_deactivate(state) if result == TransitionCallbackReturn.SUCCESS else result

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._step(self._cleanup, UNCONFIGURED)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        def release():
            if self.state == ACTIVE:
                self._deactivate()
                self.state = INACTIVE
            if self.state == INACTIVE:
                self._cleanup()
                self.state = UNCONFIGURED

        return self._step(release, FINALIZED)

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._cleanup()
        self.state = UNCONFIGURED
        return TransitionCallbackReturn.SUCCESS

    def autostart(self, enabled: bool) -> None:
        """End of a subclass constructor: a node built in-process with autostart (the default)
        configures and activates itself, so a ConfigError still leaves the constructor (the node
        destroyed first); the composed runner, `run_node` and launch build nodes with
        autostart=False and drive the transitions."""
        if not enabled:
            return
        try:
            bring_up(self)
        except (ConfigError, RuntimeError):
            self.release()
            self.destroy_node()
            raise

    def release(self) -> None:
        """Deactivate and clean up whatever state the node is in (before destroy_node)."""
        if self.state == ACTIVE:
            self.trigger_deactivate()
        if self.state == INACTIVE:
            self.trigger_cleanup()


def bring_up(node: ManagedNode, activate: bool = True) -> None:
    """configure (and activate) `node`; raises the ConfigError that stopped it, or RuntimeError."""
    for step, wanted in ((node.trigger_configure, INACTIVE), (node.trigger_activate, ACTIVE)):
        if wanted == ACTIVE and not activate:
            return
        node._caller_reports = True
        try:
            step()
        finally:
            node._caller_reports = False
        if node.state != wanted:
            if node.configure_error is not None:
                raise node.configure_error
            raise RuntimeError(f"{node.get_fully_qualified_name()}: lifecycle transition to {wanted} failed")
