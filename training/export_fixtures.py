#!/usr/bin/env python3
"""Tiny detector exports made by the real exporters, each with the exporter's own decoded boxes.

For the decode tests of argos_inference (src/argos_inference/test/fixtures/exports/). Each model
is shrunk (8..16 channels, DFL bins 4 instead of 16, a 64x64 input, 3 classes), trained for a few
hundred steps on synthetic coloured rectangles (class = colour) so its scores spread out instead
of being saturated and tied, exported to ONNX by its own exporter (simplify=False), and then run
by the exporter's own predictor / post-processing on one fixed 64x48 image. Written to --out:

- ``<name>.onnx``: the export, as the exporter wrote it
- ``<name>.npz``: ``image`` (the HxWx3 BGR source image), ``input`` (the tensor the exporter's own
  preprocessing made of it), ``out_<output name>`` (raw ONNX Runtime outputs for that tensor),
  ``boxes`` (x1 y1 x2 y2 in source pixels), ``scores``, ``classes`` (the exporter's detections),
  ``conf`` and ``iou`` (the thresholds its post-processing ran with)
- ``manifest.json``: per fixture, how it was made (exporter, version, export arguments, outputs)

Needs PyTorch, onnx, onnxruntime, ultralytics 8.4 and (for the HF-style RT-DETR) transformers; run
with YOLO_OFFLINE=1 ULTRALYTICS_SKIP_REQUIREMENTS_CHECKS=1 YOLO_CONFIG_DIR=<scratch dir>. Usage:

    python training/export_fixtures.py --out DIR [--device cuda] [--steps 300] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

NC = 3
NAMES = {0: "red", 1: "green", 2: "blue"}
COLORS_RGB = ((220, 40, 40), (40, 200, 60), (50, 70, 230))
IMGSZ = 64
SOURCE_HW = (48, 64)  # letterboxed to 64x64 without resizing (8-px bars); stretched by the DETRs
CONF = 0.2
IOU = 0.7
LR = 1e-2
# model.yaml scales of the shrunk models: depth, width, max channels
TINY = [0.33, 0.25, 32]


def draw_scene(rng: np.random.Generator, hw: tuple[int, int], objects: int) -> tuple[np.ndarray, list]:
    """RGB uint8 image of a noisy grey background with `objects` coloured rectangles, and their
    labels as (class, cx, cy, w, h) normalised."""
    h, w = hw
    image = rng.normal(120, 18, (h, w, 3)).clip(0, 255).astype(np.uint8)
    labels = []
    for _ in range(objects):
        cls = int(rng.integers(NC))
        bw, bh = int(rng.integers(8, w // 2)), int(rng.integers(8, h // 2))
        x0, y0 = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
        shade = rng.uniform(0.75, 1.15)
        image[y0 : y0 + bh, x0 : x0 + bw] = np.clip(np.array(COLORS_RGB[cls]) * shade, 0, 255).astype(np.uint8)
        labels.append((cls, (x0 + bw / 2) / w, (y0 + bh / 2) / h, bw / w, bh / h))
    return image, labels


def fixed_image() -> np.ndarray:
    """The one BGR source image every fixture is decoded on (3 objects, one per class)."""
    rng = np.random.default_rng(12)
    h, w = SOURCE_HW
    image = rng.normal(120, 18, (h, w, 3)).clip(0, 255).astype(np.uint8)
    for cls, (x0, y0, x1, y1) in enumerate(((4, 6, 22, 30), (26, 20, 50, 44), (44, 3, 61, 17))):
        image[y0:y1, x0:x1] = COLORS_RGB[cls]
    return np.ascontiguousarray(image[:, :, ::-1])


def batch_of(rng: np.random.Generator, size: int, device):
    import torch

    images, cls, boxes, index = [], [], [], []
    for i in range(size):
        image, labels = draw_scene(rng, (IMGSZ, IMGSZ), int(rng.integers(1, 4)))
        images.append(image)
        for label in labels:
            cls.append([label[0]])
            boxes.append(label[1:])
            index.append(i)
    return {
        "img": torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div(255).to(device),
        "cls": torch.tensor(cls, dtype=torch.float32, device=device),
        "bboxes": torch.tensor(boxes, dtype=torch.float32, device=device),
        "batch_idx": torch.tensor(index, dtype=torch.float32, device=device),
    }


def train_ultralytics(net, steps: int, device, seed: int, lr: float) -> float:
    """A few hundred steps with the model's own loss, so scores are learnt rather than random."""
    import torch
    from ultralytics.cfg import get_cfg
    from ultralytics.utils import DEFAULT_CFG

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net.to(device).train()
    kept_args = net.args
    net.args = get_cfg(DEFAULT_CFG)  # the loss reads its gains (box, cls, dfl) from here
    net.criterion = None
    net.nc = NC  # set by Ultralytics' trainer from the data set; RT-DETR's loss reads it
    optimiser = torch.optim.AdamW(net.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, lr, total_steps=steps)
    last = 0.0
    for _ in range(steps):
        loss, _ = net.loss(batch_of(rng, 16, device))
        optimiser.zero_grad()
        loss.sum().backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        optimiser.step()
        schedule.step()
        last = float(loss.detach().sum())
    net.eval()
    net.criterion = None
    net.args = kept_args  # the exporter reads the model's arguments as a dict
    return last


