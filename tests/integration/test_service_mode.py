"""`argos run` as a systemd service: runs until SIGTERM, speaks sd_notify (READY, a watchdog fed only
while frames flow, STOPPING), keeps its state (spool, Redis append-only file) in --state-dir, and the
shipped unit files and deploy config are what they claim."""

import configparser
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from argos_bringup.config import load_config
from argos_common.endpoints import free_port

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


class NotifySocket:
    def __init__(self, folder: Path):
        self.path = folder / "notify.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.sock.settimeout(0.2)
        self.messages: list[str] = []

    def drain(self) -> list[str]:
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except TimeoutError:
                return self.messages


def start(tmp_path, notify, *args):
    env = {**os.environ, "NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "1000000"}
    env.pop("WATCHDOG_PID", None)
    return subprocess.Popen(
        [shutil.which("argos"), "run", "--quiet", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_service_runs_until_sigterm_feeds_the_watchdog_and_keeps_its_state(tmp_path):
    notify = NotifySocket(tmp_path)
    state = tmp_path / "state"
    run = start(tmp_path, notify, "--duration", "0", "--state-dir", str(state))
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and sum(m == "WATCHDOG=1" for m in notify.drain()) < 3:
            assert run.poll() is None, run.stdout.read()
        time.sleep(1.0)
        run.send_signal(signal.SIGTERM)
        out, _ = run.communicate(timeout=40)
    finally:
        if run.poll() is None:
            run.kill()
    messages = notify.drain()
    assert run.returncode == 0 and "Traceback" not in out, out[-3000:]
    assert messages[0].startswith("READY=1") and messages.count("WATCHDOG=1") >= 3 and "STOPPING=1" in messages
    assert (state / "redis" / "appendonlydir").is_dir()  # the private Redis kept its append-only file
    assert (state / "spool").is_dir() and list((state / "spool").glob("*.sqlite3"))


def test_no_frames_no_watchdog(tmp_path):
    notify = NotifySocket(tmp_path)
    dead = f"rtsp://127.0.0.1:{free_port()}/camera"  # nothing listens: the camera keeps reconnecting
    run = start(tmp_path, notify, "--duration", "6", "--source", dead)
    out, _ = run.communicate(timeout=60)
    messages = notify.drain()
    assert any(m.startswith("READY=1") for m in messages), (messages, out[-2000:])
    assert "WATCHDOG=1" not in messages  # systemd would restart this unit


def test_shipped_units_and_deploy_config():
    edge = configparser.ConfigParser(strict=False, interpolation=None)
    edge.read(REPO / "config" / "systemd" / "argos-edge.service")
    service = edge["Service"]
    assert service["Type"] == "notify" and service["Restart"] == "always" and int(service["WatchdogSec"]) > 0
    assert "--duration 0" in service["ExecStart"] and "--state-dir /var/lib/argos" in service["ExecStart"]
    assert "redis-server.service" in edge["Unit"]["After"] and "mosquitto.service" in edge["Unit"]["After"]
    collector = configparser.ConfigParser(strict=False, interpolation=None)
    collector.read(REPO / "config" / "systemd" / "argos-collector.service")
    assert collector["Service"]["Restart"] == "always" and "argos-collector" in collector["Service"]["ExecStart"]
    cfg = load_config([REPO / "config" / "edge.yaml", REPO / "config" / "deploy.yaml"])
    assert cfg.node("bridge")["spool_dir"] == "/var/lib/argos/spool"  # the spool survives a restart
