"""The two interfaces of the inference package.

`Detector` is what the inference node talks to: source images in, `Detections` out, in
source-image pixels with labels from the configured class list. Everything behind it (model
formats, tensor layouts, letterboxing, NMS) stays inside the package.

`Engine` is the narrower contract of a tensor back-end (ONNX Runtime, TensorRT). A DNN detector
is composed of three parts:

    shared preprocessing (letterbox + normalise to the engine's input_shape)
      -> Engine.infer(batch)              (back-end specific, nothing else is)
      -> output decoder + NMS             (per model family: YOLOv5/v8/v11, RT-DETR, end-to-end)
      -> boxes mapped back through the letterbox to source pixels

so that adding a back-end means implementing `Engine` only, and adding a model family means
adding a decoder only (see preprocess.py, decoders.py, postprocess.py, dnn.py). Detectors that need
no tensors at all (e.g. `motion.MotionDetector`) implement `Detector` directly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from argos_common.detections import Detections

from .decoders import OutputInfo


class Detector(ABC):
    """Turns BGR uint8 source images into one `Detections` per image.

    A detector may keep state across calls (a background model does); callers feed the images
    of one camera in capture order, from one thread at a time.
    """

    name: str = "detector"

    @abstractmethod
    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """One `Detections` per image, boxes in that image's pixel coordinates."""

    @abstractmethod
    def describe(self) -> dict:
        """Plain-data description (engine name, settings, input size...) for logs and stats."""

    def set_score_thresholds(self, params: Mapping[str, Any]) -> None:
        """Take `score_threshold` (and per-class thresholds, where the detector has them) from the
        resolved inference parameters, from the next frame on; raises ConfigError naming the key."""
        raise NotImplementedError(f"{type(self).__name__} cannot change its thresholds while running")

    def close(self) -> None:
        """Release native resources; the detector is unusable afterwards."""

    def __enter__(self) -> Detector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Engine(ABC):
    """A tensor back-end: a loaded model that maps a preprocessed batch to raw output tensors.

    `input_shape` is the model's input layout (e.g. (N, 3, 640, 640)); a dynamic dimension is
    reported as -1. `infer` receives a batch already in that layout and dtype and returns the
    model outputs in declaration order, undecoded.
    """

    name: str = "engine"

    @abstractmethod
    def load(self) -> None:
        """Load or build the model (may be slow: engine build, provider initialisation)."""

    @property
    @abstractmethod
    def input_shape(self) -> tuple[int, ...]:
        """Input tensor shape; valid after `load()`."""

    @abstractmethod
    def infer(self, batch: np.ndarray) -> list[np.ndarray]:
        """Run the model on `batch` and return its raw outputs."""

    @property
    def input_dtype(self) -> str:
        """numpy dtype name of the input tensor."""
        return "float32"

    @abstractmethod
    def output_infos(self, shapes: Sequence[tuple[int, ...]] | None = None) -> list[OutputInfo]:
        """Name, shape (declared; or `shapes` from a real run) and integer-ness of each output."""

    def metadata_props(self) -> dict[str, str]:
        """Key/value metadata stored in the model file (class names, input size), if any."""
        return {}

    @abstractmethod
    def describe(self) -> dict:
        """Plain-data description: back-end, model path, inputs/outputs, precision, device."""

    def close(self) -> None:
        """Release sessions, device buffers and streams."""
