import numpy as np
import pytest

from argos_common.lines import DIRECTION_IN, DIRECTION_OUT, CountingLine, parse_lines
from argos_common.params import ConfigError


def vertical_line():
    # drawn top -> bottom: its right-hand side (walking down, y grows downwards) is x < 420
    return CountingLine("west", np.array([[420.0, 290.0], [420.0, 360.0], [420.0, 430.0]]), ("wb", "eb"))


def test_crossing_direction_and_lane():
    line = vertical_line()
    hit = line.crossing((410.0, 400.0), (430.0, 400.0))  # moving right, lower segment
    assert hit.direction == DIRECTION_IN and hit.lane == "eb" and hit.segment == 1
    assert hit.point == pytest.approx((420.0, 400.0))
    back = line.crossing((430.0, 300.0), (410.0, 300.0))
    assert back.direction == DIRECTION_OUT and back.lane == "wb"


def test_no_crossing_beyond_segment_end_or_parallel():
    line = vertical_line()
    assert line.crossing((410.0, 500.0), (430.0, 500.0)) is None  # below the drawn end
    assert line.crossing((415.0, 300.0), (415.0, 420.0)) is None  # parallel, same side


def test_half_open_steps_through_a_point_on_the_line_count_once():
    line = vertical_line()
    arrive = line.crossing((410.0, 300.0), (420.0, 300.0))  # lands exactly on the line
    assert arrive is not None and arrive.direction == DIRECTION_IN
    assert line.crossing((420.0, 300.0), (430.0, 300.0)) is None  # leaves from the line


def test_parse_lines_validates_points_and_lanes():
    params = {"lines.names": ["a"], "lines.a.points": [0.0, 0.0, 10.0, 0.0], "lines.a.lanes": []}
    (line,) = parse_lines(params)
    assert line.points.shape == (2, 2)
    with pytest.raises(ConfigError, match="lines.a.points"):
        parse_lines({**params, "lines.a.points": [0.0, 0.0, 10.0]})
    with pytest.raises(ConfigError, match="zero-length"):
        parse_lines({**params, "lines.a.points": [1.0, 1.0, 1.0, 1.0]})
    with pytest.raises(ConfigError, match="lines.a.lanes"):
        parse_lines({**params, "lines.a.lanes": ["x", "y"]})
