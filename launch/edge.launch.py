"""ARGOS edge on a unit: one composed process per camera (default), or one process per node.

    ros2 launch argos_bringup edge.launch.py [config:=/path/edge.yaml] [namespaces:=cam0,cam1] \\
        [composition:=true|false] [shared_inference:=false|true] [respawn:=false|true] \\
        [redis_url:=redis://host:6379/0] [mqtt_url:=mqtt://host:1883] [log_level:=info] \\
        [use_sim_time:=false] [metrics_port:=9100] [metrics_host:=127.0.0.1] \\
        [foxglove_port:=8765] [foxglove_host:=127.0.0.1] [autostart:=true|false]

Every process reads the same parameter file as `argos run`: `/**/<node>` sections apply to every
camera, `/<camera>/<node>` sections to one.

- composition:=true (default): per camera, one `edge_container` process runs the camera,
  inference, tracker, bridge and annotator nodes, with frames handed from camera to inference by
  reference (the code of `argos run`); the other topics are the same typed ROS topics.
  shared_inference:=true puts every camera into one container with one batched detector.
- composition:=false: the five nodes of each camera as separate processes; the camera publishes
  camera/image_raw and inference subscribes to it, with the Fast DDS settings this package ships
  (config/fastdds_large_frames.xml: whole frames over shared memory; glibc malloc thresholds that
  keep frame buffers in the heap).
- A synthetic pole view (`camera.source: synthetic://intersection?view=pole...`): the tracker and
  the annotator get the counting lines as its image shows them (argos_bringup.view_geometry; the
  container maps them itself, separate processes read one more parameter file each).

camera, inference and bridge are lifecycle nodes (launch_ros LifecycleNode when separate; in
the container, the container drives them): autostart:=true (default) configures and activates
them; autostart:=false leaves them unconfigured for an external lifecycle manager
(`ros2 lifecycle set /cam0/camera configure`, nav2's lifecycle_manager and the like).

respawn:=true restarts a process that exits (a container exits non-zero when it loses a node).

metrics_port:=N serves Prometheus metrics from every process: the first one started on N, the
next on N+1 and so on (composed: one port per container; separate: one per node, in the order
of NODES, camera by camera). Loopback unless metrics_host says otherwise, and then only as
mutual TLS (ARGOS_METRICS_TLS_CERT, ARGOS_METRICS_TLS_KEY, ARGOS_METRICS_CLIENT_CA in the
environment of launch).

foxglove_port:=N serves the live view to Foxglove over WebSocket (README, "Watching a unit in
Foxglove"): composed, from each container on N, N+1, ...; separate, from each camera's annotator
process (it holds every stream Foxglove shows). Loopback unless foxglove_host says otherwise, and
then only as wss:// (ARGOS_FOXGLOVE_TLS_CERT, ARGOS_FOXGLOVE_TLS_KEY in the environment of launch).
"""

import os
import tempfile

import lifecycle_msgs.msg
import yaml
from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, EmitEvent, LogInfo, OpaqueFunction, RegisterEventHandler
from launch.event_handlers import OnProcessExit, OnShutdown
from launch.events import Shutdown, matches_action
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState

from argos_bringup.view_geometry import override_files
from launch import LaunchDescription

NODES = (
    # package, executable, node name
    ("argos_camera", "camera_node", "camera"),
    ("argos_inference", "inference_node", "inference"),
    ("argos_tracker", "tracker_node", "tracker"),
    ("argos_bridge", "bridge_node", "bridge"),
    ("argos_camera", "annotator_node", "annotator"),
)
# managed (lifecycle) nodes: configure opens, activate produces (README, "Managed nodes")
MANAGED = ("camera", "inference", "bridge")
# passed to a managed node so that launch (or an external manager), not the node, drives it
NO_AUTOSTART = "--no-autostart"
CONTAINER = ("argos_bringup", "edge_container")
TRANSPORT_PROFILE = "fastdds_large_frames.xml"
# frames of several MB: kept in the heap instead of mapped and unmapped per frame (README, "Process models")
# the container's TLS options for a network metrics endpoint, from launch's environment
# (separate node processes read the same variables themselves)
METRICS_TLS = (
    ("--metrics-tls-cert", "ARGOS_METRICS_TLS_CERT"),
    ("--metrics-tls-key", "ARGOS_METRICS_TLS_KEY"),
    ("--metrics-client-ca", "ARGOS_METRICS_CLIENT_CA"),
)
FOXGLOVE_TLS = (
    ("--foxglove-tls-cert", "ARGOS_FOXGLOVE_TLS_CERT"),
    ("--foxglove-tls-key", "ARGOS_FOXGLOVE_TLS_KEY"),
)
MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=67108864"


