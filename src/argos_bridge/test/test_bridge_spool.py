"""The on-disk spool: order, bounds with oldest-drop, survival across reopen, removal by seq."""

import pytest

from argos_bridge.spool import Spool


def payloads(spool: Spool) -> list[bytes]:
    return [m.payload for m in spool.peek(0, 10_000)]


def test_rows_come_back_in_order_and_survive_a_reopen(tmp_path):
    path = tmp_path / "s.sqlite3"
    spool = Spool(path, max_messages=100, max_bytes=1 << 20)
    seqs = [spool.append("t/a", f"m{i}", 1) for i in range(5)]
    assert seqs == sorted(seqs) and len(spool) == 5
    spool.close()
    again = Spool(path, max_messages=100, max_bytes=1 << 20)
    assert again.recovered == 5 and payloads(again) == [b"m0", b"m1", b"m2", b"m3", b"m4"]
    assert [m.topic for m in again.peek()] == ["t/a"] * 5 and again.peek()[0].qos == 1
    # new rows queue behind the recovered ones
    again.append("t/b", "m5", 0)
    assert payloads(again)[-1] == b"m5" and again.peek(seqs[-1], 10)[0].payload == b"m5"
    again.close()


def test_count_bound_drops_the_oldest_and_counts_them():
    spool = Spool(None, max_messages=10, max_bytes=1 << 20)
    for i in range(25):
        spool.append("t", f"m{i}", 1)
    assert len(spool) == 10 and spool.dropped == 15
    assert payloads(spool) == [f"m{i}".encode() for i in range(15, 25)]


def test_byte_bound_drops_the_oldest():
    spool = Spool(None, max_messages=1000, max_bytes=100)
    for i in range(10):
        spool.append("t", bytes([65 + i]) * 30, 0)
    assert spool.size_bytes <= 100 and len(spool) == 3 and spool.dropped == 7
    assert payloads(spool)[0] == b"H" * 30
    with pytest.raises(ValueError):
        spool.append("t", b"x" * 101, 0)


def test_remove_takes_acknowledged_rows_only_and_keeps_the_bookkeeping(tmp_path):
    spool = Spool(tmp_path / "s.sqlite3", max_messages=100, max_bytes=1 << 20)
    seqs = [spool.append("t", "abc", 1) for _ in range(6)]
    assert spool.remove([seqs[0], seqs[2], 999_999]) == 2
    assert len(spool) == 4 and spool.size_bytes == 12 and spool.removed == 2
    assert [m.seq for m in spool.peek()] == [seqs[1], *seqs[3:]]
    assert spool.remove([]) == 0
    spool.close()
