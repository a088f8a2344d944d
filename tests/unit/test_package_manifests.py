"""Every package says what it needs: each module a package imports (at any depth, lazily or not)
is declared in its package.xml, with a rosdep key where one exists; no package imports one that
depends on it; the ROS-free cores import without rclpy. Fails the moment a new import lands
without its manifest line, so the lists cannot rot."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

# import name -> rosdep key (or package name). Keys ending in -pip are rosdep's pip keys.
ROSDEP_KEYS = {
    "numpy": "python3-numpy",
    "cv2": "python3-opencv",
    "yaml": "python3-yaml",
    "scipy": "python3-scipy",
    "filterpy": "python3-filterpy-pip",
    "redis": "python3-redis",
    "paho": "python3-paho-mqtt",
    "rich": "python3-rich",
    "gi": "python3-gi",
    "pandas": "python3-pandas",
    "onnxruntime": "python3-onnxruntime-pip",
    "rosbags": "python3-rosbags-pip",
    "supervision": "python3-supervision-pip",
    "pytest": "python3-pytest",
    "prometheus_client": "python3-prometheus-client",
    "foxglove": "python3-foxglove-sdk-pip",
}
# no rosdep key: the package.xml names them anyway (rosdep install ... --skip-keys, see README),
# and requirements.txt pins them for pip
NO_ROSDEP_KEY = {"onnx": "onnx", "motmetrics": "motmetrics", "trackers": "trackers", "trackeval": "trackeval"}
# provided by the platform (JetPack on a Jetson), never installed by us: only the TensorRT engine
# imports them, lazily, and says so when they are missing
PLATFORM = {"tensorrt", "cuda"}
ROS_PACKAGES = {"rclpy", "ament_index_python", "launch", "launch_ros"}
# declared without being imported: what rosidl-generated code and colcon need at run time
RUNTIME_ONLY = {"rosidl_default_runtime"}


def manifests() -> dict[str, ET.Element]:
    return {p.parent.name: ET.parse(p).getroot() for p in sorted(SRC.glob("*/package.xml"))}


def declared(root: ET.Element, tags=("depend", "exec_depend", "build_export_depend")) -> set[str]:
    return {e.text.strip() for tag in tags for e in root.iter(tag) if e.text}


def python_files(package: str, folder: str) -> list[Path]:
    return sorted((SRC / package / folder).rglob("*.py"))


def top_level_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def message_dependencies(package: str) -> set[str]:
    """Packages whose types the package's .msg definitions use (`std_msgs/Header header`)."""
    used = set()
    for definition in (SRC / package).glob("msg/*.msg"):
        for line in definition.read_text().splitlines():
            field_type = line.split("#", 1)[0].split()[:1]
            if field_type and "/" in field_type[0]:
                used.add(field_type[0].split("/")[0])
    return used


def required_keys(imports: set[str], own: str) -> set[str]:
    local = {p.name for p in SRC.iterdir() if (p / "package.xml").is_file()}
    keys = set()
    for name in imports - set(sys.stdlib_module_names) - PLATFORM - {own, "__future__", "setuptools"}:
        if name in local or name.endswith(("_msgs", "_interfaces")) or name in ROS_PACKAGES:
            keys.add(name)
        elif name in ROSDEP_KEYS:
            keys.add(ROSDEP_KEYS[name])
        elif name in NO_ROSDEP_KEY:
            keys.add(NO_ROSDEP_KEY[name])
        else:
            keys.add(f"<unmapped import {name!r}: add it to ROSDEP_KEYS or NO_ROSDEP_KEY>")
    return keys


