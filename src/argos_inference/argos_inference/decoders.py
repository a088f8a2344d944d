"""Raw model outputs -> candidate boxes (x1 y1 x2 y2, model-input pixels), scores, class indices.

One decoder per output layout; all are vectorised over the candidates of one image:

- ``yolov4``: DeepStream-Yolo export, one output [B, N, 6] = x1 y1 x2 y2 (pixels), score, class
  (candidates before NMS)
- ``end2end``: Ultralytics end-to-end exports (YOLOv10, YOLO26, ``end2end: True`` in the ONNX
  metadata): the same [B, N, 6] rows, already final (no NMS: the head suppressed duplicates)
- ``yolov5``: [B, N, 5+C] = cx cy w h (pixels), objectness, C class probabilities
- ``yolov8``: YOLOv8 / YOLO11, [B, 4+C, N] = cx cy w h (pixels), C class scores
- ``detr``: RT-DETR / DETR style, [B, Q, 4+C] = cx cy w h normalised to 0..1, C class scores
  (set-prediction models: no NMS; Ultralytics RT-DETR exports before 8.4)
- ``rtdetr``: Ultralytics 8.4 RT-DETR exports (``head: RTDETRDecoder`` in the ONNX metadata),
  [B, K, 6] = cx cy w h normalised to 0..1, score, class: the top K (query, class) pairs, final
- ``detr_logits``: two outputs, class logits [B, Q, C] and boxes [B, Q, 4] cx cy w h normalised
  (HF transformers RT-DETR ``logits``/``pred_boxes``, RF-DETR ``labels``/``dets``): sigmoid
  scores, the top Q (query, class) pairs as HF's ``post_process_object_detection`` takes them
- ``e2e``: end-to-end NMS outputs (EfficientNMS-style): num_dets [B,1], boxes [B,K,4] x1 y1 x2 y2
  (pixels), scores [B,K], classes [B,K] (already suppressed: no NMS)

`metadata_layout` takes the layout from what an Ultralytics export says about itself (its head,
``end2end``, ``nms`` inside); else `detect_layout` picks it from the outputs' names and shapes;
`model.layout` overrides both. The DETR family is trained on images resized to the input without
keeping the aspect ratio (Ultralytics' and HF's RT-DETR preprocessing), the YOLO family on
letterboxed ones: `STRETCH_LAYOUTS` says which.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

LAYOUTS = ("yolov4", "yolov5", "yolov8", "detr", "rtdetr", "detr_logits", "e2e", "end2end")
NMS_FREE_LAYOUTS = frozenset({"detr", "rtdetr", "detr_logits", "e2e", "end2end"})
STRETCH_LAYOUTS = frozenset({"detr", "rtdetr", "detr_logits"})


class LayoutError(ValueError):
    """The model's outputs do not fit the (detected or configured) layout."""


@dataclass
class Candidates:
    boxes: np.ndarray  # (N, 4) float32 x1 y1 x2 y2, model-input pixels
    scores: np.ndarray  # (N,) float32
    class_ids: np.ndarray  # (N,) int64

    def __len__(self) -> int:
        return len(self.scores)

    def select(self, keep) -> Candidates:
        return Candidates(self.boxes[keep], self.scores[keep], self.class_ids[keep])


@dataclass(frozen=True)
class OutputInfo:
    name: str
    shape: tuple[int, ...]
    integer: bool = False


def _cxcywh_to_xyxy(b: np.ndarray) -> np.ndarray:
    half = b[:, 2:4] * 0.5
    return np.concatenate([b[:, 0:2] - half, b[:, 0:2] + half], axis=1)


