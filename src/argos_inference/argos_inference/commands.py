"""`argos quantize` (registered by argos_bringup's CLI)."""

from __future__ import annotations

import sys


def _quantize(args) -> int:
    from argos_common.params import ConfigError

    from .preprocess import InputSpec
    from .quantize import quantize_model

    spec = None
    if args.input_size:
        spec = InputSpec(args.input_size[0], args.input_size[1], args.color, tuple(args.mean), tuple(args.std))
    try:
        report = quantize_model(
            args.model,
            args.calib,
            args.out,
            spec=spec,
            limit=args.limit,
            method=args.method,
            activations=args.activations,
        )
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{report.output}: {report.quantized_nodes} QuantizeLinear nodes, "
        f"calibrated on {report.calibration_images} images ({args.activations} activations)"
    )
    return 0


def register(top) -> None:
    quantize = top.add_parser(
        "quantize", help="fp32 ONNX + calibration images -> int8 QDQ ONNX (onnxruntime static quantisation)"
    )
    quantize.add_argument("--model", required=True, help="fp32 ONNX model")
    quantize.add_argument("--calib", required=True, help="folder of calibration images (traffic scenes of the site)")
    quantize.add_argument("--out", required=True, help="int8 QDQ ONNX to write")
    quantize.add_argument("--limit", type=int, default=0, help="use at most this many images (0: all)")
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
        help="input size when the model's is dynamic (default: the model's)",
    )
    quantize.add_argument("--color", choices=("rgb", "bgr"), default="rgb", help="with --input-size")
    quantize.add_argument("--mean", type=float, nargs=3, default=(0.0, 0.0, 0.0), help="with --input-size")
    quantize.add_argument("--std", type=float, nargs=3, default=(1.0, 1.0, 1.0), help="with --input-size")
    quantize.set_defaults(func=_quantize)
