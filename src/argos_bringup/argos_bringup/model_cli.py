"""`argos model inspect MODEL.onnx`: what a model file is and how ARGOS will read it, before the
graph runs it: inputs and outputs, the output layout and why, whether NMS is inside, the class
names it carries (Ultralytics metadata, a labels file beside it, a sidecar) and a proposed class
map onto the deployment's classes. With --source it runs on real frames and writes annotated
PNGs and a detections summary a person can look at."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from argos_common.params import ConfigError

COCO_PRESET = "package://argos_bringup/config/class_maps/coco.yaml"


def _layout_reason(layout: str, outputs: list[dict], props: dict[str, str], configured: str) -> str:
    from argos_inference.decoders import OutputInfo, metadata_layout

    if configured != "auto":
        return f"set by {configured}"
    # symbolic dimensions ("batch", "N") stay names; only counts of known sizes are computed
    shapes = [tuple(d if isinstance(d, int) else str(d) for d in o["shape"]) for o in outputs]
    said = metadata_layout(props, [OutputInfo(o["name"], s) for o, s in zip(outputs, shapes)])
    if said is not None and said[0] == layout:
        return f"one output {shapes[0]}; the ONNX metadata says {said[1]}"

    def less(dim: Any, n: int) -> Any:
        return dim - n if isinstance(dim, int) else f"{dim}-{n}"

    if layout == "yolov4":
        return f"one output {shapes[0]} of rows x1 y1 x2 y2 score class and no end2end metadata (DeepStream-Yolo)"
    if layout == "yolov8":
        return f"one output {shapes[0]}: 4 box rows + {less(shapes[0][1], 4)} class rows, channels first"
    if layout == "yolov5":
        return f"one output {shapes[0]}: 4 box + objectness + {less(shapes[0][2], 5)} class columns"
    if layout == "detr":
        return f"one output {shapes[0]}: 4 normalised box + {less(shapes[0][2], 4)} class columns per query"
    if layout == "detr_logits":
        return f"two outputs {shapes}: class logits and normalised boxes per query (HF-style DETR export)"
    return f"four outputs {shapes} (num_dets, boxes, scores, classes)"


def _proposed_map(names: list[str] | None, classes: list[str]) -> tuple[str, dict[str, str] | None]:
    """(how, {model name: label}) -- the COCO preset for a COCO model, else same-name matches."""
    from argos_common.paths import resolve_path
    from argos_inference.class_map import load_class_map_file

    if not names:
        return "the model names no classes: give model.labels, or map by index with model.class_map", None
    coco = load_class_map_file(resolve_path(COCO_PRESET, "model.class_map_file"))
    if list(coco) == names:
        return f"COCO class names: model.class_map_file: {COCO_PRESET}", {
            n: coco[n] if coco[n] in classes else "" for n in names
        }
    return "by equal names (edit, save as YAML, set model.class_map_file)", {
        n: (n if n in classes else "") for n in names
    }


def inspect_model(model: str, classes: list[str], labels: str = "", metadata: str = "") -> dict[str, Any]:
    import onnxruntime as ort

    from argos_common.params import resolve
    from argos_inference.class_map import ClassMap
    from argos_inference.decoders import NMS_FREE_LAYOUTS
    from argos_inference.factory import create_detector
    from argos_inference.model_metadata import file_sha256, labels_files_beside, read_metadata, sidecar_path
    from argos_inference.onnx_model import load_graph
    from argos_inference.params import PARAMS

    path = Path(model)
    graph = load_graph(path)
    props = {p.key: p.value for p in graph.metadata_props}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    report: dict[str, Any] = {
        "model": str(path),
        "sha256": file_sha256(path),
        "bytes": path.stat().st_size,
        "inputs": [{"name": i.name, "shape": list(i.shape), "type": i.type} for i in session.get_inputs()],
        "outputs": [{"name": o.name, "shape": list(o.shape), "type": o.type} for o in session.get_outputs()],
        "metadata_props": {k: (v if len(v) <= 120 else v[:117] + "...") for k, v in props.items()},
        "labels_files_beside": [str(p) for p in labels_files_beside(path)],
        "sidecar": None,
    }
    del session
    side = Path(metadata) if metadata else sidecar_path(path)
    if metadata or side.is_file():
        try:
            read_metadata(path, None, side)
            report["sidecar"] = {"file": str(side), "applies": True}
        except ConfigError as exc:
            report["sidecar"] = {"file": str(side), "applies": False, "why": exc.problem}
    usable_sidecar = str(side) if report["sidecar"] and report["sidecar"]["applies"] else ""
    # a sidecar that does not apply is reported above and left out here, as the graph would refuse it
    meta = read_metadata(path, props, usable_sidecar or None, labels or None, use_sidecar=bool(usable_sidecar))
    report["class_names"] = {"names": meta.classes, "from": meta.source}
    how, mapping = _proposed_map(meta.classes, classes)
    report["proposed_class_map"] = {"how": how, "map": mapping}
    if mapping is not None:
        mapped = ClassMap(tuple(mapping[n] for n in meta.classes or []), how)
        report["proposed_class_map"]["classes_not_reported"] = mapped.unmapped(classes)
    values = {
        "engine": "onnxruntime",
        "classes": classes,
        "model.path": str(path),
        "model.metadata": usable_sidecar,
        "model.labels": labels,
        "model.class_map": [mapping[n] for n in meta.classes or []] if mapping else [],
    }
    if report["sidecar"] and not report["sidecar"]["applies"]:
        raise ConfigError("model.metadata", report["sidecar"]["why"])  # the graph would stop on it too
    detector = create_detector(resolve(PARAMS, values))
    described = detector.describe()
    report["decoding"] = {
        "layout": described["layout"],
        "why": _layout_reason(described["layout"], report["outputs"], props, "auto"),
        "resize": described["resize"],
        "nms_inside_model": described["layout"] in NMS_FREE_LAYOUTS,
        "argos_applies_nms": described["nms"],
        "input_size": described["input_size"],
        "color": described["color"],
        "mean": described["mean"],
        "std": described["std"],
    }
    report["_detector"] = detector
    return report


def run_on_source(report: dict[str, Any], source: str, frames: int, out: Path, classes: list[str]) -> dict:
    """Detections on `frames` frames of `source`: annotated PNGs and detections.json under `out`."""
    import cv2

    from argos_camera.annotate import annotate
    from argos_camera.params import PARAMS as CAMERA_PARAMS
    from argos_camera.sources import open_source
    from argos_common.params import resolve

    detector = report["_detector"]
    camera = resolve(CAMERA_PARAMS, {"source": source, "classes": classes})
    src = open_source(source, camera)
    out.mkdir(parents=True, exist_ok=True)
    per_frame, by_label, scores = [], Counter(), {}
    try:
        for index in range(frames):
            item = src.read()
            if item is None:
                break
            image = item[0]
            dets = detector.detect([image])[0]
            cv2.imwrite(str(out / f"frame_{index:04d}.png"), annotate(image, dets, (), None, classes))
            by_label.update(dets.labels)
            for label, score in zip(dets.labels, dets.scores):
                scores.setdefault(label, []).append(float(score))
            per_frame.append(
                {
                    "frame": index,
                    "size": [int(image.shape[1]), int(image.shape[0])],
                    "detections": [
                        {"label": lab, "score": round(float(s), 4), "box": [round(float(v), 1) for v in box]}
                        for lab, s, box in zip(dets.labels, dets.scores, dets.boxes)
                    ],
                }
            )
    finally:
        src.close()
    summary = {
        "source": source,
        "frames": len(per_frame),
        "detections_by_label": dict(by_label),
        "mean_score_by_label": {k: round(sum(v) / len(v), 4) for k, v in scores.items()},
        "model": {k: v for k, v in report.items() if not k.startswith("_")},
        "per_frame": per_frame,
    }
    (out / "detections.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def _print(report: dict[str, Any]) -> None:
    print(f"model    : {report['model']} ({report['bytes']} bytes, sha256 {report['sha256']})")
    for kind in ("inputs", "outputs"):
        for io in report[kind]:
            print(f"{kind[:-1]:<9}: {io['name']} {io['shape']} {io['type']}")
    d = report["decoding"]
    print(f"layout   : {d['layout']} ({d['why']})")
    print(f"nms      : {'inside the model' if d['nms_inside_model'] else 'not inside: ARGOS applies NMS'}")
    print(
        f"input    : {d['input_size'][0]}x{d['input_size'][1]} (HxW) {d['color']}, {d['resize']}, "
        f"mean {d['mean']}, std {d['std']}"
    )
    for key, value in report["metadata_props"].items():
        print(f"metadata : {key} = {value}")
    names = report["class_names"]
    count = len(names["names"]) if names["names"] else 0
    print(f"classes  : {count} names from {', '.join(names['from']) or 'nowhere'}")
    print(f"labels   : {', '.join(report['labels_files_beside']) or 'no labels file beside the model'}")
    side = report["sidecar"]
    if side is None:
        print("sidecar  : none")
    else:
        print(f"sidecar  : {side['file']} " + ("(applies)" if side["applies"] else f"(NOT applied: {side['why']})"))
    proposed = report["proposed_class_map"]
    print(f"class map: {proposed['how']}")
    if proposed["map"]:
        mapped = {k: v for k, v in proposed["map"].items() if v}
        print("  " + (", ".join(f"{k} -> {v}" for k, v in mapped.items()) or "no model class maps onto classes"))
        print(f"  ignored: {len(proposed['map']) - len(mapped)} model classes")
        print(f"  never reported: {', '.join(proposed['classes_not_reported']) or 'none'}")


def _cmd_inspect(args) -> int:
    from .config import default_config_path, load_config

    try:
        classes = args.classes or load_config(args.config or default_config_path()).node("inference")["classes"]
        report = inspect_model(args.model, list(classes), args.labels or "", args.metadata or "")
        _print(report)
        if args.source:
            summary = run_on_source(report, args.source, args.frames, Path(args.out), list(classes))
            print(
                f"ran on {summary['frames']} frames of {args.source}: {sum(summary['detections_by_label'].values())} "
                f"detections {summary['detections_by_label']}; PNGs and detections.json in {args.out}"
            )
        report["_detector"].close()
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def register(top) -> None:
    model = top.add_parser("model", help="look at a model file before running it")
    sub = model.add_subparsers(dest="model_command", required=True)
    inspect = sub.add_parser("inspect", help="inputs, outputs, layout, NMS, class names, proposed class map")
    inspect.add_argument("model", help="ONNX model file")
    inspect.add_argument("--config", help="parameter file whose classes to map onto (default: config/edge.yaml)")
    inspect.add_argument("--classes", nargs="+", help="deployment classes (default: the config's)")
    inspect.add_argument("--labels", help="labels file of the model's class names (model.labels)")
    inspect.add_argument("--metadata", help="sidecar JSON (model.metadata; default: <model>.json if present)")
    inspect.add_argument("--source", help="also run on frames of this source URI (synthetic://, file://, rtsp://, ...)")
    inspect.add_argument("--frames", type=int, default=10, help="with --source: frames to run (default 10)")
    inspect.add_argument("--out", default="model-inspect", help="with --source: folder for PNGs and detections.json")
    inspect.set_defaults(func=_cmd_inspect)
