"""DnnDetector: shared preprocessing + an Engine + the decoder of the model's output layout +
thresholds, class-aware NMS and the class map, boxes mapped back to source pixels."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from argos_common.detections import Detections

from .class_map import ClassMap
from .decoders import DECODERS, NMS_FREE_LAYOUTS, Candidates
from .engine import Detector, Engine
from .postprocess import PostProcess
from .preprocess import Preprocessor


@dataclass(frozen=True)
class DecodeStage:
    layout: str
    decode: Callable[..., Candidates]
    postprocess: PostProcess


class DnnDetector(Detector):
    def __init__(
        self,
        engine: Engine,
        preprocessor: Preprocessor,
        decode: DecodeStage,
        class_map: ClassMap,
        batch_size: int,
        static_batch: bool,
    ):
        self.engine = engine
        self.name = engine.name
        self.preprocessor = preprocessor
        self.stage = decode
        self.class_map = class_map
        self.batch_size = max(1, int(batch_size))
        self.static_batch = static_batch
        self._labels = np.array(list(class_map.labels), dtype=object)
        self.engine_calls = 0
        self.images = 0

    def set_score_thresholds(self, params: Mapping[str, Any]) -> None:
        thresholds = self.class_map.thresholds(
            params["score_threshold"], params["model.class_thresholds.labels"], params["model.class_thresholds.values"]
        )
        post = replace(self.stage.postprocess, class_thresholds=thresholds)
        self.stage = replace(self.stage, postprocess=post)

    def fit_batch(self, images: int) -> int:
        """Take up to `images` frames per engine call (several cameras sharing this detector) when
        the model's batch dimension is dynamic; a fixed batch stays as the model has it. Returns
        the batch size now used."""
        if not self.static_batch:
            self.batch_size = max(self.batch_size, int(images))
        return self.batch_size

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        results: list[Detections] = []
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size]
            batch, letterboxes = self.preprocessor(chunk, self.batch_size if self.static_batch else None)
            outputs = self.engine.infer(batch)
            self.engine_calls += 1
            self.images += len(chunk)
            results.extend(self._to_detections(outputs, i, box) for i, box in enumerate(letterboxes))
        return results

    def _to_detections(self, outputs: list[np.ndarray], index: int, letterbox) -> Detections:
        candidates = self.stage.decode(outputs, index, self.preprocessor.input_hw)
        kept = self.stage.postprocess(candidates)
        if len(kept) == 0:
            return Detections.empty()
        boxes = letterbox.to_source(kept.boxes)
        return Detections(boxes, kept.scores, list(self._labels[kept.class_ids]))

    def describe(self) -> dict:
        spec = self.preprocessor.spec
        post = self.stage.postprocess
        return {
            "engine": self.name,
            "backend": self.engine.describe(),
            "layout": self.stage.layout,
            "input_size": [spec.height, spec.width],
            "color": spec.color,
            "resize": spec.resize,
            "mean": list(spec.mean),
            "std": list(spec.std),
            "class_map": list(self.class_map.labels),
            "class_map_from": self.class_map.origin,
            "class_thresholds": [float(t) for t in post.class_thresholds],
            "nms": post.nms and self.stage.layout not in NMS_FREE_LAYOUTS,
            "nms_iou": post.iou_threshold,
            "max_detections": post.max_detections,
            "batch": self.batch_size,
        }

    def close(self) -> None:
        self.engine.close()


__all__ = ["DnnDetector", "DecodeStage", "DECODERS"]