def _flag(context, name: str) -> bool:
    value = LaunchConfiguration(name).perform(context).strip().lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError(f"launch argument {name}:={value!r}: expected true or false")
    return value in ("true", "1", "yes")


def _override_file(sections: dict, prefix: str) -> str:
    """Overrides as one more parameter file, under the same node keys as edge.yaml.

    A plain dict would reach the node under a different key (wildcard or fully qualified name)
    and ROS resolves the more specific key first, so `/**/bridge: redis_url: ""` in edge.yaml
    could win; with the same key, the later file wins."""
    handle = tempfile.NamedTemporaryFile("w", prefix=prefix, suffix=".yaml", delete=False)
    with handle:
        yaml.safe_dump(sections, handle)
    return handle.name


def _remove(paths: list) -> None:
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _drive(node) -> list:
    """configure the lifecycle node once its process runs, activate it once it is inactive."""

    def change(transition: int) -> EmitEvent:
        return EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(node), transition_id=transition))

    activate = RegisterEventHandler(
        OnStateTransition(
            target_lifecycle_node=node,
            goal_state="inactive",
            entities=[change(lifecycle_msgs.msg.Transition.TRANSITION_ACTIVATE)],
        )
    )
    return [activate, change(lifecycle_msgs.msg.Transition.TRANSITION_CONFIGURE)]


def _processes(context):
    share = get_package_share_directory("argos_bringup")
    config = LaunchConfiguration("config").perform(context)
    namespaces = [
        "/" + ns.strip().strip("/")
        for ns in LaunchConfiguration("namespaces").perform(context).split(",")
        if ns.strip()
    ]
    log_level = LaunchConfiguration("log_level").perform(context)
    composition, shared, respawn, autostart = (
        _flag(context, n) for n in ("composition", "shared_inference", "respawn", "autostart")
    )
    parameters = [config]
    actions = []
    overrides = {k: LaunchConfiguration(k).perform(context) for k in ("redis_url", "mqtt_url")}
    overrides = {k: v for k, v in overrides.items() if v}
    written: list = []  # override files, removed at shutdown
    if overrides:
        written.append(_override_file({"/**/bridge": {"ros__parameters": overrides}}, "argos_bridge_"))
        parameters.append(written[-1])
    actions.append(RegisterEventHandler(OnShutdown(on_shutdown=lambda _event, _context: _remove(written))))
    sim_time = {"use_sim_time": _flag(context, "use_sim_time")}
    common = {
        "parameters": [*parameters, sim_time],
        "output": "screen",
        "emulate_tty": True,
        "respawn": respawn,
        "respawn_delay": 2.0,
    }

    metrics_text = LaunchConfiguration("metrics_port").perform(context).strip()
    metrics_host = LaunchConfiguration("metrics_host").perform(context).strip()
    if metrics_text and not metrics_text.isdigit():
        raise ValueError(f"launch argument metrics_port:={metrics_text!r}: expected a port number")
    # one port per process, counted in the order the processes are made
    metrics_ports = iter(range(int(metrics_text), 65536)) if metrics_text else None
    foxglove_text = LaunchConfiguration("foxglove_port").perform(context).strip()
    foxglove_host = LaunchConfiguration("foxglove_host").perform(context).strip()
    if foxglove_text and not foxglove_text.isdigit():
        raise ValueError(f"launch argument foxglove_port:={foxglove_text!r}: expected a port number")
    foxglove_ports = iter(range(int(foxglove_text), 65536)) if foxglove_text else None

    if composition:
        package, executable = CONTAINER
        groups = [(None, namespaces)] if shared else [(ns, [ns]) for ns in namespaces]
        for namespace, members in groups:
            own = [a for ns in members for a in ("--namespace", ns)] + (["--shared-inference"] if shared else [])
            own += [] if autostart else [NO_AUTOSTART]
            if metrics_ports is not None:
                own += ["--metrics-port", str(next(metrics_ports)), "--metrics-host", metrics_host]
                own += [
                    a
                    for flag, variable in METRICS_TLS
                    if os.environ.get(variable)
                    for a in (flag, os.environ[variable])
                ]
            if foxglove_ports is not None:
                own += ["--foxglove", str(next(foxglove_ports)), "--foxglove-host", foxglove_host]
                own += [
                    a
                    for flag, variable in FOXGLOVE_TLS
                    if os.environ.get(variable)
                    for a in (flag, os.environ[variable])
                ]
            actions.append(
                Node(
                    package=package,
                    executable=executable,
                    namespace=namespace,
                    arguments=[*own, "--ros-args", "--log-level", log_level],
                    **common,
                )
            )
        return actions

    transport = {
        "FASTDDS_DEFAULT_PROFILES_FILE": os.path.join(share, "config", TRANSPORT_PROFILE),
        "GLIBC_TUNABLES": MALLOC_TUNABLES,
    }
    for namespace in namespaces:
        # a synthetic pole view: tracker and annotator count on and draw the lines of its image,
        # from a parameter file of their own (the container maps them itself, argos_bringup.view_geometry)
        view_files, note = override_files(parameters, namespace)
        if note:
            actions.append(LogInfo(msg=note))
        for package, executable, name in NODES:
            env = dict(transport)
            settings = dict(common)
            if name in view_files:
                written.append(_override_file(view_files[name], f"argos_{name}_"))
                settings["parameters"] = [*parameters, written[-1], sim_time]
            if metrics_ports is not None:
                env.update({"ARGOS_METRICS_PORT": str(next(metrics_ports)), "ARGOS_METRICS_HOST": metrics_host})
            if foxglove_ports is not None and name == "annotator":
                # the TLS variables, if any, reach the process from launch's own environment
                env.update({"ARGOS_FOXGLOVE_PORT": str(next(foxglove_ports)), "ARGOS_FOXGLOVE_HOST": foxglove_host})
            if name not in MANAGED:
                node = Node(
                    package=package,
                    executable=executable,
                    name=name,
                    namespace=namespace,
                    arguments=["--ros-args", "--log-level", log_level],
                    additional_env=env,
                    **settings,
                )
                actions.append(node)
            else:
                node = LifecycleNode(
                    package=package,
                    executable=executable,
                    name=name,
                    namespace=namespace,
                    arguments=[NO_AUTOSTART, "--ros-args", "--log-level", log_level],
                    additional_env=env,
                    **settings,
                )
                actions.append(node)
                if autostart:
                    actions += _drive(node)
            if name == "camera" and not respawn:
                # a file source at its end: the camera exits, and the graph ends with it
                ended = EmitEvent(event=Shutdown(reason=f"{namespace}/camera: source ended"))
                actions.append(RegisterEventHandler(OnProcessExit(target_action=node, on_exit=[ended])))
    return actions