def tiny_yaml(work: Path, base: str, name: str, edit=None) -> Path:
    import yaml
    from ultralytics.nn.tasks import yaml_model_load

    cfg = yaml_model_load(base)
    for key in ("yaml_file", "scale", "channels"):
        cfg.pop(key, None)
    cfg["nc"] = NC
    if "scales" in cfg:
        cfg["scales"] = {"n": TINY}
    if cfg.get("reg_max", 16) > 1:
        cfg["reg_max"] = 4
    if edit:
        edit(cfg)
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def rtdetr_cfg(cfg: dict) -> None:
    """RT-DETR-l's layout with a few channels, one repeat per block and a one-layer decoder."""
    cfg["scales"] = {"l": [1.0, 1.0, 1024]}
    backbone = [
        [-1, 1, "HGStem", [8, 8]],
        [-1, 1, "HGBlock", [8, 16, 3]],
        [-1, 1, "DWConv", [16, 3, 2, 1, False]],
        [-1, 1, "HGBlock", [8, 16, 3]],  # 3 P3
        [-1, 1, "DWConv", [16, 3, 2, 1, False]],
        [-1, 1, "HGBlock", [8, 16, 5, True, False]],  # 5 P4
        [-1, 1, "DWConv", [16, 3, 2, 1, False]],
        [-1, 1, "HGBlock", [8, 16, 5, True, False]],  # 7 P5
    ]
    head = [
        [-1, 1, "Conv", [16, 1, 1, None, 1, 1, False]],
        [-1, 1, "AIFI", [32, 2]],
        [-1, 1, "Conv", [16, 1, 1]],  # 10
        [-1, 1, "nn.Upsample", [None, 2, "nearest"]],
        [5, 1, "Conv", [16, 1, 1, None, 1, 1, False]],
        [[-2, -1], 1, "Concat", [1]],
        [-1, 1, "RepC3", [16]],
        [-1, 1, "Conv", [16, 1, 1]],  # 15
        [-1, 1, "nn.Upsample", [None, 2, "nearest"]],
        [3, 1, "Conv", [16, 1, 1, None, 1, 1, False]],
        [[-2, -1], 1, "Concat", [1]],
        [-1, 1, "RepC3", [16]],  # 19
        [-1, 1, "Conv", [16, 3, 2]],
        [[-1, 15], 1, "Concat", [1]],
        [-1, 1, "RepC3", [16]],  # 22
        [-1, 1, "Conv", [16, 3, 2]],
        [[-1, 10], 1, "Concat", [1]],
        [-1, 1, "RepC3", [16]],  # 25
        # nc, hidden dim, queries, decoder points, heads, decoder layers, feed-forward dim
        [[19, 22, 25], 1, "RTDETRDecoder", ["nc", 16, 30, 2, 2, 1, 32]],
    ]
    cfg["backbone"], cfg["head"] = backbone, head


