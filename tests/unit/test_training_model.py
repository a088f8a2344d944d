"""training.model / loss / export: output layout, assignment, ONNX parity, int8 QDQ.

torch is a training-only dependency (not in requirements.txt, never imported under src/):
these tests skip where it is not installed (`pip install torch==2.13.0` to run them).
"""

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is a training-only dependency (pip install torch==2.13.0)")

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from training.loss import DetectionLoss, assign  # noqa: E402
from training.model import ExportWrapper, ModelConfig, TrafficDetector, num_anchors  # noqa: E402
from training.train import augment, split_targets  # noqa: E402

H, W = 128, 192
CFG = ModelConfig(widths=(8, 16, 16, 32), depth=1, head_width=16)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return TrafficDetector(CFG).eval()


def test_export_output_layout_is_yolov8(model):
    x = torch.rand(1, 3, H, W)
    out = ExportWrapper(model)(x)
    assert out.shape == (1, 4 + 11, num_anchors(H, W))
    boxes, logits, anchors, strides = model(x)
    cxcy = (boxes[0, :, :2] + boxes[0, :, 2:]) / 2
    assert torch.allclose(out[0, :2].T, cxcy, atol=1e-5)
    assert torch.allclose(out[0, 2:4].T, boxes[0, :, 2:] - boxes[0, :, :2], atol=1e-5)
    assert ((out[0, 4:] >= 0) & (out[0, 4:] <= 1)).all() and (out[0, 2:4] > 0).all()
    assert strides.tolist().count(8.0) == (H // 8) * (W // 8)


def test_default_model_is_small():
    m = TrafficDetector(ModelConfig())
    assert sum(p.numel() for p in m.parameters()) * 4 < 10e6


def test_assignment_gives_every_box_positives_even_tiny_ones(model):
    x = torch.rand(2, 3, H, W)
    boxes, logits, anchors, strides = model(x)
    gt_box = torch.tensor(
        [
            [[40.0, 40.0, 80.0, 56.0], [100.0, 60.0, 108.0, 63.0], [0, 0, 0, 0]],
            [[10.0, 10.0, 30.0, 20.0], [0, 0, 0, 0], [0, 0, 0, 0]],
        ]
    )
    gt_cls = torch.tensor([[1, 9, -1], [2, -1, -1]])
    valid = gt_cls >= 0
    fg, t_box, t_scores, w = assign(
        logits.sigmoid(), boxes, anchors, strides, gt_cls, gt_box, valid, torch.zeros_like(valid)
    )
    assert fg[0].sum() >= 2 and fg[1].sum() >= 1
    # the tiny bicycle (8 x 3 px) has positives, with class 9 targets
    tiny = fg[0] & (t_box[0, :, 0] == 100.0)
    assert tiny.any() and (t_scores[0, tiny].argmax(-1) == 9).all()
    assert (t_scores[~fg] == 0).all() and (w == 1).all()


def test_ignore_boxes_mask_the_classification_loss(model):
    boxes, logits, anchors, strides = model(torch.rand(1, 3, H, W))
    gt_box = torch.tensor([[[40.0, 40.0, 80.0, 56.0]]])
    gt_cls = torch.tensor([[1]])
    fg, _, t_scores, w = assign(
        logits.sigmoid(), boxes, anchors, strides, gt_cls, gt_box, torch.tensor([[False]]), torch.tensor([[True]])
    )
    assert not fg.any() and (t_scores == 0).all() and (w == 0).any() and (w == 1).any()


def test_loss_backward_is_finite_and_a_few_steps_reduce_it():
    torch.manual_seed(0)
    m = TrafficDetector(CFG).train()
    x = torch.rand(2, 3, H, W)
    t = torch.tensor(
        [[[1, 40, 40, 80, 56, 0], [9, 100, 60, 108, 63, 0]], [[2, 10, 10, 30, 20, 0], [0, 50, 50, 60, 60, 1]]],
        dtype=torch.float32,
    )
    crit = DetectionLoss(11)
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
    losses = []
    for _ in range(15):
        loss, parts = crit(*m(x), *split_targets(t))
        opt.zero_grad()
        loss.backward()
        assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]


def test_augment_flips_boxes_with_the_image_and_keeps_padding():
    img = np.full((1, 64, 96, 3), 114, np.uint8)
    img[0, 8:56] = 60
    img[0, 20:30, 10:40] = 250  # a bright "vehicle"
    t = torch.tensor([[[1, 10, 20, 40, 30, 0]]], dtype=torch.float32)
    gen = torch.Generator().manual_seed(3)
    for _ in range(8):
        x, tt = augment(torch.from_numpy(img), t, gen)
        x1, y1, x2, y2 = tt[0, 0, 1:5].round().int().tolist()
        inside = x[0, :, y1:y2, x1:x2].mean()
        assert inside > x[0, :, 8:56].mean() + 0.1  # the box still covers the bright patch
        assert torch.allclose(x[0, :, :8], torch.tensor(114 / 255)) and torch.allclose(
            x[0, :, 56:], torch.tensor(114 / 255)
        )


def test_onnx_export_matches_torch_and_quantizes(model, tmp_path):
    pytest.importorskip("onnxruntime")
    import onnx
    import onnxruntime as ort

    from argos_inference.quantize import float_tail_nodes
    from training.export import check_onnx_matches_torch, export_onnx, quantize_int8

    path = export_onnx(model, tmp_path / "m.onnx", H, W)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,), (out,) = sess.get_inputs(), sess.get_outputs()
    assert inp.name == "images" and inp.shape == [1, 3, H, W] and inp.type == "tensor(float)"
    assert out.name == "output0" and out.shape == [1, 15, num_anchors(H, W)]
    assert onnx.load(str(path)).opset_import[0].version == 17
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (H, W, 3), dtype=np.uint8) for _ in range(4)]
    check = check_onnx_matches_torch(model, path, images[:2])
    assert check["ok"], check
    tail = float_tail_nodes(onnx.load(str(path)))
    assert any("/box/box.1/" in n for n in tail) and any("Sigmoid" in n for n in tail)
    info = quantize_int8(path, tmp_path / "q.onnx", images)
    q = onnx.load(str(tmp_path / "q.onnx"))
    assert any(n.op_type == "QuantizeLinear" for n in q.graph.node) and info["per_channel"]
    x = images[0].transpose(2, 0, 1)[None].astype(np.float32) / 255
    a = sess.run(None, {"images": x})[0]
    b = ort.InferenceSession(str(tmp_path / "q.onnx"), providers=["CPUExecutionProvider"]).run(None, {"images": x})[0]
    assert b.shape == a.shape and np.isfinite(b).all()
