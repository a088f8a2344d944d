"""Shared fixtures: real redis-server and mosquitto on free loopback ports, one per test.

Each test session gets its own ROS domain and localhost-only discovery, so parallel runs on one
machine (or a developer's running graph) never see each other's topics.
"""

import os
import random

import pytest

os.environ.setdefault("ROS_DOMAIN_ID", str(random.SystemRandom().randint(1, 101)))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

from argos_bringup.services import MosquittoServer, RedisServer  # noqa: E402


@pytest.fixture
def redis_server():
    with RedisServer() as server:
        yield server


@pytest.fixture
def mqtt_broker():
    with MosquittoServer() as server:
        yield server


def _isolated_ros_context():
    import rclpy
    from rclpy.context import Context

    context = Context()
    rclpy.init(context=context)
    try:
        yield context
    finally:
        rclpy.shutdown(context=context)


# An rclpy context per test, so nodes of one test never see another's (`ctx` and `ros_context`
# are the same fixture under the two names the test files use).
ctx = pytest.fixture(_isolated_ros_context, name="ctx")
ros_context = pytest.fixture(_isolated_ros_context, name="ros_context")
