"""The bridge against a mosquitto TLS listener with a password file, certificates made here with
the openssl CLI: right settings connect; a wrong password or a wrong CA is a clear logged error,
paho keeps retrying, nothing crashes, messages wait in the spool, and no secret reaches the log."""

import logging
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from argos_bridge.bridge import Bridge
from argos_bringup.services import MosquittoServer
from argos_common.detections import Detections
from harness.pki import make_ca, make_cert

pytestmark = pytest.mark.integration

PASSWORD = "Tr0ub4dor-and-3"
WRONG_PASSWORD = "correct-horse-battery"
BOXES = Detections(np.array([[10, 20, 60, 80]]), [0.8], ["car"], ["5"])


@pytest.fixture(scope="module")
def pki():
    # not under pytest's tmp_path: its parent is private to root, and mosquitto reads these files
    # after dropping to the mosquitto user
    d = Path(tempfile.mkdtemp(prefix="argos-pki-"))
    make_ca(d, "ca")
    make_ca(d, "other_ca")
    make_cert(d, "server", "ca", "IP:127.0.0.1,DNS:localhost")
    make_cert(d, "client", "ca", "")
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(d / "passwd"), "argos", PASSWORD], check=True, capture_output=True
    )
    (d / "bridge_pw").write_text(PASSWORD + "\n")
    (d / "wrong_pw").write_text(WRONG_PASSWORD + "\n")
    d.chmod(0o755)
    for f in d.iterdir():
        f.chmod(0o644)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def tls_broker(pki):
    config = (
        f"cafile {pki}/ca.pem\ncertfile {pki}/server.pem\nkeyfile {pki}/server.key\n"
        f"require_certificate true\npassword_file {pki}/passwd\nallow_anonymous false\n"
    )
    with MosquittoServer(extra_config=config) as server:
        yield server


def tls_bridge(broker, pki, *, ca="ca.pem", password_file="bridge_pw", protocol="3.1.1") -> Bridge:
    return Bridge(
        {
            "mqtt_url": f"mqtts://127.0.0.1:{broker.port}",
            "redis_url": "redis://127.0.0.1:9/0",
            "redis_timeout_s": 0.05,
            "site": "s",
            "device": "d",
            "camera": "c",
            "mqtt_tls_ca_file": str(pki / ca),
            "mqtt_tls_cert_file": str(pki / "client.pem"),
            "mqtt_tls_key_file": str(pki / "client.key"),
            "mqtt_username": "argos",
            "mqtt_password_file": str(pki / password_file),
            "mqtt_protocol": protocol,
            "mqtt_reconnect_max_s": 0.5,
            "totals_interval_s": 600.0,
        }
    )


def wait_until(condition, timeout_s=10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def assert_no_secret(text):
    assert PASSWORD not in text and WRONG_PASSWORD not in text


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_right_ca_client_certificate_and_password_connect(tls_broker, pki, caplog, protocol):
    with caplog.at_level(logging.INFO):
        bridge = tls_bridge(tls_broker, pki, protocol=protocol)
        bridge.start()
        try:
            assert wait_until(lambda: bridge.stats()["mqtt_connected"] == 1)
            bridge.submit_count({"stamp_ns": time.time_ns(), "line_id": "w", "class_id": "car", "direction": "in"})
            # QoS 1: the broker acknowledged it (status + count)
            assert wait_until(lambda: bridge.stats()["mqtt_delivered"] >= 2)
        finally:
            bridge.close()
    assert "mqtt: connected to mqtts://127.0.0.1" in caplog.text
    assert_no_secret(caplog.text)


def test_wrong_password_is_a_clear_error_retried_without_crash(tls_broker, pki, caplog):
    with caplog.at_level(logging.INFO):
        bridge = tls_bridge(tls_broker, pki, password_file="wrong_pw")
        bridge.start()
        try:
            assert wait_until(lambda: "refused the connection" in caplog.text)
            bridge.submit_count({"stamp_ns": time.time_ns(), "line_id": "w", "class_id": "car", "direction": "in"})
            assert wait_until(lambda: bridge.stats()["mqtt_spooled"] == 1)
            time.sleep(1.5)  # several reconnect attempts
            stats = bridge.stats()
            assert stats["mqtt_connected"] == 0 and stats["mqtt_connects"] == 0 and stats["mqtt_spool_depth"] == 1
        finally:
            bridge.close()
    refusals = [r.getMessage() for r in caplog.records if "refused the connection" in r.getMessage()]
    assert "check mqtt_username and mqtt_password_file" in refusals[0]
    assert len(refusals) == 1  # once per outage, not once per retry
    assert_no_secret(caplog.text)


def test_wrong_ca_is_a_clear_tls_error_retried_without_crash(tls_broker, pki, caplog):
    with caplog.at_level(logging.INFO):
        bridge = tls_bridge(tls_broker, pki, ca="other_ca.pem")
        bridge.start()
        try:
            assert wait_until(lambda: "TLS handshake failed" in caplog.text)
            time.sleep(1.0)
            assert bridge.stats()["mqtt_connected"] == 0
            assert bridge._worker.is_alive()
        finally:
            bridge.close()
    (message,) = [r.getMessage() for r in caplog.records if "TLS handshake failed" in r.getMessage()]
    assert "certificate verify failed" in message and "mqtt_tls_ca_file" in message
    assert_no_secret(caplog.text)
