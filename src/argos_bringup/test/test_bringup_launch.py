"""launch/edge.launch.py must use only the launch / launch_ros API (it runs on a full ROS 2
install; launch_ros cannot be installed here) and start the same four nodes as `argos run`."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
LAUNCH = REPO / "launch" / "edge.launch.py"
ALLOWED_TOP_LEVEL = {"launch", "launch_ros", "ament_index_python", "os", "tempfile", "yaml"}


def _imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield node.module


def test_launch_file_imports_only_launch_api():
    tree = ast.parse(LAUNCH.read_text())
    assert {m.split(".")[0] for m in _imports(tree)} <= ALLOWED_TOP_LEVEL
    assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in tree.body)


def test_launch_file_starts_the_installed_node_executables():
    source = LAUNCH.read_text()
    for package, executable, module in (
        ("argos_camera", "camera_node", "node"),
        ("argos_inference", "inference_node", "node"),
        ("argos_tracker", "tracker_node", "node"),
        ("argos_bridge", "bridge_node", "node"),
        ("argos_camera", "annotator_node", "annotator_node"),
    ):
        assert f'"{package}", "{executable}"' in source
        setup = (REPO / "src" / package / "setup.py").read_text()
        assert f"{executable} = {package}.{module}:main" in setup
