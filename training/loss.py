"""Task-aligned assignment and detection losses for training.model.TrafficDetector.

Assignment (per image, per ground-truth box g):
  candidates  anchors whose centre lies inside g, or within `radius` strides of g's centre
              (the second rule gives tiny boxes -- a bicycle is 8 x 3 px -- candidates at all);
  alignment   t = s^alpha * IoU^beta, s = predicted score of g's class, IoU of the predicted box;
  positives   the top-k candidates by t; an anchor claimed by several boxes keeps the one with the
              highest IoU;
  targets     class target = t / max_t(g) * max_IoU(g) (IoU-aware soft label), box target = g.
Anchors that are no positive but are candidates of an ignore box get no classification loss.

Losses: BCE on the soft class targets (sum / sum of targets), CIoU and L1 on the l,t,r,b
distances in strides, both weighted by the anchor's class target.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def pairwise_iou(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """a (B, M, 4), b (B, N, 4) x1 y1 x2 y2 -> (B, M, N)."""
    lt = torch.maximum(a[:, :, None, :2], b[:, None, :, :2])
    rb = torch.minimum(a[:, :, None, 2:], b[:, None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[..., 2:] - a[..., :2]).clamp(min=0).prod(-1)
    area_b = (b[..., 2:] - b[..., :2]).clamp(min=0).prod(-1)
    return inter / (area_a[:, :, None] + area_b[:, None, :] - inter + eps)


def ciou(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """Complete IoU of matched boxes (K, 4) x1 y1 x2 y2 -> (K,)."""
    pw, ph = (pred[:, 2] - pred[:, 0]).clamp(min=eps), (pred[:, 3] - pred[:, 1]).clamp(min=eps)
    tw, th = (target[:, 2] - target[:, 0]).clamp(min=eps), (target[:, 3] - target[:, 1]).clamp(min=eps)
    iw = (torch.minimum(pred[:, 2], target[:, 2]) - torch.maximum(pred[:, 0], target[:, 0])).clamp(min=0)
    ih = (torch.minimum(pred[:, 3], target[:, 3]) - torch.maximum(pred[:, 1], target[:, 1])).clamp(min=0)
    inter = iw * ih
    iou = inter / (pw * ph + tw * th - inter + eps)
    cw = torch.maximum(pred[:, 2], target[:, 2]) - torch.minimum(pred[:, 0], target[:, 0])
    ch = torch.maximum(pred[:, 3], target[:, 3]) - torch.minimum(pred[:, 1], target[:, 1])
    diag = cw**2 + ch**2 + eps
    centre = (
        (pred[:, 0] + pred[:, 2] - target[:, 0] - target[:, 2]) ** 2
        + (pred[:, 1] + pred[:, 3] - target[:, 1] - target[:, 3]) ** 2
    ) / 4
    v = (4 / math.pi**2) * (torch.atan(tw / th) - torch.atan(pw / ph)) ** 2
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou - (centre / diag + v * alpha)


@torch.no_grad()
def assign(
    scores,
    boxes,
    anchors,
    strides,
    gt_cls,
    gt_box,
    gt_valid,
    gt_ignore,
    topk: int = 10,
    alpha: float = 0.5,
    beta: float = 6.0,
    radius: float = 1.0,
    eps: float = 1e-9,
):
    """scores (B, N, C) sigmoid, boxes (B, N, 4), anchors (N, 2), strides (N,);
    gt_cls (B, M) long, gt_box (B, M, 4), gt_valid / gt_ignore (B, M) bool (valid = real target).
    Returns fg (B, N) bool, target boxes (B, N, 4), target scores (B, N, C), cls weight (B, N)."""
    B, N, C = scores.shape
    M = gt_box.shape[1]
    if M == 0:
        return (
            torch.zeros(B, N, dtype=torch.bool, device=scores.device),
            torch.zeros_like(boxes),
            torch.zeros_like(scores),
            torch.ones(B, N, device=scores.device),
        )
    ax, ay = anchors[:, 0], anchors[:, 1]
    x1, y1, x2, y2 = (t[..., None] for t in gt_box.unbind(-1))  # (B, M, 1)
    in_box = (ax > x1) & (ax < x2) & (ay > y1) & (ay < y2)
    r = strides * radius
    near = ((ax - (x1 + x2) / 2).abs() < r) & ((ay - (y1 + y2) / 2).abs() < r)
    cand_any = in_box | near  # (B, M, N)
    cand = cand_any & gt_valid[..., None]
    iou = pairwise_iou(gt_box, boxes).clamp(min=0)  # (B, M, N)
    cls_idx = gt_cls.clamp(min=0)[..., None].expand(B, M, N)
    s = scores.transpose(1, 2).gather(1, cls_idx)  # (B, M, N)
    metric = s.pow(alpha) * iou.pow(beta) * cand
    k = min(topk, N)
    top = metric.topk(k, dim=-1).indices
    pos = torch.zeros_like(cand).scatter_(-1, top, True) & cand
    # one box per anchor: the box with the highest IoU among those claiming it
    multi = pos.sum(1) > 1  # (B, N)
    if multi.any():
        best = (iou * pos).argmax(1)  # (B, N)
        one = F.one_hot(best, M).transpose(1, 2).bool()  # (B, M, N)
        pos = torch.where(multi[:, None, :], one & pos, pos)
    fg = pos.any(1)
    gt_idx = pos.float().argmax(1)  # (B, N)
    t_box = gt_box.gather(1, gt_idx[..., None].expand(B, N, 4))
    t_cls = gt_cls.gather(1, gt_idx)
    metric = metric * pos
    norm = metric / (metric.amax(-1, keepdim=True) + eps) * (iou * pos).amax(-1, keepdim=True)
    norm = norm.amax(1)  # (B, N)
    t_scores = F.one_hot(t_cls.clamp(min=0), C).float() * (norm * fg)[..., None]
    ignored = (cand_any & gt_ignore[..., None]).any(1) & ~fg
    return fg, t_box, t_scores, (~ignored).float()


class DetectionLoss:
    def __init__(
        self,
        num_classes: int,
        cls_gain: float = 1.0,
        iou_gain: float = 5.0,
        l1_gain: float = 1.0,
        topk: int = 10,
        radius: float = 1.0,
    ):
        self.num_classes = num_classes
        self.cls_gain, self.iou_gain, self.l1_gain = cls_gain, iou_gain, l1_gain
        self.topk, self.radius = topk, radius

    def __call__(self, boxes, logits, anchors, strides, gt_cls, gt_box, gt_valid, gt_ignore):
        """boxes (B, N, 4), logits (B, N, C) float32 -> (total loss, detached parts)."""
        fg, t_box, t_scores, w_cls = assign(
            logits.detach().sigmoid(),
            boxes.detach(),
            anchors,
            strides,
            gt_cls,
            gt_box,
            gt_valid,
            gt_ignore,
            self.topk,
            radius=self.radius,
        )
        norm = t_scores.sum().clamp(min=1.0)
        bce = F.binary_cross_entropy_with_logits(logits, t_scores, reduction="none").sum(-1)
        loss_cls = (bce * w_cls).sum() / norm
        if fg.any():
            weight = t_scores.sum(-1)[fg]
            pb, tb = boxes[fg], t_box[fg]
            loss_iou = ((1.0 - ciou(pb, tb)) * weight).sum() / norm
            a = anchors[None].expand(fg.shape[0], -1, -1)[fg]
            st = strides[None].expand(fg.shape[0], -1)[fg][:, None]
            pd = torch.cat([a - pb[:, :2], pb[:, 2:] - a], 1) / st
            td = torch.cat([a - tb[:, :2], tb[:, 2:] - a], 1) / st
            loss_l1 = (F.l1_loss(pd, td, reduction="none").sum(-1) * weight).sum() / norm
        else:
            loss_iou = loss_l1 = boxes.sum() * 0.0
        total = self.cls_gain * loss_cls + self.iou_gain * loss_iou + self.l1_gain * loss_l1
        parts = torch.stack([loss_cls.detach(), loss_iou.detach(), loss_l1.detach(), fg.sum().float()])
        return total, parts  # parts: cls, iou, l1, positives (a tensor: no device sync)
