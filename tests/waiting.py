"""Polling helpers the integration tests share (condition checks with a deadline, never a sleep
that hopes it was long enough)."""

import time


def wait_until(condition, timeout_s=8.0, interval_s=0.02) -> bool:
    """Poll `condition()` until it holds or `timeout_s` passes; its final value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval_s)
    return condition()


def spin_until(executor, condition, timeout_s=5.0) -> bool:
    """Spin an rclpy executor until `condition()` holds or `timeout_s` passes; its final value."""
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    return condition()
