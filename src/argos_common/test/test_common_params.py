import pytest

from argos_common.handoff import LatestSlot
from argos_common.params import ConfigError, ParamGroup, ParamSpec, flatten, resolve

SPECS = [
    ParamSpec("fps", "float", 15.0, "frame rate", min=0.1, max=240.0),
    ParamSpec("mode", "str", "auto", "mode", choices=("auto", "never")),
    ParamSpec("names", "str[]", [], "names"),
    ParamGroup("lines", (ParamSpec("points", "float[]", [], "points"),)),
]


def test_floats_are_strict_like_ros_and_bools_are_not_numbers():
    assert resolve(SPECS, {"fps": 10.0})["fps"] == 10.0
    with pytest.raises(ConfigError, match="fps: expected a floating-point number; write 10.0"):
        resolve(SPECS, {"fps": 10})
    with pytest.raises(ConfigError, match="fps: expected a number"):
        resolve(SPECS, {"fps": True})


def test_choices_ranges_unknown_keys():
    with pytest.raises(ConfigError, match="mode: 'x' is not one of auto, never"):
        resolve(SPECS, {"mode": "x"})
    with pytest.raises(ConfigError, match="above the maximum"):
        resolve(SPECS, {"fps": 1000.0})
    with pytest.raises(ConfigError, match="fpx: unknown parameter"):
        resolve(SPECS, {"fpx": 1.0})


def test_groups_expand_from_their_names():
    values = flatten({"lines": {"names": ["a"], "a": {"points": [1.0, 2.0, 3.0, 4.0]}}})
    out = resolve(SPECS, values)
    assert out["lines.a.points"] == [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(ConfigError, match="lines.b.points: unknown parameter"):
        resolve(SPECS, {**values, "lines.b.points": [1.0]})


@pytest.mark.parametrize(
    "names, problem", [(["a b"], "'a b' is not a usable"), (["1st"], "'1st'"), (["a", "a"], "'a' is named twice")]
)
def test_group_item_names_are_parameter_name_segments_and_unique(names, problem):
    with pytest.raises(ConfigError, match=f"lines.names: {problem}"):
        resolve(SPECS, {"lines.names": names})
    assert resolve(SPECS, {"lines.names": ["stop_line_2"]})["lines.stop_line_2.points"] == []


def test_latest_slot_keeps_only_the_newest_and_counts_drops():
    slot = LatestSlot()
    woken = []
    slot.on_put(lambda: woken.append(1))
    assert slot.put(1) is False
    assert slot.put(2) is True
    assert slot.take() == 2 and slot.take() is None
    assert (slot.put_count, slot.dropped, len(woken)) == (2, 1, 2)


def test_a_config_error_survives_pickling_with_its_key():
    """Evaluations raise it in worker processes; it must reach the parent as itself."""
    import pickle

    error = pickle.loads(pickle.dumps(ConfigError("lines.west.points", "outside the source")))
    assert isinstance(error, ConfigError)
    assert (error.key, error.problem, str(error)) == (
        "lines.west.points",
        "outside the source",
        "lines.west.points: outside the source",
    )
