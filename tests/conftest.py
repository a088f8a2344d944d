"""Shared fixtures: real redis-server and mosquitto on free loopback ports, one per test."""
import pytest

from argos_bringup.services import MosquittoServer, RedisServer


@pytest.fixture
def redis_server():
    with RedisServer() as server:
        yield server


@pytest.fixture
def mqtt_broker():
    with MosquittoServer() as server:
        yield server
