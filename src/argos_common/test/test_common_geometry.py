"""argos_common.geometry.match_boxes: one-to-one pairs, most overlapping first."""

from argos_common.geometry import match_boxes


def test_match_boxes_is_one_to_one_and_prefers_the_larger_overlap():
    a = [(0, 0, 10, 10), (2, 0, 12, 10)]
    b = [(1, 0, 11, 10), (40, 40, 50, 50)]
    # b0 overlaps both a boxes (IoU 0.82 each way); a0 comes first on the tie, a1 stays unmatched
    assert match_boxes(a, b, 0.5) == [(0, 0)]
    assert match_boxes([(2, 0, 12, 10), (0, 0, 10, 10)], [(0, 0, 10, 10)], 0.5) == [(1, 0)]  # IoU 1 beats 0.67
    assert match_boxes(a, b, 0.9) == []
    assert match_boxes([], b, 0.5) == [] and match_boxes(a, [], 0.5) == []
