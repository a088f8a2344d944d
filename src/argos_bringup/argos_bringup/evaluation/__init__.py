"""`argos eval <area>`: accuracy evaluations (MOT metrics and counting error, ours vs peers)."""

from __future__ import annotations

import json


def register(evaluate) -> None:
    """Add the evaluation areas to `evaluate`, the subparsers of `argos eval`."""
    ev = evaluate.add_parser(
        "tracker",
        help="MOT metrics (MOTA, IDF1, HOTA) on TUD sequences and synthetic scenes, and counting error, "
        "ours vs supervision's ByteTrack and trackers' SORT/ByteTrack/OC-SORT",
    )
    ev.add_argument("--duration", type=float, default=120.0, help="seconds of each synthetic scene (default 120)")
    ev.add_argument("--seed", type=int, default=7, help="scene and perturbation seed (default 7)")
    ev.add_argument("--scenes", default="", help="comma-separated subset of the synthetic scenes")
    ev.add_argument("--skip-mot", action="store_true", help="leave out the TUD sequences")
    ev.add_argument("--skip-scenes", action="store_true", help="leave out the synthetic scenes")
    ev.add_argument(
        "--mot-seeds",
        default="",
        metavar="A-B|A,B,..",
        help="perturbation seeds for the TUD sequences (default --seed)",
    )
    ev.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="tracker parameter override for our tracker, e.g. motion_model=constant_acceleration",
    )
    ev.add_argument(
        "--scene-seeds",
        default="",
        metavar="A-B|A,B,..",
        help="scene (and perturbation) seeds for the synthetic scenes (default --seed)",
    )
    _add_loop_options(ev, "truth")
    ev.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ev.set_defaults(func=_cmd_eval)

    cnt = evaluate.add_parser(
        "counting",
        help="turning movements and line counts vs the synthetic ground truth, detector in the loop, GEH per cell",
    )
    cnt.add_argument("--config", help="parameter file (default: config/edge.yaml)")
    cnt.add_argument(
        "--duration", type=float, default=60.0, help="seconds of scene time per scene and seed (default 60)"
    )
    cnt.add_argument("--seeds", default="7", help="comma-separated scene seeds (default 7)")
    cnt.add_argument(
        "--scenes", default="clean,night,rain,dense,stop_and_go", help="comma-separated subset of the scenes"
    )
    cnt.add_argument(
        "--interval-min",
        default="15",
        help="bin length(s) in minutes, 1, 5, 15 or 60, comma-separated: all from the same run (default 15)",
    )
    cnt.add_argument("--param", action="append", default=[], metavar="NODE.NAME=VALUE", help="parameter override")
    _add_loop_options(cnt, "model")
    cnt.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    cnt.set_defaults(func=_cmd_counting)


def _add_loop_options(parser, detector: str) -> None:
    """The options both scene evaluations share: where detections come from, views, workers."""
    parser.add_argument(
        "--detector",
        default=detector,
        metavar="truth,model",
        help="detections of the synthetic scenes: truth = the scene's ground truth with its seeded "
        "perturbation (no rendering); model = every frame rendered and run through the inference "
        f"node's detector (config/edge.yaml's inference section); both: side by side (default {detector})",
    )
    parser.add_argument(
        "--model",
        metavar="PATH",
        help="ONNX model of --detector model (default: config/edge.yaml's model.path, the bundled "
        "models/argos-traffic-v1-int8.onnx); read with the card beside it that names it, else with "
        "its own ONNX metadata",
    )
    parser.add_argument("--views", default="top", metavar="top,pole", help="camera views of the scene (default top)")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="cells (detector x view x scene x seed) run side by side in N processes, each model on "
        "one onnxruntime thread (default 1: in this process, the config's threads)",
    )


def _loop_options(args, config_path: str | None = None, overrides: dict | None = None) -> dict:
    """--detector, --model, --views, --workers as keyword arguments of the evaluations
    (ValueError naming the option)."""
    from .detectors import detector_choices, parse_detectors
    from .views import parse_views

    if args.workers < 1:
        raise ValueError(f"--workers {args.workers}: must be >= 1")
    kinds = parse_detectors(args.detector)
    return {
        "detectors": detector_choices(kinds, args.model, args.workers, config_path, overrides),
        "views": parse_views(args.views),
        "workers": args.workers,
    }


def _overrides(pairs) -> dict:
    import yaml

    out = {}
    for pair in pairs:
        name, _, text = pair.partition("=")
        out[name.strip()] = yaml.safe_load(text)
    return out


def _seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        first, dash, last = part.partition("-")
        seeds += list(range(int(first), int(last) + 1)) if dash else [int(part)]
    return seeds


def _cmd_eval(args) -> int:
    from argos_common.params import ConfigError

    from .report import run_evaluation

    try:
        results = run_evaluation(
            args.duration,
            args.seed,
            [s for s in args.scenes.split(",") if s],
            not args.skip_mot,
            not args.skip_scenes,
            _overrides(args.param),
            _seeds(args.mot_seeds),
            scene_seeds=_seeds(args.scene_seeds),
            **_loop_options(args),
        )
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}")
        return 2
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


def _cmd_counting(args) -> int:
    from argos_common.params import ConfigError

    from ..config import parse_assignment
    from .movements import evaluate

    overrides: dict = {}
    try:
        intervals = [int(s) for s in args.interval_min.split(",") if s.strip()]
        for m in intervals:
            if m not in (1, 5, 15, 60):
                raise ValueError(f"--interval-min {m}: must be 1, 5, 15 or 60")
        for text in args.param:
            node, name, value = parse_assignment(text)
            overrides.setdefault(node, {})[name] = value
        results = evaluate(
            args.config,
            [s for s in args.scenes.split(",") if s],
            [int(s) for s in args.seeds.split(",") if s],
            args.duration,
            intervals or [15],
            overrides,
            args.json,
            **_loop_options(args, args.config, overrides),
        )
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}")
        return 2
    del results  # written to --json after every scene
    return 0
