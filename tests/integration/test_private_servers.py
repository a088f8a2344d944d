"""The private servers a unit runs with --state-dir keep what they promise across a restart."""

import threading

import paho.mqtt.client as mqtt
import pytest

from argos_bringup.services import MosquittoServer

pytestmark = pytest.mark.integration


def _client(port: int, client_id: str, clean: bool, on_message=None) -> tuple[mqtt.Client, threading.Event]:
    subscribed = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
    client.on_subscribe = lambda *_: subscribed.set()
    if on_message is not None:
        client.on_connect = lambda c, *_: c.subscribe("unit/counts", qos=1)
        client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client, subscribed


def test_a_persistent_broker_keeps_an_offline_session_and_its_messages_across_a_restart(tmp_path):
    broker = MosquittoServer(workdir=tmp_path / "mosquitto", persistent=True).start()
    got: list[bytes] = []
    arrived = threading.Event()

    def on_message(_c, _u, msg):
        got.append(msg.payload)
        arrived.set()

    try:
        subscriber, subscribed = _client(broker.port, "dashboard", clean=False, on_message=on_message)
        assert subscribed.wait(10)
        subscriber.disconnect()
        subscriber.loop_stop()
        publisher, _ = _client(broker.port, "unit", clean=True)
        publisher.publish("unit/counts", b"count 1", qos=1).wait_for_publish(10)
        publisher.disconnect()
        publisher.loop_stop()
        broker.stop()  # SIGTERM: mosquitto saves its sessions and queued messages
        log = (broker.workdir / "mosquitto.log").read_text()
        assert "Error saving" not in log, log
        broker.start()
        subscriber, _ = _client(broker.port, "dashboard", clean=False, on_message=on_message)
        assert arrived.wait(10), "the queued message did not survive the broker's restart"
        assert got == [b"count 1"]
        subscriber.disconnect()
        subscriber.loop_stop()
    finally:
        broker.stop()
