"""`argos bench detector`: latency and throughput of the DNN detector per engine and precision.

Model: `--model`, else the bundled models/argos-traffic*.onnx when present, else a generated
YOLO-shaped network with random weights (bench_model.py: a speed measurement only). Each model is
run as fp32 and as the two int8 QDQ variants of `argos quantize`, calibrated on synthetic
intersection frames. Latency is one camera frame (1280x720) through `Detector.detect`
(letterbox, inference, decoding, NMS); `infer` is the engine call alone. Agreement compares the
int8 detections with fp32's (same label, IoU >= 0.5, one-to-one; argos_inference.agreement, as
`argos quantize` checks it): a drift check, not an accuracy metric.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from argos_common.classes import DEFAULT_CLASSES
from argos_common.machine import cpu_model, package_version
from argos_common.params import resolve
from argos_common.stats import percentiles
from argos_inference.factory import create_detector
from argos_inference.params import PARAMS
from argos_inference.quantize import quantize_model

from .yolo_shaped_model import build_yolo_shaped_model

FRAME_SIZE = (1280, 720)
FRAMES = 8
CALIBRATION_FRAMES = 16
MIN_RUNS = 10


def machine_info() -> dict:
    try:
        import tensorrt

        trt = tensorrt.__version__
    except ImportError:
        trt = "not importable"
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "onnxruntime": package_version("onnxruntime"),
        "onnx": package_version("onnx"),
        "numpy": package_version("numpy"),
        "opencv": cv2.__version__,
        "tensorrt": trt,
    }


def bundled_models(root: Path) -> list[Path]:
    return sorted(p for p in (root / "models").glob("argos-traffic*.onnx") if "int8" not in p.name)


def synthetic_frames(count: int, seed: int) -> list[np.ndarray]:
    from argos_sim.scene import IntersectionScene

    scene = IntersectionScene(
        width=FRAME_SIZE[0], height=FRAME_SIZE[1], fps=15.0, seed=seed, classes=DEFAULT_CLASSES, lines=[]
    )
    return [scene.next_frame()[0] for _ in range(count)]


def _match_f1(reference, candidate) -> float | None:
    from argos_inference.agreement import compare

    return compare(reference, candidate).overall.f1


def measure(model: Path, frames: list[np.ndarray], seconds: float, threads: int) -> dict:
    params = resolve(PARAMS, {"engine": "onnxruntime", "model.path": str(model), "model.threads": threads})
    detector = create_detector(params)
    try:
        batch, _ = detector.preprocessor(frames[:1])
        for frame in frames[:3]:
            detector.detect([frame])
        latencies, infers = [], []
        deadline = time.perf_counter() + seconds
        while len(latencies) < MIN_RUNS or time.perf_counter() < deadline:
            frame = frames[len(latencies) % len(frames)]
            started = time.perf_counter()
            detector.detect([frame])
            latencies.append(time.perf_counter() - started)
            started = time.perf_counter()
            detector.engine.infer(batch)
            infers.append(time.perf_counter() - started)
        outputs = [detector.detect([f])[0] for f in frames]
        description = detector.describe()
    finally:
        detector.close()
    latencies_ms, infers_ms = np.array(latencies) * 1e3, np.array(infers) * 1e3
    latency = percentiles(latencies_ms, (50, 95), digits=None)
    return {
        "model": model.name,
        "layout": description["layout"],
        "input_size": description["input_size"],
        "runs": len(latencies),
        "latency_p50_ms": latency["p50"],
        "latency_p95_ms": latency["p95"],
        "infer_p50_ms": percentiles(infers_ms, (50,), digits=None)["p50"],
        "throughput_fps": float(1e3 / latencies_ms.mean()),
        "_detections": outputs,
    }


def run_bench(args) -> int:
    started = time.perf_counter()
    machine = machine_info()
    frames = synthetic_frames(FRAMES, seed=11)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        calib = scratch / "calib"
        calib.mkdir()
        for i, frame in enumerate(synthetic_frames(CALIBRATION_FRAMES, seed=3)):
            cv2.imwrite(str(calib / f"{i:03d}.png"), frame)
        models = [Path(args.model)] if args.model else bundled_models(Path.cwd())
        generated = not models
        if generated:
            models = [build_yolo_shaped_model(scratch / f"yolo-shaped-{args.input_size}.onnx", args.input_size)]
        for model in models:
            variants = [("fp32", model)]
            shipped_int8 = model.with_name(f"{model.stem}-int8.onnx")
            if shipped_int8.is_file():
                variants.append(("int8 (shipped)", shipped_int8))
            for activations in ("int8", "uint8"):
                out = scratch / f"{model.stem}-{activations}.onnx"
                quantize_model(model, calib, out, activations=activations)
                variants.append((f"int8 ({'s8 sym' if activations == 'int8' else 'u8 asym'})", out))
            reference = None
            for precision, path in variants:
                row = measure(path, frames, args.seconds, args.threads)
                row.update(engine="onnxruntime CPU", precision=precision, model=model.name, generated=generated)
                detections = row.pop("_detections")
                if reference is None:
                    reference, fp32 = detections, row
                row["speedup_vs_fp32"] = fp32["latency_p50_ms"] / row["latency_p50_ms"]
                row["infer_speedup_vs_fp32"] = fp32["infer_p50_ms"] / row["infer_p50_ms"]
                row["agreement_f1_vs_fp32"] = _match_f1(reference, detections)
                rows.append(row)
    print_table(machine, rows)
    print(
        f"tensorrt: {('not run, ' if machine['tensorrt'] == 'not importable' else '') + machine['tensorrt']}"
        f" (runs on Jetson only; not verified here)"
    )
    if any(r["generated"] for r in rows):
        print(
            "model: generated YOLO-shaped network with random weights (no trained detector found under "
            "models/); it measures speed only, detections and agreement are not meaningful"
        )
    print(f"bench time {time.perf_counter() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "rows": rows}, indent=2))
    return 0


def print_table(machine: dict, rows: list[dict]) -> None:
    print(
        f"Detector bench on {machine['cpu']} ({machine['cores']} cores), Python {machine['python']}, "
        f"onnxruntime {machine['onnxruntime']}, onnx {machine['onnx']}, numpy {machine['numpy']}, "
        f"opencv {machine['opencv']}; frames {FRAME_SIZE[0]}x{FRAME_SIZE[1]}"
    )
    header = (
        "model",
        "engine",
        "precision",
        "input",
        "runs",
        "p50 ms",
        "p95 ms",
        "infer p50 ms",
        "frames/s",
        "speedup",
        "infer speedup",
        "agree F1",
    )
    table = [header]
    for r in rows:
        agree = "-" if r["agreement_f1_vs_fp32"] is None else f"{r['agreement_f1_vs_fp32']:.2f}"
        table.append(
            (
                r["model"],
                r["engine"],
                r["precision"],
                "x".join(map(str, r["input_size"])),
                str(r["runs"]),
                f"{r['latency_p50_ms']:.1f}",
                f"{r['latency_p95_ms']:.1f}",
                f"{r['infer_p50_ms']:.1f}",
                f"{r['throughput_fps']:.1f}",
                f"{r['speedup_vs_fp32']:.2f}x",
                f"{r['infer_speedup_vs_fp32']:.2f}x",
                agree,
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
