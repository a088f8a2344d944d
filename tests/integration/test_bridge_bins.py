"""Interval bins through the bridge core with a real redis-server and mosquitto: a bin is
published on Redis and MQTT when it closes, again with the next revision after a late event,
and a restart resumes the open bin from the Redis stream."""

import json
import time

import pytest
import redis

from argos_bridge.bridge import Bridge
from argos_common.bins import bin_start_ns
from argos_common.movements import MovementRecord
from harness.mqtt_tap import MqttTap
from waiting import wait_until

pytestmark = pytest.mark.integration

S = 1_000_000_000
MIN = 60 * S


class Clock:
    def __init__(self, now_ns):
        self.now_ns = now_ns

    def __call__(self):
        return self.now_ns


def movement(entered_ns, name="west->east", track="1"):
    from_line, to_line = name.split("->")
    return MovementRecord(
        name, from_line, "eastbound", to_line, "eastbound", "car", entered_ns, entered_ns + 5 * S, track
    )


def bridge_at(clock, redis_server, mqtt_broker):
    params = {"redis_url": redis_server.url, "mqtt_url": mqtt_broker.url, "site": "s", "device": "d", "camera": "c"}
    return Bridge({**params, "totals_interval_s": 600.0, "bins.close_delay_s": 30.0}, clock_ns=clock)


def bins_in(client):
    return [json.loads(f["payload"]) for _, f in client.xrange("argos:s:d:c") if f["type"] == "bin"]


def test_restart_resumes_the_open_bin_and_a_late_event_revises_a_published_one(redis_server, mqtt_broker):
    # a clock 20 minutes behind the server's: the stream ids (server time) are all "since" it
    base = bin_start_ns(time.time_ns() - 20 * MIN, 15 * MIN)
    clock = Clock(base + 5 * MIN)
    tap = MqttTap(mqtt_broker.url, ["argos/+/+/+/movements", "argos/+/+/+/bins"]).start()
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    first = bridge_at(clock, redis_server, mqtt_broker)
    first.start()
    first.submit_movement(movement(base + 4 * MIN, track="1"))
    first.submit_movement(movement(base + 4 * MIN + 10 * S, "west->south", track="2"))
    first.submit_count(
        {"stamp_ns": base + 4 * MIN, "line_id": "west", "lane": "eastbound", "class_id": "car", "direction": "in"}
    )
    first.close()
    assert bins_in(client) == []  # the open bin is not published at close

    clock.now_ns = base + 6 * MIN
    second = bridge_at(clock, redis_server, mqtt_broker)
    second.start()
    assert wait_until(lambda: second.stats()["bins_resumed_events"] == 3)
    second.submit_movement(movement(base + 5 * MIN + 30 * S, track="3"))
    assert wait_until(lambda: second.open_bin_matrix() == {"west->east car": 2, "west->south car": 1}, 5.0)
    clock.now_ns = base + 15 * MIN + 31 * S
    assert wait_until(lambda: len(bins_in(client)) == 1, 5.0)
    (published,) = bins_in(client)
    assert (published["bin_start_ns"], published["interval_min"], published["revision"]) == (base, 15, 1)
    assert published["total_movements"] == 3
    assert {(r["movement"], r["count"]) for r in published["movements"]} == {("west->east", 2), ("west->south", 1)}
    assert published["lines"] == [
        {"line_id": "west", "lane": "eastbound", "direction": "in", "class_id": "car", "classID": 1, "count": 1}
    ]
    # a vehicle that entered at :14:50 leaves after the bin went out: revision 2
    second.submit_movement(movement(base + 14 * MIN + 50 * S, track="4"))
    assert wait_until(lambda: len(bins_in(client)) == 2, 5.0)
    revised = bins_in(client)[-1]
    assert (revised["bin_start_ns"], revised["revision"], revised["total_movements"]) == (base, 2, 4)
    second.close()

    # a third start finds both revisions and republishes nothing
    third = bridge_at(clock, redis_server, mqtt_broker)
    third.start()
    assert wait_until(lambda: third.stats()["bins_resumed_events"] == 5)
    time.sleep(1.5)
    third.close()
    assert len(bins_in(client)) == 2
    # MQTT carried the same: four movement events and two bin revisions
    assert wait_until(lambda: len(tap.messages("/bins")) == 2, 5.0)
    assert [m.json()["revision"] for m in tap.messages("/bins")] == [1, 2]
    moves = [m.json() for m in tap.messages("/movements")]
    assert [m["track_id"] for m in moves] == ["1", "2", "3", "4"]
    assert moves[0]["bin_start"].endswith(":00.000Z") and moves[0]["entered_ns"] == base + 4 * MIN
    tap.close()
