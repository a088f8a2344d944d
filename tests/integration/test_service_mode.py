"""`argos run` as a systemd service: runs until SIGTERM, speaks sd_notify (READY, a watchdog fed only
while frames flow, STOPPING), keeps its state (spool, Redis append-only file) in --state-dir, and the
shipped unit files and deploy config are what they claim."""

import configparser
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from argos_bringup.config import load_config
from argos_bringup.services import MosquittoServer
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
    assert service["RuntimeMaxSec"] and service["MemoryMax"]  # the bounds on the slow RSS growth (README)
    assert "redis-server.service" in edge["Unit"]["After"] and "mosquitto.service" in edge["Unit"]["After"]
    collector = configparser.ConfigParser(strict=False, interpolation=None)
    collector.read(REPO / "config" / "systemd" / "argos-collector.service")
    assert collector["Service"]["Restart"] == "always" and "argos-collector" in collector["Service"]["ExecStart"]
    cfg = load_config([REPO / "config" / "edge.yaml", REPO / "config" / "deploy.yaml"])
    assert cfg.node("bridge")["spool_dir"] == "/var/lib/argos/spool"  # the spool survives a restart


class CountsSession:
    """An independent subscriber with a persistent QoS 1 session: the broker keeps what arrives for
    it while it is away, so every count the unit delivers reaches it exactly once or more."""

    def __init__(self, port: int):
        import paho.mqtt.client as mqtt

        self.counts: set[tuple[int, int]] = set()
        self.subscribed = threading.Event()  # the broker holds the subscription (SUBACK) for the session
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"restart-{port}", clean_session=False)
        self.client.on_connect = lambda c, *_: c.subscribe("argos/+/+/+/counts", qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _client, _userdata, msg) -> None:
        body = json.loads(msg.payload)
        self.counts.add((body["stamp_ns"], body["count_seq"]))  # count_seq restarts with the unit

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _unit(configs: list[Path], summary: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [shutil.which("argos"), "run", "--quiet", "--duration", "0", "--summary", str(summary)]
        + [a for c in configs for a in ("--config", str(c))],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _stop(unit: subprocess.Popen) -> str:
    unit.send_signal(signal.SIGTERM)
    out, _ = unit.communicate(timeout=60)
    assert unit.returncode == 0 and "Traceback" not in out, out[-3000:]
    return out


def test_a_restart_during_a_broker_outage_loses_nothing_with_the_deploy_config(tmp_path, redis_server):
    broker = MosquittoServer(workdir=tmp_path / "mosquitto", persistent=True).start()
    session = CountsSession(broker.port)
    try:
        assert session.subscribed.wait(20), "the subscriber never got its SUBACK"
        broker.stop()  # the outage: from before the unit starts until after its restart
        site = tmp_path / "site.yaml"  # what a site changes in deploy.yaml: its servers and its disk
        site.write_text(
            "/**/bridge:\n  ros__parameters:\n"
            f'    redis_url: "{redis_server.url}"\n    mqtt_url: "{broker.url}"\n'
            f'    spool_dir: "{tmp_path / "spool"}"\n    mqtt_reconnect_max_s: 1.0\n'
        )
        configs = [REPO / "config" / "edge.yaml", REPO / "config" / "deploy.yaml", site]
        made, restarted_ns = [], 0
        for run in (1, 2):
            summary = tmp_path / f"summary{run}.json"
            restarted_ns = time.time_ns()
            unit = _unit(configs, summary)
            try:
                time.sleep(20.0)  # the synthetic scene makes its first counts within ~15 s
                if run == 2:
                    broker.start()  # the outage ends while the restarted unit runs
                    deadline = time.monotonic() + 30
                    while time.monotonic() < deadline and len(session.counts) < made[0]:
                        time.sleep(0.5)
                    time.sleep(5.0)  # what the restarted unit spooled follows
                _stop(unit)
            finally:
                if unit.poll() is None:
                    unit.kill()
            result = json.loads(summary.read_text())
            assert not any(result["losses"].values()), result["losses"]
            made.append(int(result["nodes"]["bridge"]["counts"]))
        assert made[0] > 0, "the first run made no counts to lose"
        time.sleep(2.0)
        before_restart = {c for c in session.counts if c[0] < restarted_ns}
        assert len(before_restart) == made[0], "counts spooled by the first run were lost in the restart"
        assert len(session.counts) == sum(made), (made, sorted(session.counts))
    finally:
        session.close()
        broker.stop()