def ort_outputs(onnx_path: Path, tensor: np.ndarray) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    values = session.run(None, {session.get_inputs()[0].name: tensor})
    return {o.name: v for o, v in zip(session.get_outputs(), values)}


def ultralytics_reference(onnx_path: Path, image: np.ndarray, detr: bool) -> dict[str, np.ndarray]:
    """The exporter's own predictor on the exported file: its preprocessing, then its NMS (or its
    end-to-end / RT-DETR post-processing, as it decides from the export's metadata)."""
    from ultralytics.models.rtdetr.predict import RTDETRPredictor
    from ultralytics.models.yolo.detect.predict import DetectionPredictor

    kind = RTDETRPredictor if detr else DetectionPredictor
    overrides = {"conf": CONF, "iou": IOU, "imgsz": IMGSZ, "verbose": False, "device": "cpu", "save": False}
    predictor = kind(overrides=overrides)
    result = predictor(source=image, model=str(onnx_path))[0]
    tensor = predictor.preprocess([image]).cpu().numpy().astype(np.float32)
    boxes = result.boxes
    return {
        "input": tensor,
        "boxes": boxes.xyxy.cpu().numpy().astype(np.float32),
        "scores": boxes.conf.cpu().numpy().astype(np.float32),
        "classes": boxes.cls.cpu().numpy().astype(np.int64),
    }


ULTRALYTICS = {
    # name: (model yaml, export arguments)
    "yolov5nu": ("yolov5nu.yaml", {}),
    "yolov8n": ("yolov8n.yaml", {}),
    "yolov8n_nms": ("yolov8n.yaml", {"nms": True, "conf": CONF, "iou": IOU}),
    "yolo11n": ("yolo11n.yaml", {}),
    "yolo26n": ("yolo26n.yaml", {}),
    "yolo26n_end2end": ("yolo26n.yaml", {"nms": False}),
    "yolov10n_end2end": ("yolov10n.yaml", {"nms": False}),
    "rtdetr": ("rtdetr-l.yaml", {}),
}


def make_ultralytics(name: str, work: Path, out: Path, device, steps: int, trained: dict) -> dict:
    import ultralytics
    from ultralytics import RTDETR, YOLO
    from ultralytics.nn.modules.head import Detect

    base, export_args = ULTRALYTICS[name]
    detr = base.startswith("rtdetr")
    stem = Path(base).stem
    if stem in trained:  # one trained model, exported several ways
        model = trained[stem]
    else:
        defaults = Detect.__init__.__defaults__
        if stem.startswith("yolov10"):  # v10Detect passes no reg_max: shrink its DFL bins here
            Detect.__init__.__defaults__ = (80, 4, False, ())
        try:
            path = tiny_yaml(work, base, f"{stem}-tiny", rtdetr_cfg if detr else None)
            model = (RTDETR if detr else YOLO)(str(path))
        finally:
            Detect.__init__.__defaults__ = defaults
        model.model.names = dict(NAMES)
        loss = train_ultralytics(model.model, steps, device, seed=len(trained), lr=LR)
        print(f"{stem}: trained {steps} steps, last loss {loss:.3f}", flush=True)
        trained[stem] = model
    ul_device = "cpu" if str(device) == "cpu" else "0"
    args = {"format": "onnx", "imgsz": IMGSZ, "simplify": False, "opset": 17, "device": ul_device, **export_args}
    exported = Path(model.export(**args))
    target = out / f"{name}.onnx"
    shutil.move(str(exported), target)
    image = fixed_image()
    ref = ultralytics_reference(target, image, detr)
    outputs = ort_outputs(target, ref["input"])
    np.savez_compressed(
        out / f"{name}.npz",
        image=image,
        **ref,
        **{f"out_{k}": v for k, v in outputs.items()},
        conf=np.float32(CONF),
        iou=np.float32(IOU),
    )
    args.pop("device")
    return {
        "exporter": f"ultralytics {ultralytics.__version__}",
        "model": f"{base} shrunk (scales {TINY if not detr else 'see rtdetr_cfg'}, nc {NC}, reg_max 4 where DFL)",
        "trained_steps": steps,
        "export": args,
        "outputs": {k: list(v.shape) for k, v in outputs.items()},
        "detections": int(len(ref["scores"])),
    }


