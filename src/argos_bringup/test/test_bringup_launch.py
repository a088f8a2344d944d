"""launch/edge.launch.py must use only the launch / launch_ros API (it runs on a full ROS 2
install; launch_ros cannot be installed here) and start the same four nodes as `argos run`."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
LAUNCH = REPO / "launch" / "edge.launch.py"
ALLOWED_TOP_LEVEL = {
    "launch",
    "launch_ros",
    "lifecycle_msgs",
    "ament_index_python",
    "os",
    "tempfile",
    "yaml",
    "argos_bringup",
}


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


def test_launch_file_and_process_launcher_name_the_same_processes():
    """edge.launch.py (launch_ros) and argos_bringup.processes (benchmarks, tests) must start the
    same executables with the same transport settings."""
    from argos_bringup import processes

    tree = ast.parse(LAUNCH.read_text())
    assigned = {
        t.id: ast.literal_eval(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name)
        and t.id in ("NODES", "CONTAINER", "TRANSPORT_PROFILE", "MALLOC_TUNABLES", "METRICS_TLS", "FOXGLOVE_TLS")
    }
    assert assigned["NODES"] == processes.NODES
    assert assigned["CONTAINER"] == processes.CONTAINER
    assert assigned["TRANSPORT_PROFILE"] == processes.TRANSPORT_PROFILE
    assert assigned["MALLOC_TUNABLES"] == processes.MALLOC_TUNABLES
    assert assigned["METRICS_TLS"] == processes.METRICS_TLS
    assert assigned["FOXGLOVE_TLS"] == processes.FOXGLOVE_TLS
    assert (REPO / "config" / processes.TRANSPORT_PROFILE).is_file()
    setup = (REPO / "src" / "argos_bringup" / "setup.py").read_text()
    assert '("lib/" + package_name, ["scripts/edge_container"])' in setup
    script = REPO / "src" / "argos_bringup" / "scripts" / "edge_container"
    assert script.stat().st_mode & 0o111 and "from argos_bringup.container import main" in script.read_text()
    defaults = {
        n.args[0].value: n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "DeclareLaunchArgument"
    }
    composition = next(k.value.value for k in defaults["composition"].keywords if k.arg == "default_value")
    assert composition == "true"  # the composed container is the default
    metrics = next(k.value.value for k in defaults["metrics_port"].keywords if k.arg == "default_value")
    host = next(k.value.value for k in defaults["metrics_host"].keywords if k.arg == "default_value")
    assert metrics == "" and host == "127.0.0.1"  # no endpoint unless asked, and then on loopback
    foxglove = next(k.value.value for k in defaults["foxglove_port"].keywords if k.arg == "default_value")
    host = next(k.value.value for k in defaults["foxglove_host"].keywords if k.arg == "default_value")
    assert foxglove == "" and host == "127.0.0.1"  # no live view unless asked, and then on loopback


def test_container_reads_launch_arguments():
    from argos_bringup.container import launch_settings, split_ros_args

    own, ros = split_ros_args(
        [
            "--shared-inference",
            "--ros-args",
            "-r",
            "__ns:=/cam3",
            "--params-file",
            "a.yaml",
            "-r",
            "image:=/x",
            "--log-level",
            "warn",
            "--",
            "--ros-args",
            "--params-file",
            "b.yaml",
        ]
    )
    assert own == ["--shared-inference"]
    files, namespace, rest = launch_settings(ros)
    assert files == ["a.yaml", "b.yaml"] and namespace == "/cam3"
    assert rest == ["--params-file", "a.yaml", "-r", "image:=/x", "--log-level", "warn", "--params-file", "b.yaml"]


def test_metrics_ports_count_up_one_per_process(monkeypatch):
    from argos_bringup import container, processes

    monkeypatch.setattr(processes, "executable", lambda package, name: f"/x/{name}")
    monkeypatch.setattr(processes, "transport_env", dict)
    separate = processes.GraphProcesses("separate", "/cam0", ["a.yaml"], metrics_port=9200).commands()
    assert [env["ARGOS_METRICS_PORT"] for _n, _argv, env in separate] == ["9200", "9201", "9202", "9203", "9204"]
    monkeypatch.setenv("ARGOS_METRICS_TLS_CERT", "/c.pem")
    ((_name, argv, _env),) = processes.GraphProcesses("composed", "/cam0", ["a.yaml"], metrics_port=9200).commands()
    own, _ros = container.split_ros_args(argv[1:])
    args = container.build_parser().parse_args(own)
    assert (args.metrics_port, args.metrics_host, args.metrics_tls_cert) == (9200, "127.0.0.1", "/c.pem")


def test_launch_file_manages_the_lifecycle_nodes():
    """composition:=false: camera, inference and bridge are launch_ros LifecycleNodes that launch
    configures and then activates (autostart:=true, the default) or leaves to an external manager;
    the container gets the same choice as a flag its parser knows."""
    from argos_bringup.container import build_parser

    tree = ast.parse(LAUNCH.read_text())
    assigned = {
        t.id: ast.literal_eval(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name) and t.id in ("MANAGED", "NO_AUTOSTART")
    }
    assert assigned["MANAGED"] == ("camera", "inference", "bridge")
    assert build_parser().parse_args([assigned["NO_AUTOSTART"]]).no_autostart
    from argos_common.ros.node_main import NO_AUTOSTART

    assert assigned["NO_AUTOSTART"] == NO_AUTOSTART
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    names = {getattr(c.func, "id", getattr(c.func, "attr", "")) for c in calls}
    assert {"LifecycleNode", "ChangeState", "OnStateTransition", "matches_action"} <= names
    transitions = {a.attr for a in ast.walk(tree) if isinstance(a, ast.Attribute) and a.attr.startswith("TRANSITION_")}
    assert transitions == {"TRANSITION_CONFIGURE", "TRANSITION_ACTIVATE"}
    handler = next(c for c in calls if getattr(c.func, "id", "") == "OnStateTransition")
    goal = next(k.value.value for k in handler.keywords if k.arg == "goal_state")
    assert goal == "inactive"  # activate once configured
    defaults = {
        n.args[0].value: n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "DeclareLaunchArgument"
    }
    autostart = next(k.value.value for k in defaults["autostart"].keywords if k.arg == "default_value")
    assert autostart == "true"
