"""The scene evaluations with the detector in the loop: rendered frames through the inference
node's detector, the counting lines of the scene's view, the options' errors, the worker pool."""

import shutil
from pathlib import Path

import numpy as np
import pytest

import argos_sim
from argos_bringup.cli import main
from argos_bringup.evaluation import counting, movements
from argos_bringup.evaluation.cells import run_cells
from argos_bringup.evaluation.detectors import TRUTH_CHOICE, model_choice
from argos_bringup.evaluation.peer import PEER_NAMES
from argos_bringup.evaluation.report import run_evaluation
from argos_common.classes import DEFAULT_CLASSES
from argos_common.detections import Detections
from argos_common.lines import CountingLine
from argos_inference.factory import create_detector


@pytest.fixture
def detect_calls(monkeypatch):
    """Frames that went through argos_inference's own detector builder (what the node runs)."""
    import argos_inference.factory as factory

    calls = []
    build = factory.create_detector

    def counted(params):
        detector = build(params)
        detect = detector.detect

        def spy(images):
            calls.append(len(images))
            return detect(images)

        detector.detect = spy
        return detector

    monkeypatch.setattr(factory, "create_detector", counted)
    return calls


def test_tracker_eval_with_the_bundled_model_counts_and_scores_every_tracker(detect_calls):
    results = run_evaluation(6.0, 7, ["clean"], False, True, {}, detectors=(model_choice(),))
    (entry,) = results["counting"]
    assert (entry["detector"], entry["view"], entry["scene"], entry["seed"]) == ("model", "top", "clean", 7)
    assert entry["perturbation"] is None  # the detector's own errors, nothing added
    assert len(detect_calls) == 90 and set(detect_calls) == {1}  # every frame, one image each
    assert entry["timing"]["frames"] == 90 and entry["timing"]["detector_ms"] > 0
    assert "argos-traffic-v1-int8.onnx" in results["detectors"]["model"]
    for who in ("ours",) + PEER_NAMES:
        assert entry[who]["true_total"] >= 3
        assert entry[who]["abs_error"] <= 1
        assert 0.7 < entry[who]["mot"]["mota"] <= 1.0 and 0.0 < entry[who]["mot"]["hota"] <= 1.0


def test_counting_eval_with_the_bundled_model_gives_line_counts_and_timing(detect_calls):
    (summary,) = movements.evaluate(None, ["clean"], [7], 6.0, [15])
    assert (summary["detector"], summary["view"]) == ("model", "top")
    assert len(detect_calls) == 90
    assert sum(v["truth"] for v in summary["lines"].values()) >= 3
    assert summary["line_abs_error"] <= 1
    assert summary["timing"]["frames"] == 90 and summary["timing"]["detector_ms_p95"] > 0


def test_truth_detections_render_nothing(detect_calls):
    counts = counting.run_scene(counting.scene_named("night"), 2.0, 7, {}, detector=TRUTH_CHOICE)
    assert detect_calls == [] and counts["timing"]["frames"] == 30


class _ShiftedView(argos_sim.IntersectionScene):
    """A stand-in for another view: the image (here only the ground-truth boxes) and the lines
    moved by (200, 150) px, so the road arms no longer pass the top view's lines at all."""

    SHIFT = np.array([200.0, 150.0])
    LINES_MOVE = True  # False: view_lines left as the top view's (the check below has teeth)

    def __init__(self, *args, view="top", **kwargs):
        super().__init__(*args, **kwargs)
        self._shift = self.SHIFT if view == "pole" else np.zeros(2)
        shift = self._shift if self.LINES_MOVE else np.zeros(2)
        self.view_lines = [CountingLine(ln.id, ln.points + shift, ln.lanes) for ln in self.lines]

    def next_frame(self):
        image, truth = super().next_frame()
        o = truth.objects
        truth.objects = Detections((o.boxes + np.tile(self._shift, 2)).astype(np.float32), o.scores, o.labels, o.ids)
        return image, truth


def test_a_view_is_counted_on_its_own_view_lines(monkeypatch):
    monkeypatch.setattr(argos_sim, "IntersectionScene", _ShiftedView)
    scene = counting.scene_named("clean")
    shifted = counting.run_scene(scene, 30.0, 7, {}, view="pole")
    assert sum(shifted["truth"].values()) >= 10
    assert shifted["ours"] == shifted["truth"]
    # on the top view's lines the moved tracks count nothing
    monkeypatch.setattr(_ShiftedView, "LINES_MOVE", False)
    assert sum(counting.run_scene(scene, 30.0, 7, {}, view="pole")["ours"].values()) == 0


def test_unknown_view_detector_or_missing_model_is_an_error_naming_the_option(capsys, tmp_path):
    assert main(["eval", "tracker", "--skip-mot", "--views", "top,side"]) == 2
    assert "--views side: unknown view" in capsys.readouterr().out
    assert main(["eval", "counting", "--detector", "yolo"]) == 2
    assert "--detector yolo: unknown" in capsys.readouterr().out
    missing = tmp_path / "absent.onnx"
    assert main(["eval", "counting", "--model", str(missing)]) == 2
    assert f"--model {missing}: model file not found" in capsys.readouterr().out
    assert main(["eval", "tracker", "--skip-mot", "--detector", "model", "--model", str(missing)]) == 2
    assert "--model" in capsys.readouterr().out


def test_another_model_is_read_with_its_own_card_not_the_configs(tmp_path):
    bundled = Path(__file__).resolve().parents[3] / "models"
    earlier = tmp_path / "argos-traffic-v1-int8.onnx"
    shutil.copy(bundled / earlier.name, earlier)
    # without a card: what the ONNX file says about itself, not the config's card (which would refuse it)
    assert model_choice(str(earlier)).inference["model.metadata"] == ""
    shutil.copy(bundled / "argos-traffic-v1.json", tmp_path / "argos-traffic-v1.json")
    choice = model_choice(str(earlier))
    assert choice.inference["model.metadata"] == str(tmp_path / "argos-traffic-v1.json")
    detector = create_detector(choice.inference)
    try:
        assert len(detector.describe()["class_map"]) == 11
    finally:
        detector.close()


def test_a_view_this_scene_cannot_render_is_an_error_naming_the_option(monkeypatch, capsys):
    class TopOnly(argos_sim.IntersectionScene):
        def __init__(self, width, height, fps, seed, classes, lines, conditions=(), render=True):
            super().__init__(width, height, fps, seed, classes, lines, conditions=conditions, render=render)

    monkeypatch.setattr(argos_sim, "IntersectionScene", TopOnly)
    assert main(["eval", "counting", "--views", "pole"]) == 2
    assert "--views pole: this argos_sim renders only the top view" in capsys.readouterr().out


def test_cells_in_worker_processes_give_what_one_process_gives():
    params = {"classes": list(DEFAULT_CLASSES)}
    cells = [counting.SceneCell(name, "top", 7, 3.0, params, peers=False) for name in ("clean", "rain")]
    here = run_cells(counting.run_cell, cells, workers=1)
    pooled = run_cells(counting.run_cell, cells, workers=2)
    for a, b in zip(here, pooled):
        assert a["ours"] == b["ours"] and a["truth"] == b["truth"] and a["mot"] == b["mot"]
