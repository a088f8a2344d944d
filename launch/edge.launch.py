"""ARGOS edge, one camera, one process per node (launch_ros on a full ROS 2 install).

    ros2 launch argos_bringup edge.launch.py [config:=/path/edge.yaml] [namespaces:=cam0,cam1] \
        [redis_url:=redis://host:6379/0] [mqtt_url:=mqtt://host:1883] [log_level:=info]

Every node reads the same parameter file as `argos run`: `/**/<node>` sections apply to every
camera, `/<camera>/<node>` sections to one. The nodes start once per camera namespace. In separate processes the camera
publishes camera/image_raw (inference subscribes to it), instead of the composed graph's
in-process hand-off.
"""

import os
import tempfile

import yaml
from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription

NODES = (
    # package, executable, node name
    ("argos_camera", "camera_node", "camera"),
    ("argos_inference", "inference_node", "inference"),
    ("argos_tracker", "tracker_node", "tracker"),
    ("argos_bridge", "bridge_node", "bridge"),
    ("argos_camera", "annotator_node", "annotator"),
)


def _override_file(node: str, values: dict) -> str:
    """Overrides as a second parameter file under the same `/**/<node>` key as edge.yaml.

    A plain dict would reach the node under a different key (wildcard or fully qualified name)
    and ROS resolves the more specific key first, so `/**/bridge: redis_url: ""` in edge.yaml
    could win; with the same key, the later file wins."""
    handle = tempfile.NamedTemporaryFile("w", prefix=f"argos_{node}_", suffix=".yaml", delete=False)
    with handle:
        yaml.safe_dump({f"/**/{node}": {"ros__parameters": values}}, handle)
    return handle.name


def _nodes(context):
    config = LaunchConfiguration("config").perform(context)
    namespaces = [
        ns.strip().strip("/") for ns in LaunchConfiguration("namespaces").perform(context).split(",") if ns.strip()
    ]
    log_level = LaunchConfiguration("log_level").perform(context)
    bridge_overrides = {}
    for key in ("redis_url", "mqtt_url"):
        value = LaunchConfiguration(key).perform(context)
        if value:
            bridge_overrides[key] = value
    actions = []
    for namespace in namespaces:
        for package, executable, name in NODES:
            parameters = [config]
            if name == "bridge" and bridge_overrides:
                parameters.append(_override_file("bridge", bridge_overrides))
            actions.append(_node(package, executable, name, namespace, parameters, log_level))
    return actions


def _node(package, executable, name, namespace, parameters, log_level):
    return Node(
        package=package,
        executable=executable,
        name=name,
        namespace=namespace,
        parameters=parameters,
        arguments=["--ros-args", "--log-level", log_level],
        output="screen",
        emulate_tty=True,
    )


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
                description="comma-separated camera namespaces; the nodes start in each",
            ),
            DeclareLaunchArgument(
                "redis_url", default_value="", description="overrides bridge.redis_url (empty: the config's value)"
            ),
            DeclareLaunchArgument(
                "mqtt_url", default_value="", description="overrides bridge.mqtt_url (empty: the config's value)"
            ),
            DeclareLaunchArgument("log_level", default_value="info", description="ROS log level of every node"),
            OpaqueFunction(function=_nodes),
        ]
    )
