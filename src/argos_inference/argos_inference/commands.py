"""`argos quantize` (registered by argos_bringup's CLI)."""

from __future__ import annotations

import sys


def _quantize(args) -> int:
    from argos_common.params import ConfigError

    from .agreement import format_table
    from .quantize import GuardrailError, quantize_checked

    overrides: dict = {}
    if args.input_size:
        overrides["model.input_size"] = list(args.input_size)
    if args.color:
        overrides["model.color"] = args.color
    if args.mean:
        overrides["model.mean"] = list(args.mean)
    if args.std:
        overrides["model.std"] = list(args.std)
    try:
        report = quantize_checked(
            args.model,
            args.calibration,
            args.out,
            limit=args.limit,
            method=args.method,
            activations=args.activations,
            held_out=args.held_out,
            min_f1=args.min_f1,
            force=args.force,
            metadata=args.metadata or "",
            labels=args.labels or "",
            score_threshold=args.score_threshold,
            overrides=overrides,
            engine=args.engine,
        )
    except GuardrailError as exc:
        print(format_table(exc.agreement))
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_table(report.agreement))
    verdict = "passed" if report.passed else f"FAILED (F1 below {args.min_f1:g}), written because of --force"
    print(
        f"{report.quantize.output}: {report.quantize.quantized_nodes} QuantizeLinear nodes, "
        f"calibrated on {report.quantize.calibration_images} frames ({args.activations} activations); "
        f"agreement check {verdict}; card {report.card}"
    )
    return 0


def register(top) -> None:
    from .quantize import DEFAULT_HELD_OUT, DEFAULT_MIN_F1

    quantize = top.add_parser(
        "quantize",
        help="fp32 ONNX + your footage -> int8 QDQ ONNX (onnxruntime static quantisation), "
        "checked against fp32 on held-out frames",
    )
    quantize.add_argument("--model", required=True, help="fp32 ONNX model")
    quantize.add_argument(
        "--calibration",
        "--calib",
        dest="calibration",
        required=True,
        metavar="DIR|VIDEO",
        help="folder of images or a video file of the site's traffic; a part is held out for the check",
    )
    quantize.add_argument("--out", required=True, help="int8 QDQ ONNX to write (its card: the same name, .json)")
    quantize.add_argument(
        "--limit",
        type=int,
        default=0,
        help="use at most this many frames (0: all of a folder, 200 of a video; a video's are spread over it)",
    )
    quantize.add_argument(
        "--held-out",
        type=float,
        default=DEFAULT_HELD_OUT,
        help="fraction of the frames, evenly spread, kept out of calibration for the check "
        f"(default {DEFAULT_HELD_OUT})",
    )
    quantize.add_argument(
        "--min-f1",
        type=float,
        default=DEFAULT_MIN_F1,
        help=f"agreement F1 with fp32 below which the int8 model is not written (default {DEFAULT_MIN_F1})",
    )
    quantize.add_argument(
        "--engine",
        choices=("onnxruntime", "tensorrt"),
        default="onnxruntime",
        help="what runs int8 in the check: onnxruntime (default), or a TensorRT int8 engine built from the "
        "QDQ file (Jetson; needs --activations int8; not verified here)",
    )
    quantize.add_argument("--force", action="store_true", help="write the int8 model even below --min-f1")
    quantize.add_argument(
        "--score-threshold", type=float, default=0.3, help="detections compared score at least this (default 0.3)"
    )
    quantize.add_argument("--metadata", help="sidecar JSON of the fp32 model (default: <model>.json if present)")
    quantize.add_argument("--labels", help="labels file of the model's class names, one per line")
    quantize.add_argument(
        "--method",
        choices=("minmax", "entropy", "percentile"),
        default="minmax",
        help="activation range calibration (default minmax)",
    )
    quantize.add_argument(
        "--activations",
        choices=("int8", "uint8"),
        default="int8",
        help="int8: symmetric, runs on ONNX Runtime and TensorRT (default); "
        "uint8: fastest on ONNX Runtime x86 CPUs, not for TensorRT",
    )
    quantize.add_argument(
        "--input-size",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        help="input size when the model's is dynamic and its metadata names none",
    )
    quantize.add_argument("--color", choices=("rgb", "bgr"), help="model channel order (default: metadata, else rgb)")
    quantize.add_argument("--mean", type=float, nargs=3, help="per-channel mean on 0..1 pixels (default: metadata)")
    quantize.add_argument("--std", type=float, nargs=3, help="per-channel std on 0..1 pixels (default: metadata)")
    quantize.set_defaults(func=_quantize)
