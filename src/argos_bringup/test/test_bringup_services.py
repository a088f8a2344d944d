"""Private servers die with the process that started them, however it dies."""

import os
import signal
import subprocess
import sys
import time

PROGRAM = """
import sys, time
from argos_bringup.services import RedisServer
server = RedisServer().start()
print(server.proc.pid, flush=True)
time.sleep(60)
"""


def test_private_server_does_not_outlive_a_killed_parent():
    parent = subprocess.Popen([sys.executable, "-c", PROGRAM], stdout=subprocess.PIPE, text=True)
    child_pid = int(parent.stdout.readline())
    os.kill(child_pid, 0)  # running
    parent.kill()  # SIGKILL: no cleanup code runs in the parent
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(child_pid, signal.SIGKILL)
    raise AssertionError("redis-server outlived its killed parent")