@pytest.mark.parametrize("package", sorted(manifests()))
def test_package_xml_declares_every_import(package):
    root = manifests()[package]
    assert root.findtext("name") == package
    code = python_files(package, package) + sorted((SRC / package / "launch").glob("*.py"))
    missing = {}
    for path in code:
        for key in required_keys(top_level_imports(path), package) - declared(root):
            missing.setdefault(key, []).append(str(path.relative_to(SRC)))
    tests = python_files(package, "test")
    helpers = {p.stem for p in tests}  # a test's helper module beside it is no dependency
    test_keys = (
        set().union(*(required_keys(top_level_imports(p) - helpers, package) for p in tests)) if tests else set()
    )
    untested = test_keys - declared(root) - declared(root, ("test_depend",))
    for key in untested:
        missing.setdefault(f"{key} (test_depend)", []).append("test/")
    assert not missing, f"{package}/package.xml lacks: {missing}"
    used = set().union(*(required_keys(top_level_imports(p), package) for p in code)) if code else set()
    used |= message_dependencies(package)
    unused = declared(root, ("exec_depend", "depend")) - used - RUNTIME_ONLY
    assert not unused, f"{package}/package.xml declares what its code never imports: {sorted(unused)}"


def test_no_package_imports_one_that_depends_on_it():
    deps = {name: {d for d in declared(root) if d in manifests()} for name, root in manifests().items()}

    def reaches(start: str, goal: str, seen=()) -> bool:
        return any(d == goal or (d not in seen and reaches(d, goal, (*seen, d))) for d in deps[start])

    cycles = sorted(name for name in deps if reaches(name, name))
    assert not cycles, f"dependency cycle through {cycles}: {deps}"
    for name in deps:
        for dep in deps[name]:
            assert name not in deps[dep], f"{name} and {dep} depend on each other"


@pytest.mark.parametrize("package", ["argos_interfaces"])
def test_interface_package_holds_only_messages(package):
    assert not list((SRC / package).rglob("*.py")), "argos_interfaces keeps only message definitions"


ROS_FREE = {
    # package: modules that must import without rclpy or any ROS message package
    "argos_common": "*",
    "argos_sim": "*",
    "argos_collector": "*",
    "argos_camera": [
        "annotate",
        "backoff",
        "calibration",
        "capture",
        "file_source",
        "foxglove_out",
        "gst_runtime",
        "gst_source",
        "image_folder",
        "params",
        "pipelines",
        "publish_policy",
        "source_types",
        "sources",
    ],
    "argos_inference": [
        "class_map",
        "decoders",
        "dnn",
        "dnn_builder",
        "engine",
        "factory",
        "model_metadata",
        "motion",
        "onnx_model",
        "ort_engine",
        "params",
        "postprocess",
        "preprocess",
        "quantize",
    ],
    "argos_tracker": [
        "association",
        "counting",
        "ground_plane",
        "motion_model",
        "params",
        "pipeline",
        "tracker",
        "zones",
    ],
    "argos_bridge": ["bridge", "mqtt_security", "mqtt_sink", "params", "redis_sink", "schema", "spool"],
}


def ros_free_modules() -> list[str]:
    modules = []
    for package, names in ROS_FREE.items():
        if names == "*":
            names = [
                ".".join(p.relative_to(SRC / package / package).with_suffix("").parts)
                for p in python_files(package, package)
                if "ros" not in p.relative_to(SRC / package).parts[1:-1]
            ]
            names = [n.removesuffix("__init__").rstrip(".") for n in names]
        modules += [f"{package}.{n}" if n else package for n in names]
    return modules


def test_ros_free_cores_import_without_rclpy():
    """In a fresh interpreter that refuses rclpy, launch and every ROS message package."""
    script = textwrap.dedent(f"""
        import importlib, importlib.abc, sys
        ROS = ("rclpy", "rcl_interfaces", "launch", "launch_ros", "builtin_interfaces", "std_msgs",
               "sensor_msgs", "vision_msgs", "diagnostic_msgs", "rosgraph_msgs", "argos_interfaces")
        class Refuse(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ROS:
                    raise ImportError(f"ROS module {{name}} imported by a ROS-free core")
        sys.meta_path.insert(0, Refuse())
        for module in {ros_free_modules()!r}:
            importlib.import_module(module)
        print("ok", len({ros_free_modules()!r}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("ok"), done.stderr[-3000:]