def make_deepstream(out: Path, work: Path, script: Path, trained: dict) -> dict:
    """DeepStream-Yolo's own exporter (its utils/export_yoloV8.py, run as its README says) on the
    trained tiny YOLOv8: one output [1, N, 6] of x1 y1 x2 y2 score class candidates, NMS left to
    DeepStream. Reference: Ultralytics' predictor on the default export of the same weights (the
    parser and clustering DeepStream runs are C++ inside DeepStream)."""
    import os
    import subprocess
    import sys

    import torch

    if "yolov8n" not in trained:
        raise RuntimeError("make yolov8n first: the DeepStream-Yolo export reuses its weights")
    weights = work / "yolov8n_deepstream.pt"
    torch.save({"model": copy.deepcopy(trained["yolov8n"].model).cpu()}, weights)
    env = {**os.environ, "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}  # the script unpickles a whole model
    command = [sys.executable, str(script.resolve()), "-w", str(weights), "-s", str(IMGSZ), "--opset", "17"]
    subprocess.run(command, cwd=work, env=env, check=True)
    import onnx

    target = out / "yolov8n_deepstream.onnx"
    # torch >= 2.9 exports through dynamo and may write the weights to a .onnx.data file beside
    # the graph: one self-contained file, the same graph and weights
    onnx.save(onnx.load(str(weights) + ".onnx"), target)
    shutil.move(str(work / "labels.txt"), out / "yolov8n_deepstream.txt")
    image = fixed_image()
    ref = ultralytics_reference(out / "yolov8n.onnx", image, detr=False)
    outputs = ort_outputs(target, ref["input"])
    np.savez_compressed(
        out / "yolov8n_deepstream.npz",
        image=image,
        **ref,
        **{f"out_{k}": v for k, v in outputs.items()},
        conf=np.float32(CONF),
        iou=np.float32(IOU),
    )
    return {
        "exporter": f"DeepStream-Yolo utils/export_yoloV8.py -s {IMGSZ} --opset 17 (labels.txt kept as .txt)",
        "model": "the trained tiny yolov8n",
        "reference": "Ultralytics' predictor on yolov8n.onnx (same weights)",
        "outputs": {k: list(v.shape) for k, v in outputs.items()},
        "detections": int(len(ref["scores"])),
    }


def make_hf_rtdetr(out: Path) -> dict:
    """transformers' RT-DETR, tiny, exported the way HF-style exports are: torch.onnx.export of the
    model with the outputs `logits` and `pred_boxes`; reference = the HF image processor and its
    post_process_object_detection."""
    import torch
    import transformers
    from transformers import RTDetrConfig, RTDetrForObjectDetection, RTDetrImageProcessor, RTDetrResNetConfig

    torch.manual_seed(3)
    backbone = RTDetrResNetConfig(
        embedding_size=8, hidden_sizes=[8, 16, 16, 16], depths=[1, 1, 1, 1], layer_type="basic",
        out_features=["stage2", "stage3", "stage4"],
    )  # fmt: skip
    config = RTDetrConfig(
        backbone_config=backbone, num_labels=NC, id2label=dict(NAMES), label2id={v: k for k, v in NAMES.items()},
        encoder_hidden_dim=16, encoder_in_channels=[16, 16, 16], encoder_ffn_dim=32, encoder_attention_heads=2,
        d_model=16, decoder_in_channels=[16, 16, 16], decoder_ffn_dim=32, decoder_layers=1,
        decoder_attention_heads=2, decoder_n_points=2, num_queries=30, num_denoising=10, anchor_image_size=None,
    )  # fmt: skip
    model = RTDetrForObjectDetection(config).eval()
    # Fixed deterministic class heads instead of training (HF's loss needs scipy's Hungarian
    # matcher, which the GPU machine lacks): logits spread around -1.2 so the scores are neither
    # saturated nor tied, and the queries the encoder picks differ by image content.
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for head in [*model.model.decoder.class_embed, model.model.enc_score_head]:
            head.weight.copy_(torch.randn(head.weight.shape, generator=generator) * 0.6)
            head.bias.fill_(-1.2)
    model.eval().cpu()

    class Outputs(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, pixel_values):
            result = self.inner(pixel_values=pixel_values)
            return result.logits, result.pred_boxes

    target = out / "rtdetr_hf.onnx"
    with torch.no_grad():
        torch.onnx.export(
            Outputs(model), torch.zeros(1, 3, IMGSZ, IMGSZ), str(target), input_names=["pixel_values"],
            output_names=["logits", "pred_boxes"], opset_version=17, dynamo=False,
        )  # fmt: skip
    processor = RTDetrImageProcessor(size={"height": IMGSZ, "width": IMGSZ})
    image = fixed_image()
    tensor = processor(images=image[:, :, ::-1].copy(), return_tensors="np")["pixel_values"].astype(np.float32)
    outputs = ort_outputs(target, tensor)
    decoded = processor.post_process_object_detection(
        transformers.modeling_outputs.ModelOutput(
            logits=torch.from_numpy(outputs["logits"]), pred_boxes=torch.from_numpy(outputs["pred_boxes"])
        ),
        threshold=CONF,
        target_sizes=[SOURCE_HW],
    )[0]
    np.savez_compressed(
        out / "rtdetr_hf.npz",
        image=image,
        input=tensor,
        **{f"out_{k}": v for k, v in outputs.items()},
        boxes=decoded["boxes"].numpy().astype(np.float32),
        scores=decoded["scores"].numpy().astype(np.float32),
        classes=decoded["labels"].numpy().astype(np.int64),
        conf=np.float32(CONF),
        iou=np.float32(IOU),
    )
    return {
        "exporter": f"torch.onnx.export (torch {torch.__version__}) of transformers {transformers.__version__} "
        "RTDetrForObjectDetection, outputs logits + pred_boxes",
        "model": "RT-DETR with a ResNet-basic backbone of 8..16 channels, d_model 16, 1 decoder layer, 30 queries",
        "weights": "random init (seed 3), class heads fixed N(0, 0.6) weights and bias -1.2 (seed 5)",
        "reference": "RTDetrImageProcessor (64x64 resize) + post_process_object_detection",
        "outputs": {k: list(v.shape) for k, v in outputs.items()},
        "detections": int(len(decoded["scores"])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--lr", type=float, default=LR)
    parser.add_argument("--deepstream-yolo", type=Path, help="DeepStream-Yolo's utils/export_yoloV8.py")
    parser.add_argument("--only", nargs="*", default=None, help="fixture names (default: all)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    globals()["LR"] = args.lr
    names = args.only or [*ULTRALYTICS, "rtdetr_hf"] + (["yolov8n_deepstream"] if args.deepstream_yolo else [])
    manifest_path = args.out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    trained: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in names:
            start = time.time()
            try:
                if name == "rtdetr_hf":
                    manifest[name] = make_hf_rtdetr(args.out)
                elif name == "yolov8n_deepstream":
                    manifest[name] = make_deepstream(args.out, work, args.deepstream_yolo, trained)
                else:
                    manifest[name] = make_ultralytics(name, work, args.out, args.device, args.steps, trained)
            except Exception as exc:  # one exporter failing must not lose the others
                import traceback

                traceback.print_exc()
                manifest[name] = {"error": f"{type(exc).__name__}: {exc}"}
            print(f"{name}: {time.time() - start:.1f} s {json.dumps(manifest[name])}", flush=True)
            manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
