"""Export a trained TrafficDetector to ONNX (fp32 and int8 QDQ) and write the model's JSON.

ONNX contract (what argos_inference's ONNX Runtime engine and YOLOv8 decoder read):
    input  "images"  [1, 3, H, W] float32, RGB, 0..1, letterboxed (pad 114/255, centred)
    output "output0" [1, 4 + C, N] float32: rows 0..3 cx, cy, w, h in input pixels,
                     rows 4.. class scores after sigmoid; no NMS inside
The int8 model is quantize_static QDQ, per-channel int8 weights, uint8 activations, MinMax
calibration over training images; the box/score decoding tail (the heads' last 1x1 convs and
everything after them) stays float so that coordinates and scores keep their resolution.

CLI: python -m training.export --checkpoint runs/x/best.pt --data runs/x/data --out models
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

MODEL_NAME = "argos-traffic-v1"
OPSET = 17


def export_onnx(model, path: Path, height: int, width: int) -> Path:
    """fp32 ONNX, opset 17, shape [batch, 3, H, W] (TorchScript-based exporter)."""
    import torch

    from training.model import ExportWrapper

    wrapper = ExportWrapper(model).eval().cpu()
    x = torch.rand(1, 3, height, width)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # batch dimension symbolic: one engine call can take the frames of several cameras (shared inference)
    kwargs = dict(
        input_names=["images"],
        output_names=["output0"],
        opset_version=OPSET,
        do_constant_folding=True,
        dynamic_axes={"images": {0: "batch"}, "output0": {0: "batch"}},
    )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter is deprecated, not gone
        try:
            torch.onnx.export(wrapper, (x,), str(path), dynamo=False, **kwargs)
        except TypeError:  # torch without the `dynamo` switch: the TorchScript exporter is the default
            torch.onnx.export(wrapper, (x,), str(path), **kwargs)
    import onnx

    m = onnx.load(str(path))
    pin_output_shape(m, wrapper(x).shape[1:])
    onnx.checker.check_model(m)
    m.producer_name = "argos-training"
    m.doc_string = (
        "ARGOS traffic detector (synthetic intersection, 11 classes). output0 [batch, 4+C, N]: "
        "cx, cy, w, h (input px), sigmoid class scores; no NMS."
    )
    onnx.save(m, str(path))
    return path


def pin_output_shape(model, tail) -> None:
    """Only the batch stays symbolic on the output: the exporter names every dynamic output
    dimension, and readers of the model (argos_inference's layout check, the model card) need
    the row and anchor counts."""
    dims = model.graph.output[0].type.tensor_type.shape.dim
    for dim, size in zip(dims[1:], tail):
        dim.ClearField("dim_param")
        dim.dim_value = int(size)


def check_onnx_matches_torch(model, onnx_path: Path, images: np.ndarray, atol: float = 1e-3) -> dict:
    """Max |ORT CPU - torch| over a few real images (boxes in px, scores)."""
    import onnxruntime as ort
    import torch

    from training.model import ExportWrapper

    wrapper = ExportWrapper(model).eval().cpu()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    worst_box = worst_score = 0.0
    for img in images:
        x = np.ascontiguousarray(np.asarray(img).transpose(2, 0, 1)[None], np.float32) / np.float32(255.0)
        with torch.no_grad():
            ref = wrapper(torch.from_numpy(x)).numpy()
        out = sess.run(None, {"images": x})[0]
        worst_box = max(worst_box, float(np.abs(out[:, :4] - ref[:, :4]).max()))
        worst_score = max(worst_score, float(np.abs(out[:, 4:] - ref[:, 4:]).max()))
    ok = worst_box < 100 * atol and worst_score < atol
    return {
        "max_abs_diff_box_px": worst_box,
        "max_abs_diff_score": worst_score,
        "ok": bool(ok),
        "images": int(len(images)),
    }


def quantize_int8(fp32_path: Path, int8_path: Path, calib_images: Sequence[np.ndarray]) -> dict:
    """Static QDQ int8 (per-channel) calibrated on `calib_images` (letterboxed RGB uint8)."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self):
            self._it = iter(calib_images)

        def get_next(self):
            img = next(self._it, None)
            if img is None:
                return None
            x = np.ascontiguousarray(np.asarray(img).transpose(2, 0, 1)[None], np.float32) / np.float32(255.0)
            return {"images": x}

    from argos_inference.quantize import float_tail_nodes

    exclude = float_tail_nodes(onnx.load(str(fp32_path)))
    if not exclude:
        raise RuntimeError("could not find the detection heads' last convs in the ONNX graph")
    t0 = time.time()
    quantize_static(
        str(fp32_path),
        str(int8_path),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
        nodes_to_exclude=exclude,
    )
    quantized = onnx.load(str(int8_path))
    pin_output_shape(
        quantized, [d.dim_value for d in onnx.load(str(fp32_path)).graph.output[0].type.tensor_type.shape.dim[1:]]
    )
    onnx.save(quantized, str(int8_path))
    return {
        "calibration_images": int(len(calib_images)),
        "format": "QDQ",
        "per_channel": True,
        "activations": "uint8",
        "weights": "int8",
        "calibration": "MinMax",
        "float_tail_nodes": len(exclude),
        "seconds": round(time.time() - t0, 1),
    }


def model_json(
    classes: Sequence[str],
    height: int,
    width: int,
    n_anchors: int,
    *,
    fp32_file: str,
    int8_file: str,
    sha256: dict[str, str],
    model_cfg: dict,
    training: dict,
    metrics: dict,
) -> dict:
    return {
        "name": MODEL_NAME,
        "file": fp32_file,
        "int8_file": int8_file,
        # the files this card describes, by content: argos refuses it for any other model
        "sha256": dict(sha256),
        "layout": "yolov8",
        "input": {"name": "images", "shape": ["batch", 3, height, width], "dtype": "float32"},
        "output": {
            "name": "output0",
            "shape": ["batch", 4 + len(classes), n_anchors],
            "dtype": "float32",
            "rows": "cx, cy, w, h (input-image pixels), then one sigmoid score per class",
            "nms": False,
        },
        "input_size": {"width": width, "height": height},
        "color": "rgb",
        "normalization": "0-1",
        "letterbox": {
            "pad_value": 114,
            "centered": True,
            "scale_up": True,
            "interpolation": "linear",
            "rule": "scale = min(W/w, H/h); resize to round(w*scale) x round(h*scale); "
            "pad (W-new_w)//2 left, (H-new_h)//2 top, the rest right/bottom",
        },
        "classes": list(classes),
        "recommended": {"score_threshold": 0.3, "nms_iou_threshold": 0.5, "class_agnostic_nms": False},
        "architecture": model_cfg,
        "opset": OPSET,
        "training": training,
        "metrics": metrics,
    }


def main(argv=None) -> int:
    import torch

    from training.dataset import DetDataset
    from training.model import ModelConfig, TrafficDetector

    ap = argparse.ArgumentParser(description="export a checkpoint to ONNX fp32 + int8")
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--data", required=True, help="dataset folder with train/ (calibration images)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--calib", type=int, default=100)
    args = ap.parse_args(argv)
    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    model = TrafficDetector(ModelConfig.from_dict(ck["model_config"]))
    model.load_state_dict(ck["ema"] or ck["model"])
    model.eval()
    train = DetDataset(Path(args.data) / "train")
    h, w = train.images.shape[1:3]
    out = Path(args.out)
    fp32 = export_onnx(model, out / f"{MODEL_NAME}.onnx", h, w)
    print(check_onnx_matches_torch(model, fp32, train.images[:4]))
    idx = np.linspace(0, len(train) - 1, min(args.calib, len(train))).astype(int)
    print(quantize_int8(fp32, out / f"{MODEL_NAME}-int8.onnx", [train.images[i] for i in idx]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
