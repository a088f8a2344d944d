"""Shared preprocessing of every DNN engine: letterbox, colour order, normalisation, batching.

A letterbox scales the source image uniformly to fit the model input and centres it on a padded
canvas. `Letterbox` keeps the exact affine map of that placement (per-axis scale of the resize
actually done, integer padding), so boxes decoded in model-input pixels map back to source pixels
with `to_source` without rounding drift; `to_model` is its inverse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 114  # grey padding, the convention YOLO-family models are trained with
COLOR_ORDERS = ("rgb", "bgr")
RESIZE_MODES = ("letterbox", "stretch")


@dataclass(frozen=True)
class Letterbox:
    """Source image (height, width) placed on a (input_height, input_width) canvas."""

    source_hw: tuple[int, int]
    input_hw: tuple[int, int]
    resized_hw: tuple[int, int]
    pad_top: int
    pad_left: int

    @classmethod
    def fit(cls, source_hw: Sequence[int], input_hw: Sequence[int]) -> Letterbox:
        (h, w), (ih, iw) = (int(source_hw[0]), int(source_hw[1])), (int(input_hw[0]), int(input_hw[1]))
        if min(h, w, ih, iw) <= 0:
            raise ValueError(f"image and input sizes must be positive, got {source_hw} -> {input_hw}")
        ratio = min(ih / h, iw / w)
        rh, rw = max(1, min(ih, round(h * ratio))), max(1, min(iw, round(w * ratio)))
        return cls((h, w), (ih, iw), (rh, rw), (ih - rh) // 2, (iw - rw) // 2)

    @classmethod
    def stretch(cls, source_hw: Sequence[int], input_hw: Sequence[int]) -> Letterbox:
        """The whole input covered, each axis scaled on its own (no padding): how DETR-family
        exporters preprocess."""
        (h, w), (ih, iw) = (int(source_hw[0]), int(source_hw[1])), (int(input_hw[0]), int(input_hw[1]))
        if min(h, w, ih, iw) <= 0:
            raise ValueError(f"image and input sizes must be positive, got {source_hw} -> {input_hw}")
        return cls((h, w), (ih, iw), (ih, iw), 0, 0)

    @property
    def scale_xy(self) -> tuple[float, float]:
        return self.resized_hw[1] / self.source_hw[1], self.resized_hw[0] / self.source_hw[0]

    def to_source(self, boxes: np.ndarray, clip: bool = True) -> np.ndarray:
        """x1 y1 x2 y2 boxes in model-input pixels -> source pixels (clipped to the image)."""
        sx, sy = self.scale_xy
        out = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
        out[:, 0::2] = (out[:, 0::2] - self.pad_left) / sx
        out[:, 1::2] = (out[:, 1::2] - self.pad_top) / sy
        if clip:
            np.clip(out[:, 0::2], 0, self.source_hw[1], out=out[:, 0::2])
            np.clip(out[:, 1::2], 0, self.source_hw[0], out=out[:, 1::2])
        return out

    def to_model(self, boxes: np.ndarray) -> np.ndarray:
        """x1 y1 x2 y2 boxes in source pixels -> model-input pixels."""
        sx, sy = self.scale_xy
        out = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
        out[:, 0::2] = out[:, 0::2] * sx + self.pad_left
        out[:, 1::2] = out[:, 1::2] * sy + self.pad_top
        return out

    def apply(self, image: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The letterboxed uint8 image (input_h, input_w, channels), written into `out` if given."""
        ih, iw = self.input_hw
        if out is None:
            out = np.empty((ih, iw) + image.shape[2:], dtype=np.uint8)
        rh, rw = self.resized_hw
        if (rh, rw) != (ih, iw):
            out.fill(PAD_VALUE)
        resized = (
            image
            if (rh, rw) == self.source_hw
            else cv2.resize(
                image, (rw, rh), interpolation=cv2.INTER_AREA if rh < self.source_hw[0] else cv2.INTER_LINEAR
            )
        )
        out[self.pad_top : self.pad_top + rh, self.pad_left : self.pad_left + rw] = resized.reshape(rh, rw, -1)
        return out


@dataclass(frozen=True)
class InputSpec:
    """How the model wants its input: size, channel order and normalisation.

    A model input value is (pixel / 255 - mean[c]) / std[c] for channel c in the model's order
    (mean 0, std 1: 0..1; std 1/255: raw 0..255)."""

    height: int
    width: int
    color: str = "rgb"
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    dtype: str = "float32"
    resize: str = "letterbox"

    def __post_init__(self):
        if self.color not in COLOR_ORDERS:
            raise ValueError(f"color must be one of {COLOR_ORDERS}, got {self.color!r}")
        if self.resize not in RESIZE_MODES:
            raise ValueError(f"resize must be one of {RESIZE_MODES}, got {self.resize!r}")
        if len(self.mean) != 3 or len(self.std) != 3:
            raise ValueError("mean and std need one value per channel (3)")
        if any(s == 0 for s in self.std):
            raise ValueError("std values must be non-zero")
        if self.height <= 0 or self.width <= 0:
            raise ValueError(f"input size must be positive, got {self.height}x{self.width}")


class Preprocessor:
    """BGR uint8 source images -> one NCHW batch in the model's layout, plus each image's Letterbox."""

    def __init__(self, spec: InputSpec):
        self.spec = spec
        std = np.asarray(spec.std, dtype=np.float32)
        # folded into one multiply-add per value: x * gain + offset
        self._gain = (1.0 / (255.0 * std)).reshape(3, 1, 1)
        self._offset = (-np.asarray(spec.mean, dtype=np.float32) / std).reshape(3, 1, 1)
        self._canvas = np.empty((spec.height, spec.width, 3), dtype=np.uint8)
        self._letterboxes: dict[tuple[int, int], Letterbox] = {}

    @property
    def input_hw(self) -> tuple[int, int]:
        return self.spec.height, self.spec.width

    def letterbox_for(self, source_hw: tuple[int, int]) -> Letterbox:
        box = self._letterboxes.get(source_hw)
        if box is None:
            fit = Letterbox.stretch if self.spec.resize == "stretch" else Letterbox.fit
            box = self._letterboxes[source_hw] = fit(source_hw, self.input_hw)
        return box

    def __call__(
        self, images: Sequence[np.ndarray], batch_size: int | None = None
    ) -> tuple[np.ndarray, list[Letterbox]]:
        """`batch_size` larger than len(images) pads the batch with zeros (static-batch models)."""
        count = max(len(images), batch_size or 0)
        batch = np.zeros((count, 3, self.spec.height, self.spec.width), dtype=np.float32)
        boxes = []
        for i, image in enumerate(images):
            if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
                raise ValueError(f"image {i}: expected an HxWx3 uint8 BGR image, got {image.shape} {image.dtype}")
            box = self.letterbox_for(image.shape[:2])
            canvas = box.apply(image, self._canvas)
            if self.spec.color == "rgb":
                canvas = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB)
            np.multiply(canvas.transpose(2, 0, 1), self._gain, out=batch[i])
            batch[i] += self._offset
            boxes.append(box)
        return batch.astype(self.spec.dtype, copy=False), boxes