def _best_class(class_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids = class_scores.argmax(axis=1)
    return class_scores[np.arange(len(ids)), ids], ids


def _single(outputs: Sequence[np.ndarray], layout: str, width: int | None = None) -> np.ndarray:
    if len(outputs) != 1 or outputs[0].ndim != 3:
        raise LayoutError(f"{layout} expects one output [batch, a, b], got shapes {[tuple(o.shape) for o in outputs]}")
    if width is not None and outputs[0].shape[2] != width:
        raise LayoutError(f"{layout} expects a last dimension of {width}, got {tuple(outputs[0].shape)}")
    return outputs[0]


def decode_yolov4(outputs, image: int, input_hw, num_classes: int | None = None) -> Candidates:
    rows = _single(outputs, "yolov4", 6)[image].astype(np.float32, copy=False)
    return Candidates(rows[:, :4].copy(), rows[:, 4].copy(), np.rint(rows[:, 5]).astype(np.int64))


def decode_yolov5(outputs, image: int, input_hw, num_classes: int | None = None) -> Candidates:
    rows = _single(outputs, "yolov5")[image].astype(np.float32, copy=False)
    if rows.shape[1] < 6:
        raise LayoutError(f"yolov5 expects [batch, N, 5+C], got {tuple(outputs[0].shape)}")
    scores, ids = _best_class(rows[:, 5:] * rows[:, 4:5])
    return Candidates(_cxcywh_to_xyxy(rows[:, :4]), scores, ids.astype(np.int64))


def decode_yolov8(outputs, image: int, input_hw, num_classes: int | None = None) -> Candidates:
    columns = _single(outputs, "yolov8")[image].astype(np.float32, copy=False)
    if columns.shape[0] < 5:
        raise LayoutError(f"yolov8 expects [batch, 4+C, N], got {tuple(outputs[0].shape)}")
    rows = columns.T
    scores, ids = _best_class(rows[:, 4:])
    return Candidates(_cxcywh_to_xyxy(rows[:, :4]), scores, ids.astype(np.int64))


def decode_detr(outputs, image: int, input_hw, num_classes: int | None = None) -> Candidates:
    rows = _single(outputs, "detr")[image].astype(np.float32, copy=False)
    if rows.shape[1] < 5:
        raise LayoutError(f"detr expects [batch, Q, 4+C], got {tuple(outputs[0].shape)}")
    height, width = input_hw
    boxes = _cxcywh_to_xyxy(rows[:, :4]) * np.array([width, height, width, height], dtype=np.float32)
    scores, ids = _best_class(rows[:, 4:])
    return Candidates(boxes, scores, ids.astype(np.int64))


def decode_rtdetr(outputs, image: int, input_hw, num_classes: int | None = None) -> Candidates:
    rows = _single(outputs, "rtdetr", 6)[image].astype(np.float32, copy=False)
    height, width = input_hw
    boxes = _cxcywh_to_xyxy(rows[:, :4]) * np.array([width, height, width, height], dtype=np.float32)
    return Candidates(boxes, rows[:, 4].copy(), np.rint(rows[:, 5]).astype(np.int64))


def detr_logits_order(infos: Sequence[OutputInfo]) -> tuple[int, int]:
    """Indices of (logits, boxes) among two outputs: by name, else the one 4 wide holds boxes."""
    if len(infos) != 2 or any(len(o.shape) != 3 for o in infos):
        raise LayoutError(
            "detr_logits expects 2 outputs, logits [B, Q, C] and boxes [B, Q, 4], got "
            f"{[(o.name, o.shape) for o in infos]}"
        )
    named = [i for i, o in enumerate(infos) if any(w in o.name.lower() for w in ("box", "dets"))]
    if len(named) == 1:
        boxes = named[0]
    else:
        wide4 = [i for i, o in enumerate(infos) if o.shape[2] == 4]
        if len(wide4) != 1:
            raise LayoutError(
                f"detr_logits: cannot tell the boxes output from the logits in {[(o.name, o.shape) for o in infos]}"
            )
        boxes = wide4[0]
    logits = 1 - boxes
    if infos[boxes].shape[2] != 4 or infos[boxes].shape[1] != infos[logits].shape[1]:
        raise LayoutError(
            f"detr_logits expects boxes [B, Q, 4] and logits [B, Q, C] with the same Q, got "
            f"{[(o.name, o.shape) for o in infos]}"
        )
    return logits, boxes


def decode_detr_logits(
    outputs, image: int, input_hw, num_classes: int | None = None, order: tuple[int, int] = (0, 1)
) -> Candidates:
    if len(outputs) != 2:
        raise LayoutError(f"detr_logits expects 2 outputs, got {len(outputs)}")
    logits = outputs[order[0]][image].astype(np.float32, copy=False)
    boxes = outputs[order[1]][image].astype(np.float32, copy=False)
    if logits.ndim != 2 or boxes.ndim != 2 or boxes.shape[1] != 4 or boxes.shape[0] != logits.shape[0]:
        raise LayoutError(
            f"detr_logits expects logits [B, Q, C] and boxes [B, Q, 4], got {[tuple(o.shape) for o in outputs]}"
        )
    queries, classes = logits.shape
    scores = 1.0 / (1.0 + np.exp(-logits.reshape(-1)))
    # a query may score above threshold for several classes: like HF's post-processing, keep the
    # best Q (query, class) pairs, not one class per query
    top = np.argsort(-scores, kind="stable")[:queries]
    height, width = input_hw
    xyxy = _cxcywh_to_xyxy(boxes) * np.array([width, height, width, height], dtype=np.float32)
    return Candidates(xyxy[top // classes], scores[top].astype(np.float32), (top % classes).astype(np.int64))


def e2e_output_order(infos: Sequence[OutputInfo]) -> tuple[int, int, int, int]:
    """Indices of (num_dets, boxes, scores, classes) among four outputs, by name, else by shape."""
    if len(infos) != 4:
        raise LayoutError(f"e2e expects 4 outputs (num_dets, boxes, scores, classes), got {len(infos)}")
    by_name = {}
    for role, words in (
        ("num", ("num",)),
        ("boxes", ("box",)),
        ("scores", ("score",)),
        ("classes", ("class", "label")),
    ):
        hits = [i for i, info in enumerate(infos) if any(w in info.name.lower() for w in words)]
        if len(hits) == 1:
            by_name[role] = hits[0]
    if len(set(by_name.values())) == 4 and len(by_name) == 4:
        return by_name["num"], by_name["boxes"], by_name["scores"], by_name["classes"]
    num = [i for i, o in enumerate(infos) if len(o.shape) in (1, 2) and (len(o.shape) == 1 or o.shape[1] == 1)]
    boxes = [i for i, o in enumerate(infos) if len(o.shape) == 3 and o.shape[2] == 4]
    rest = [i for i in range(4) if i not in num[:1] + boxes[:1]]
    if len(num) < 1 or len(boxes) != 1 or len(rest) != 2:
        raise LayoutError(
            "e2e outputs not recognised; expected num_dets [B,1], boxes [B,K,4], scores [B,K], "
            f"classes [B,K], got {[(o.name, o.shape) for o in infos]}"
        )
    first, second = rest
    if infos[first].integer and not infos[second].integer:
        first, second = second, first  # the integer one holds class indices
    return num[0], boxes[0], first, second


def decode_e2e(
    outputs, image: int, input_hw, num_classes: int | None = None, order: tuple[int, int, int, int] = (0, 1, 2, 3)
) -> Candidates:
    if len(outputs) != 4:
        raise LayoutError(f"e2e expects 4 outputs, got {len(outputs)}")
    num, boxes, scores, classes = (outputs[i] for i in order)
    count = int(np.asarray(num[image]).reshape(-1)[0])
    count = max(0, min(count, boxes.shape[1]))
    return Candidates(
        boxes[image, :count].astype(np.float32),
        scores[image, :count].astype(np.float32).reshape(-1),
        np.rint(classes[image, :count]).astype(np.int64).reshape(-1),
    )


def decode_end2end(outputs, image: int, input_hw, num_classes: int | None = None) -> Candidates:
    rows = _single(outputs, "end2end", 6)[image].astype(np.float32, copy=False)
    return Candidates(rows[:, :4].copy(), rows[:, 4].copy(), np.rint(rows[:, 5]).astype(np.int64))


DECODERS: dict[str, Callable[..., Candidates]] = {
    "yolov4": decode_yolov4,
    "end2end": decode_end2end,
    "yolov5": decode_yolov5,
    "yolov8": decode_yolov8,
    "detr": decode_detr,
    "rtdetr": decode_rtdetr,
    "detr_logits": decode_detr_logits,
    "e2e": decode_e2e,
}


def class_count(layout: str, shapes: Sequence[tuple[int, ...]]) -> int | None:
    """Number of classes the outputs encode, where the layout encodes it (None for yolov4, e2e)."""
    if layout == "yolov5":
        return shapes[0][2] - 5
    if layout == "yolov8":
        return shapes[0][1] - 4
    if layout == "detr":
        return shapes[0][2] - 4
    if layout == "detr_logits" and len(shapes) == 2:
        infos = [OutputInfo(f"output{i}", tuple(s)) for i, s in enumerate(shapes)]
        try:
            return shapes[detr_logits_order(infos)[0]][2]
        except LayoutError:
            return None
    return None


def is_end2end(props: dict[str, str] | None) -> bool:
    """Whether the exporter says its head is end-to-end (Ultralytics metadata `end2end: True`)."""
    return _true((props or {}).get("end2end"))


def _true(value) -> bool:
    return str(value if value is not None else "").strip().lower() in ("true", "1")


def _export_args(props: dict[str, str]) -> dict:
    """Ultralytics' `args` metadata: the export arguments, a Python dict repr."""
    import ast

    try:
        value = ast.literal_eval(props.get("args", "") or "{}")
    except (ValueError, SyntaxError):
        return {}
    return value if isinstance(value, dict) else {}


def metadata_layout(props: dict[str, str] | None, infos: Sequence[OutputInfo]) -> tuple[str, str] | None:
    """(layout, why) from what an Ultralytics export says about itself, or None when it says
    nothing conclusive. The exporter's word settles what shapes cannot: [1, N, 6] rows are final
    end-to-end rows (end2end head or NMS exported inside, x1 y1 x2 y2 pixels), RT-DETR rows (cx cy
    w h normalised) or DeepStream-Yolo candidates still to be NMS'd, all the same shape."""
    props = props or {}
    head = str(props.get("head", "")).strip()
    shapes = [tuple(o.shape) for o in infos]
    if len(shapes) != 1 or len(shapes[0]) != 3:
        return None
    width = shapes[0][2]
    if head == "RTDETRDecoder":
        if width == 6:
            return "rtdetr", "head: RTDETRDecoder, rows cx cy w h (normalised) score class (Ultralytics 8.4+)"
        return "detr", "head: RTDETRDecoder, rows cx cy w h (normalised) + class scores (Ultralytics < 8.4)"
    if width == 6 and is_end2end(props):
        return "end2end", "end2end: True (NMS-free head), rows x1 y1 x2 y2 score class"
    if width == 6 and _true(_export_args(props).get("nms")):
        return "end2end", "exported with nms=True (NMS inside the model), rows x1 y1 x2 y2 score class"
    channels = shapes[0][1]
    if head.endswith("Detect") and isinstance(channels, int) and isinstance(width, int) and channels < width:
        return "yolov8", f"head: {head}, channels first: 4 box rows + {channels - 4} class rows"
    return None


def detect_layout(infos: Sequence[OutputInfo], num_classes: int | None) -> str:
    """The layout of outputs with these (concrete) shapes; `num_classes` (from the class map)
    disambiguates single-output layouts. Raises LayoutError when none or several fit."""
    shapes = [tuple(o.shape) for o in infos]
    if len(infos) == 4:
        e2e_output_order(infos)
        return "e2e"
    if len(infos) == 2 and all(len(s) == 3 for s in shapes):
        try:
            logits, _ = detr_logits_order(infos)
        except LayoutError as exc:
            raise LayoutError(f"{exc}; set model.layout to one of {', '.join(LAYOUTS)}") from None
        if num_classes is not None and shapes[logits][2] != num_classes:
            raise LayoutError(
                f"logits output {infos[logits].name} {shapes[logits]} has {shapes[logits][2]} classes, "
                f"the class map {num_classes}"
            )
        return "detr_logits"
    if len(infos) != 1 or len(shapes[0]) != 3:
        raise LayoutError(
            f"unknown output layout {[(o.name, s) for o, s in zip(infos, shapes)]}; "
            f"set model.layout to one of {', '.join(LAYOUTS)}"
        )
    _, a, b = shapes[0]
    if num_classes is not None:
        fits = [
            name
            for name, ok in (
                ("yolov8", a == 4 + num_classes and b > a),
                ("yolov5", b == 5 + num_classes),
                ("detr", b == 4 + num_classes),
                ("yolov4", b == 6),
            )
            if ok
        ]
    else:  # without a class count: channels-first is yolov8, a 6-wide row is yolov4
        fits = ["yolov8"] if a < b else (["yolov4"] if b == 6 else [])
    if len(fits) == 1:
        return fits[0]
    what = "fits several layouts (" + ", ".join(fits) + ")" if fits else "fits no known layout"
    classes = f" with {num_classes} classes" if num_classes is not None else ""
    raise LayoutError(
        f"output {infos[0].name} {shapes[0]}{classes} {what}; set model.layout to one of {', '.join(LAYOUTS)}"
    )
