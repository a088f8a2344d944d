"""`argos bench graph`: which cases it runs and how a row is judged against the targets."""

import pytest

from argos_bringup.bench.graph import Case, Result, _row, parse_cases
from argos_bringup.processes import COMPOSED, SEPARATE


def test_several_cameras_run_both_in_one_container_and_in_a_container_each():
    cases = parse_cases("composed,separate", "720p", 4, True)
    assert [c.label for c in cases] == [
        "composed 720p",
        "separate 720p",
        "composed 720p, 4 cameras in one container, shared detector",
        "composed 720p, 4 cameras, a container each (model.threads 1)",
    ]
    assert parse_cases("composed", "1080p", 1, True) == [Case(COMPOSED, "1080p")]
    with pytest.raises(ValueError, match="--resolutions"):
        parse_cases("composed", "4k", 0, True)


def _judged(case: Case, fps: float, p95: float) -> str:
    return _row(Result(case, fps=fps, latency_ms={"p50": 1.0, "p95": p95, "p99": p95}, clean_stop=True))[-1]


def test_a_camera_paced_at_15_fps_holds_the_15_fps_target_though_arrivals_come_a_hair_below():
    assert _judged(Case(COMPOSED, "1080p"), 14.9998, 31.0).endswith("yes")
    assert _judged(Case(COMPOSED, "1080p"), 14.9, 31.0).endswith("NO")  # a frame in 10 s lost is a miss
    assert _judged(Case(COMPOSED, "1080p"), 15.0, 50.0).endswith("NO")
    assert _judged(Case(SEPARATE, "720p"), 14.5, 79.0).endswith("yes")
    assert _judged(Case(COMPOSED, "720p", 4, container_each=True), 15.0, 99.0).endswith("yes")
    assert _judged(Case(COMPOSED, "720p"), 15.0, 500.0) == ""  # no target for this case