def generate_launch_description():
    default_config = os.path.join(get_package_share_directory("argos_bringup"), "config", "edge.yaml")
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "config", default_value=default_config, description="ROS 2 parameter file for all ARGOS nodes"
            ),
            DeclareLaunchArgument(
                "namespaces",
                default_value="cam0",
                description="comma-separated camera namespaces; the graph starts in each",
            ),
            DeclareLaunchArgument(
                "composition",
                default_value="true",
                description="true: one composed process per camera; false: one process per node",
            ),
            DeclareLaunchArgument(
                "shared_inference",
                default_value="false",
                description="with composition: all cameras in one process, one batched detector",
            ),
            DeclareLaunchArgument("respawn", default_value="false", description="restart a process that exits"),
            DeclareLaunchArgument(
                "autostart",
                default_value="true",
                description="configure and activate the managed nodes (camera, inference, bridge); "
                "false: leave them unconfigured for an external lifecycle manager",
            ),
            DeclareLaunchArgument(
                "redis_url", default_value="", description="overrides bridge.redis_url (empty: the config's value)"
            ),
            DeclareLaunchArgument(
                "mqtt_url", default_value="", description="overrides bridge.mqtt_url (empty: the config's value)"
            ),
            DeclareLaunchArgument("log_level", default_value="info", description="ROS log level of every node"),
            DeclareLaunchArgument(
                "use_sim_time", default_value="false", description="nodes take time from /clock (bag play --clock)"
            ),
            DeclareLaunchArgument(
                "metrics_port",
                default_value="",
                description="Prometheus metrics: first process on this port, the next on +1, ... (empty: off)",
            ),
            DeclareLaunchArgument(
                "metrics_host",
                default_value="127.0.0.1",
                description="address the metrics endpoints bind (not loopback: mutual TLS only)",
            ),
            DeclareLaunchArgument(
                "foxglove_port",
                default_value="",
                description="Foxglove live view (WebSocket): first process on this port, the next on +1 (empty: off)",
            ),
            DeclareLaunchArgument(
                "foxglove_host",
                default_value="127.0.0.1",
                description="address the Foxglove servers bind (not loopback: wss:// only)",
            ),
            OpaqueFunction(function=_processes),
        ]
    )
