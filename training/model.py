"""A small anchor-free detector for the synthetic intersection ("argos-traffic").

Layout (input 3 x H x W, RGB in [0, 1], H and W multiples of 16):

    stem   conv 3x3 s2                     -> H/2   (w0)
    conv 3x3 s2                            -> H/4   (w1)
    conv 3x3 s2 + CSP block                -> H/8   (w2)   = C3
    conv 3x3 s2 + CSP block                -> H/16  (w3)   = C4
    neck:  C4 -> 1x1 -> upsample x2, concat C3 -> CSP block  -> P3 (stride 8)
           C4                                              -> P4 (stride 16)
    head per level, decoupled: box branch (3x3 conv -> 1x1 -> 4 distances l,t,r,b)
                               cls branch (3x3 conv -> 1x1 -> C logits)

The objects are small (a car is about 20 x 8 px at 640 wide, a bicycle 8 x 3 px), so most of the
compute sits at stride 8; the stride-16 level serves long vehicles (a semi-trailer is up to
75 px long). Box distances are softplus(raw) * stride from the cell centre.

`forward` returns the raw per-anchor predictions for training; `ExportWrapper` returns the one
ONNX output in the YOLOv8 layout [B, 4 + C, N]: rows 0..3 box cx, cy, w, h in input pixels,
rows 4.. class scores after sigmoid; no NMS.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class ModelConfig:
    num_classes: int = 11
    widths: tuple[int, int, int, int] = (16, 32, 64, 96)  # stride 2, 4, 8, 16
    depth: int = 1  # bottlenecks per CSP block
    head_width: int = 48
    strides: tuple[int, int] = (8, 16)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        d = dict(d)
        for k in ("widths", "strides"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)


class ConvBNAct(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, k: int = 3, s: int = 1):
        super().__init__(
            nn.Conv2d(c_in, c_out, k, s, k // 2, bias=False),
            nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.1),
            nn.SiLU(inplace=True),
        )


class Residual(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.a = ConvBNAct(c, c, 3)
        self.b = ConvBNAct(c, c, 3)

    def forward(self, x):
        return x + self.b(self.a(x))


class CSPBlock(nn.Module):
    """1x1 expand, split in halves, n residual units on one half, concat every stage, 1x1 fuse."""

    def __init__(self, c_in: int, c_out: int, n: int = 1):
        super().__init__()
        h = c_out // 2
        self.expand = ConvBNAct(c_in, 2 * h, 1)
        self.units = nn.ModuleList(Residual(h) for _ in range(n))
        self.fuse = ConvBNAct((2 + n) * h, c_out, 1)

    def forward(self, x):
        parts = list(self.expand(x).chunk(2, 1))
        for unit in self.units:
            parts.append(unit(parts[-1]))
        return self.fuse(torch.cat(parts, 1))


class Head(nn.Module):
    def __init__(self, c_in: int, width: int, num_classes: int, stride: int):
        super().__init__()
        self.box = nn.Sequential(ConvBNAct(c_in, width, 3), nn.Conv2d(width, 4, 1))
        self.cls = nn.Sequential(ConvBNAct(c_in, width, 3), nn.Conv2d(width, num_classes, 1))
        self.stride = stride
        prior = 0.01
        nn.init.constant_(self.cls[-1].bias, -math.log((1 - prior) / prior))
        nn.init.zeros_(self.box[-1].bias)
        nn.init.normal_(self.box[-1].weight, std=0.01)

    def forward(self, x):
        return self.box(x), self.cls(x)


class TrafficDetector(nn.Module):
    def __init__(self, cfg: ModelConfig = ModelConfig()):
        super().__init__()
        self.cfg = cfg
        w0, w1, w2, w3 = cfg.widths
        self.stem = ConvBNAct(3, w0, 3, 2)
        self.down1 = ConvBNAct(w0, w1, 3, 2)
        self.down2 = nn.Sequential(ConvBNAct(w1, w2, 3, 2), CSPBlock(w2, w2, cfg.depth))
        self.down3 = nn.Sequential(ConvBNAct(w2, w3, 3, 2), CSPBlock(w3, w3, cfg.depth))
        self.lateral = ConvBNAct(w3, w2, 1)
        self.merge = CSPBlock(2 * w2, w2, cfg.depth)
        self.heads = nn.ModuleList(
            [
                Head(w2, cfg.head_width, cfg.num_classes, cfg.strides[0]),
                Head(w3, cfg.head_width, cfg.num_classes, cfg.strides[1]),
            ]
        )

    def features(self, x):
        c3 = self.down2(self.down1(self.stem(x)))
        c4 = self.down3(c3)
        up = F.interpolate(self.lateral(c4), scale_factor=2.0, mode="nearest")
        p3 = self.merge(torch.cat([up, c3], 1))
        return [p3, c4]

    def forward(self, x):
        """Raw predictions: boxes (B, N, 4) x1 y1 x2 y2 in input pixels, logits (B, N, C),
        anchor centres (N, 2) and strides (N,)."""
        boxes, logits, anchors, strides = [], [], [], []
        for feat, head in zip(self.features(x), self.heads):
            raw_box, raw_cls = head(feat)
            b, _, h, w = raw_box.shape
            ys = (torch.arange(h, device=x.device, dtype=torch.float32) + 0.5) * head.stride
            xs = (torch.arange(w, device=x.device, dtype=torch.float32) + 0.5) * head.stride
            gy, gx = torch.meshgrid(ys, xs, indexing="ij")
            centre = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)  # (hw, 2)
            dist = F.softplus(raw_box.float()).flatten(2).transpose(1, 2) * head.stride  # (B, hw, 4)
            xyxy = torch.cat([centre - dist[..., :2], centre + dist[..., 2:]], -1)
            boxes.append(xyxy)
            logits.append(raw_cls.float().flatten(2).transpose(1, 2))
            anchors.append(centre)
            strides.append(torch.full((h * w,), float(head.stride), device=x.device))
        return torch.cat(boxes, 1), torch.cat(logits, 1), torch.cat(anchors, 0), torch.cat(strides, 0)


class ExportWrapper(nn.Module):
    """[B, 3, H, W] RGB 0..1 -> [B, 4 + C, N]: cx, cy, w, h (input pixels), sigmoid class scores."""

    def __init__(self, model: TrafficDetector):
        super().__init__()
        self.model = model

    def forward(self, images):
        boxes, logits, _, _ = self.model(images)
        cxcy = (boxes[..., :2] + boxes[..., 2:]) * 0.5
        wh = boxes[..., 2:] - boxes[..., :2]
        out = torch.cat([cxcy, wh, torch.sigmoid(logits)], -1)
        return out.transpose(1, 2)


def num_anchors(height: int, width: int, strides=(8, 16)) -> int:
    return sum((height // s) * (width // s) for s in strides)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
