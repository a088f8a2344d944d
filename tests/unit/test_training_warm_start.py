"""training.warm_start: the shipped ONNX, read back into torch, gives the same detections, and
training-mode BatchNorm starts near them (torch is training-only: skipped without it)."""

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is a training-only dependency (pip install torch==2.13.0)")
ort = pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from training.model import ExportWrapper, ModelConfig, TrafficDetector  # noqa: E402
from training.warm_start import module_path, warm_start  # noqa: E402

ONNX, CARD = ROOT / "models/argos-traffic-v1.onnx", ROOT / "models/argos-traffic-v1.json"


def test_module_path_follows_the_export_scopes():
    assert module_path("/model/stem/stem.0/Conv") == "stem.0"
    assert module_path("/model/down2/down2.1/units.0/a/a.0/Conv") == "down2.1.units.0.a.0"
    assert module_path("/model/heads.1/box/box.1/Conv") == "heads.1.box.1"


def test_the_rebuilt_checkpoint_reproduces_the_shipped_model():
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.random((8, 3, 384, 640), np.float32))
    ck = warm_start(ONNX, CARD, images)
    model = TrafficDetector(ModelConfig.from_dict(ck["model_config"]))
    model.load_state_dict(ck["ema"])
    x = images[:1].numpy()
    session = ort.InferenceSession(str(ONNX))
    ref = session.run(None, {session.get_inputs()[0].name: x})[0]
    with torch.no_grad():
        got = ExportWrapper(model).eval()(torch.from_numpy(x)).numpy()
    assert np.abs(got - ref).max() < 1e-2  # pixel coordinates up to 640 and scores
    with torch.no_grad():
        model.eval()
        ev = torch.cat([t.flatten() for t in model(images)])
        model.train()
        tr = torch.cat([t.flatten() for t in model(images)])
    assert float((tr - ev).abs().mean() / ev.abs().mean()) < 0.05
