"""`argos lines`: the block it writes, the validation it applies (the config loader's own rules,
errors naming the line), and its HTTP handlers, served for real on a free port."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from argos_bringup.config import load_config
from argos_bringup.lines_cli import LinesEditor, block_values, check_block, describe_error, make_server, render_block
from argos_common.lines import DIRECTION_IN, parse_lines
from argos_common.params import ConfigError

CONFIG = Path(__file__).resolve().parents[3] / "config" / "edge.yaml"
SIZE = (1280, 720)
GATE = {"name": "gate", "points": [[100.0, 500.0], [300.0, 500.0]], "lanes": ["northbound"]}


def refused(payload, config: Path = CONFIG) -> dict:
    with pytest.raises(ConfigError) as caught:
        check_block(render_block(block_values(payload, SIZE), "synthetic://intersection"), config, SIZE)
    return describe_error(caught.value)


def test_block_loads_through_the_config_loader_and_replaces_the_configs_lines():
    payload = {"lines": [GATE], "zones": [{"name": "box", "points": [[10, 10], [90, 10], [90, 90]]}]}
    text = render_block(block_values(payload, SIZE), "synthetic://intersection")
    tracker = check_block(text, CONFIG, SIZE)
    # edge.yaml's four lines are replaced, not merged (their keys would be unknown parameters)
    assert tracker["lines.names"] == ["gate"] and tracker["zones.names"] == ["box"]
    assert tracker["geometry.image_size"] == [1280, 720]
    raw = yaml.safe_load(text)
    assert set(raw) == {"/**"} and raw["/**"]["ros__parameters"]["lines"]["gate"]["points"] == [
        100.0,
        500.0,
        300.0,
        500.0,
    ]
    (line,) = parse_lines(tracker, SIZE)
    # walking east, the left-hand side is north: a vehicle driving north crosses "in"
    assert line.crossing((200.0, 520.0), (200.0, 480.0)).direction == DIRECTION_IN
    # drawn on 1280x720, the block means the same road positions on a 1920x1080 source
    (big,) = parse_lines(tracker, (1920, 1080))
    assert big.points.tolist() == [[150.0, 750.0], [450.0, 750.0]]


def test_lane_labels_yaml_would_misread_stay_strings(tmp_path):
    lanes = {"name": "gate", "points": [[0, 0], [10, 0], [20, 0], [30, 0]], "lanes": ["no", "1", "a: b"]}
    text = render_block(block_values({"lines": [lanes]}, SIZE), "synthetic://intersection")
    tracker = check_block(text, CONFIG, SIZE)
    assert tracker["lines.gate.lanes"] == ["no", "1", "a: b"]


@pytest.mark.parametrize(
    "payload, key, name",
    [
        ({"lines": [{**GATE, "points": [[5, 5], [5, 5]]}]}, "lines.gate.points", "gate"),  # zero length
        ({"lines": [{**GATE, "lanes": ["a", "b"]}]}, "lines.gate.lanes", "gate"),  # 1 segment, 2 lanes
        ({"lines": [{**GATE, "name": "my gate"}]}, "lines.names", "my gate"),
        ({"lines": [GATE, GATE]}, "lines.names", "gate"),
        (
            {"lines": [GATE], "zones": [{"name": "gate", "points": [[0, 0], [9, 0], [9, 9]]}]},
            "zones.gate.points",
            "gate",
        ),
        ({"lines": [{**GATE, "points": [[1, 2]]}]}, "lines.gate.points", "gate"),
        ({"lines": [{**GATE, "points": "1,2,3,4"}]}, "lines.gate.points", "gate"),
        ({"zones": [{"name": "box", "points": [[0, 0], [9, 9]]}]}, "zones.box.points", "box"),
    ],
)
def test_errors_name_the_line_or_zone(payload, key, name):
    error = refused(payload)
    assert error["key"] == key and error["name"] == name, error
    assert error["kind"] == key.split(".")[0][:-1] and error["message"].startswith(key)


def test_the_rest_of_the_config_is_checked_too(tmp_path):
    broken = tmp_path / "edge.yaml"
    broken.write_text(CONFIG.read_text().replace("high_score: 0.5", "high_score: 0.05"))
    error = refused({"lines": [GATE]}, broken)
    assert error["key"] == "low_score" and error["kind"] is None


@pytest.fixture
def served(tmp_path):
    out = tmp_path / "out" / "lines.yaml"
    editor = LinesEditor("synthetic://intersection", CONFIG, out)
    server = make_server(editor, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", out
    server.shutdown()
    server.server_close()
    editor.close()


def request(url: str, body=None, content_type: str = "application/json") -> tuple[int, bytes]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_page_frame_and_state(served):
    url, out = served
    status, page = request(url + "/")
    assert (
        status == 200
        and b'<svg id="view"' in page
        and b"http" not in page.split(b"<body>")[1].replace(b"http://www.w3.org/2000/svg", b"")
    )  # nothing loaded from elsewhere: the page works offline
    status, jpeg = request(url + "/frame.jpg")
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert status == 200 and image.shape == (720, 1280, 3) and image.std() > 10
    state = json.loads(request(url + "/api/state")[1])
    assert (state["width"], state["height"], state["frame"]) == (1280, 720, 1) and state["warning"] is None
    config = load_config(CONFIG).node("tracker")
    assert [line["name"] for line in state["lines"]] == config["lines.names"]
    assert state["lines"][0]["points"] == np.asarray(config["lines.west.points"]).reshape(-1, 2).tolist()
    status, fresh = request(url + "/api/frame", {})
    assert status == 200 and json.loads(fresh)["frame"] == 2
    assert request(url + "/nothing")[0] == 404


def test_save_writes_only_what_passes(served):
    url, out = served
    status, body = request(url + "/api/save", {"lines": [{**GATE, "points": [[5, 5], [5, 5]]}]})
    assert status == 400 and json.loads(body)["error"]["name"] == "gate" and not out.exists()
    status, body = request(url + "/api/save", {"lines": [GATE]})
    assert status == 200
    saved = json.loads(body)
    assert saved["out"] == str(out) and out.read_text() == saved["yaml"]
    assert load_config(out).node("tracker")["lines.gate.points"] == [100.0, 500.0, 300.0, 500.0]


@pytest.mark.parametrize(
    "body, content_type",
    [(b'{"lines": []}', "text/plain"), (b"{not json", "application/json"), (b"[1, 2]", "application/json")],
)
def test_save_refuses_what_is_not_a_drawing(served, body, content_type):
    url, out = served
    status, reply = request(url + "/api/save", body, content_type)
    assert status == 400 and json.loads(reply)["error"]["key"] == "request" and not out.exists()


def test_config_lines_are_scaled_onto_the_frame_and_a_mismatch_is_a_warning(tmp_path):
    half = tmp_path / "half.yaml"
    text = CONFIG.read_text().replace("image_size: [1280, 720]", "image_size: [640, 360]")
    text = text.replace(
        "points: [420.0, 290.0, 420.0, 360.0, 420.0, 430.0]", "points: [210.0, 145.0, 210.0, 180.0, 210.0, 215.0]"
    )
    half.write_text(text)
    editor = LinesEditor("synthetic://intersection", half, None)
    try:
        assert editor.warning is None
        assert editor.state()["lines"][0]["points"] == [[420.0, 290.0], [420.0, 360.0], [420.0, 430.0]]
    finally:
        editor.close()
    square = tmp_path / "square.yaml"
    square.write_text(CONFIG.read_text().replace("image_size: [1280, 720]", "image_size: [1280, 1280]"))
    editor = LinesEditor("synthetic://intersection", square, None)
    try:
        assert "geometry.image_size" in editor.warning and "stretched" in editor.warning
        assert editor.state()["lines"][0]["points"][0] == [420.0, round(290.0 * 720 / 1280, 1)]
    finally:
        editor.close()


def test_a_source_that_cannot_open_is_a_config_error():
    with pytest.raises(ConfigError) as caught:
        LinesEditor("ftp://camera/stream", CONFIG, None)
    assert caught.value.key == "source"


def test_a_video_file_of_another_aspect_ratio(tmp_path):
    """A 4:3 file against the shipped 16:9 lines: the frame is the file's own, and the config's
    lines come with the loader's reason and stretched, for the person to redraw."""
    video = tmp_path / "view.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (320, 240))
    for i in range(5):
        writer.write(np.full((240, 320, 3), 40 * i, np.uint8))
    writer.release()
    editor = LinesEditor(str(video), CONFIG, None)
    try:
        assert editor.size == (320, 240)
        assert "drawn on 1280x720 but the source is 320x240" in editor.warning
        assert editor.state()["lines"][0]["points"][0] == [105.0, round(290.0 * 240 / 720, 1)]
        assert editor.next_frame() and editor.frame_number == 2
        tracker = check_block(
            render_block(block_values({"lines": [GATE]}, editor.size), str(video)), CONFIG, editor.size
        )
        assert tracker["geometry.image_size"] == [320, 240]
    finally:
        editor.close()
