import os

import numpy as np
import pytest

from argos_common.geometry import centred_iou_matrix, iou_matrix
from argos_common.stats import SampleWindow, percentiles


def test_percentiles_one_definition_linear_between_ranks():
    assert percentiles([]) == {"p50": None, "p95": None}
    p = percentiles(list(range(1, 101)))
    assert p["p50"] == 50.5 and p["p95"] == 95.05
    assert percentiles([3.0], (50, 99)) == {"p50": 3.0, "p99": 3.0}
    assert percentiles(np.array([1.0, 2.0]), (50,), digits=None) == {"p50": 1.5}


def test_iou_matrix_pairs_and_degenerate_boxes():
    a = [[0, 0, 10, 10]]
    b = [[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [3, 3, 3, 3]]
    assert iou_matrix(a, b)[0] == pytest.approx([1.0, 50 / 150, 0.0, 0.0])
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 4)


def test_centred_iou_compares_shapes_wherever_they_are():
    assert centred_iou_matrix([[0, 0, 10, 20]], [[100, 100, 110, 120], [0, 0, 20, 20]])[0] == pytest.approx([1.0, 0.5])


def test_sample_window_keeps_the_latest_in_a_fixed_ring():
    from argos_common.stats import SampleWindow

    window = SampleWindow(4)
    assert len(window) == 0 and window.values().tolist() == []
    for v in range(1, 4):
        window.append(float(v))
    assert window.values().tolist() == [1.0, 2.0, 3.0]
    for v in range(4, 11):
        window.append(float(v))
    assert window.values().tolist() == [7.0, 8.0, 9.0, 10.0] and len(window) == 4 and window.total == 10


def _resident_kib_of_mapping_holding(address: int) -> int:
    with open("/proc/self/smaps") as smaps:
        inside = False
        for line in smaps:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                start, end = (int(v, 16) for v in head.split("-"))
                inside = start <= address < end
            elif inside and head == "Rss:":
                return int(line.split()[1])
    raise AssertionError("no mapping holds the address")


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps"), reason="needs Linux /proc")
def test_sample_window_is_resident_from_the_start():
    # np.zeros of this size maps pages the kernel provides only when first written: a ring
    # that became resident sample by sample made a week-long run's memory creep for hours
    window = SampleWindow(200_000)  # 1.6 MB: a mapping of its own
    assert _resident_kib_of_mapping_holding(window._ring.ctypes.data) >= 1500
