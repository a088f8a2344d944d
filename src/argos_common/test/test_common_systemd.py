"""sd_notify and the frames-flow watchdog, against a real datagram socket (the protocol systemd reads)."""

import socket

from argos_common.systemd import Watchdog, notify


def listen(tmp_path, monkeypatch, watchdog_usec="2000000"):
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", watchdog_usec)
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    return sock


def received(sock) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(1024).decode())
        except BlockingIOError:
            return out


def test_notify_is_a_no_op_outside_systemd(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify("READY=1") is False


def test_watchdog_is_fed_at_half_its_period_only_while_progress_grows(tmp_path, monkeypatch):
    sock = listen(tmp_path, monkeypatch)
    now = [0.0]
    dog = Watchdog(clock=lambda: now[0])
    assert dog.interval_s == 2.0
    frames = 0
    for _ in range(10):  # 10 s of frames flowing, polled every 0.5 s
        for _ in range(2):
            frames += 7
            dog.poll(frames)
            now[0] += 0.5
    assert received(sock).count("WATCHDOG=1") == dog.fed == 9  # every 1 s (half of 2 s), after the first look
    for _ in range(4):  # the frames of the last half-period still count once
        dog.poll(frames)
        now[0] += 0.5
    assert received(sock) == ["WATCHDOG=1"]
    for _ in range(20):  # then 10 s without a new frame: no feeding, systemd is left to restart the unit
        dog.poll(frames)
        now[0] += 0.5
    assert received(sock) == []


def test_a_listener_that_stopped_reading_never_blocks(tmp_path, monkeypatch):
    sock = listen(tmp_path, monkeypatch)
    for _ in range(500):  # far beyond the socket's queue: every call returns at once
        notify("WATCHDOG=1")
    assert len(received(sock)) > 0
