"""Render a detection dataset from the synthetic intersection (numpy + OpenCV only, no torch).

Each split is a folder:

    images.npy   (N, H, W, 3) uint8, RGB, letterboxed to the model input (pad 114)
    labels.npy   (M, 7) float32 rows: image index, class index, x1, y1, x2, y2, ignore (0/1)
                 boxes in model-input pixels; class index in DEFAULT_CLASSES order
    meta.json    input size, classes, scenes (seed, density, options, render size), label rules,
                 instance counts per class

A split is made of "scenes": one IntersectionScene each (its own seed, density, render size and
options), sampled every `stride` frames after a per-scene warm-up. The train and held-out splits
use disjoint seed ranges (train 1000 + i, held-out 9000 + i), so the held-out traffic, vehicle
looks and background noise never occur in training.

Label rules (`LabelRules`): a true box becomes a training target unless its visible fraction
(`GroundTruth.objects.scores`) is below 0.3 or it is tiny in model-input pixels (width or height
below 2 px, or area below 8 px^2); such boxes are kept with ignore = 1: training neither rewards
nor penalises predictions on them, and evaluation ignores detections that match them.

CLI: python -m training.dataset --out runs/data --train-scenes 64 --val-scenes 8 --frames 100
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

_ROOT = Path(__file__).resolve().parents[1]
for _p in (_ROOT / "src" / "argos_sim", _ROOT / "src" / "argos_common"):
    if _p.is_dir() and str(_p) not in sys.path:
        sys.path.append(str(_p))

from argos_common.classes import DEFAULT_CLASSES  # noqa: E402
from argos_sim.scene import IntersectionScene  # noqa: E402

CLASSES: tuple[str, ...] = tuple(DEFAULT_CLASSES)
INPUT_W, INPUT_H = 640, 384
PAD_VALUE = 114
TRAIN_SEED_BASE, VAL_SEED_BASE = 1000, 9000
DENSITIES = (0.5, 1.0, 1.5, 2.0, 3.0)
# render sizes (all 16:9: the scene scales with the width, so every one letterboxes to the same
# geometry at 640 x 384; they differ in rasterisation, which the model should not depend on)
RENDER_SIZES = ((1280, 720), (1280, 720), (960, 540), (1600, 900))
VIEWS = ("top", "pole")
# pole cameras cycled over the pole-view scenes (height m, tilt deg, horizontal fov deg, corner):
# the range of real intersection mounts, so the model does not learn one perspective
POLE_MOUNTS = (
    (8.0, 30.0, 100.0, "sw"),
    (6.0, 25.0, 90.0, "ne"),
    (10.0, 35.0, 100.0, "se"),
    (12.0, 45.0, 110.0, "nw"),
    (7.0, 20.0, 110.0, "se"),
    (12.0, 40.0, 100.0, "sw"),
)
# boolean scene options switched on for part of the scenes when IntersectionScene has them


@dataclass(frozen=True)
class LabelRules:
    min_visible: float = 0.3
    min_side_px: float = 2.0
    min_area_px: float = 8.0


@dataclass
class SceneSpec:
    seed: int
    density: float
    render_size: tuple[int, int]
    frames: int  # samples taken from this scene
    stride: int = 4  # scene frames between samples
    warmup_s: float = 20.0
    occluders: bool = True
    options: dict[str, Any] = field(default_factory=dict)


# -- letterbox ------------------------------------------------------------------------------
def letterbox_geometry(src_w: int, src_h: int, dst_w: int = INPUT_W, dst_h: int = INPUT_H):
    """(scale, pad_x, pad_y, new_w, new_h): resize by `scale` to new_w x new_h, then pad
    pad_x left / pad_y top (the rest right / bottom) to dst_w x dst_h."""
    scale = min(dst_w / src_w, dst_h / src_h)
    new_w, new_h = int(round(src_w * scale)), int(round(src_h * scale))
    return scale, (dst_w - new_w) // 2, (dst_h - new_h) // 2, new_w, new_h


def letterbox(image_bgr: np.ndarray, dst_w: int = INPUT_W, dst_h: int = INPUT_H):
    """BGR source image -> (RGB uint8 dst_h x dst_w x 3, scale, pad_x, pad_y)."""
    h, w = image_bgr.shape[:2]
    scale, px, py, nw, nh = letterbox_geometry(w, h, dst_w, dst_h)
    out = np.full((dst_h, dst_w, 3), PAD_VALUE, np.uint8)
    resized = image_bgr if (nw, nh) == (w, h) else cv2.resize(image_bgr, (nw, nh), interpolation=cv2.INTER_LINEAR)
    out[py : py + nh, px : px + nw] = resized[..., ::-1]
    return out, scale, px, py


def to_tensor_layout(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (1, 3, H, W) float32 in [0, 1]: the model's "images" input."""
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32) / np.float32(255.0)


def unletterbox_boxes(boxes: np.ndarray, scale: float, pad_x: int, pad_y: int, src_w: int, src_h: int) -> np.ndarray:
    """Model-input x1 y1 x2 y2 -> source-image pixels, clipped to the image."""
    out = (np.asarray(boxes, np.float32).reshape(-1, 4) - [pad_x, pad_y, pad_x, pad_y]) / scale
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, src_w)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, src_h)
    return out


# -- labels ---------------------------------------------------------------------------------
def truth_to_labels(
    truth, scale: float, pad_x: int, pad_y: int, classes: Sequence[str] = CLASSES, rules: LabelRules = LabelRules()
) -> np.ndarray:
    """GroundTruth -> (K, 6) float32 rows: class, x1, y1, x2, y2 (model-input px), ignore."""
    objects = truth.objects
    if len(objects) == 0:
        return np.zeros((0, 6), np.float32)
    index = {name: i for i, name in enumerate(classes)}
    boxes = objects.boxes.astype(np.float32) * scale + np.array([pad_x, pad_y, pad_x, pad_y], np.float32)
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    cls = np.array([index.get(label, -1) for label in objects.labels], np.float32)
    ignore = (
        (objects.scores < rules.min_visible)
        | (w < rules.min_side_px)
        | (h < rules.min_side_px)
        | (w * h < rules.min_area_px)
        | (cls < 0)
    ).astype(np.float32)
    keep = (w > 0) & (h > 0)
    return np.concatenate([cls[:, None], boxes, ignore[:, None]], 1)[keep]


def scene_kwargs(spec: SceneSpec) -> dict[str, Any]:
    """Keyword arguments for IntersectionScene: only options its signature actually has."""
    known = inspect.signature(IntersectionScene.__init__).parameters
    kwargs = {"density": spec.density, "occluders": spec.occluders}
    if "warmup_s" in known:
        kwargs["warmup_s"] = spec.warmup_s
    for name, value in spec.options.items():
        if name in known:
            kwargs[name] = value
    return kwargs


def available_conditions() -> list[str]:
    """The scene's condition names (night, rain, jitter, dense, stop_and_go, ...), if it has any."""
    if "conditions" not in inspect.signature(IntersectionScene.__init__).parameters:
        return []
    from argos_sim.scene import CONDITIONS

    return list(CONDITIONS)


def render_scene(
    spec: SceneSpec,
    size=(INPUT_W, INPUT_H),
    classes: Sequence[str] = CLASSES,
    rules: LabelRules = LabelRules(),
    fps: float = 15.0,
):
    """Yield (rgb letterboxed image, labels (K, 6)) for `spec.frames` samples of one scene."""
    scene = IntersectionScene(
        spec.render_size[0], spec.render_size[1], fps, spec.seed, list(classes), [], **scene_kwargs(spec)
    )
    for _ in range(spec.frames):
        for _ in range(spec.stride - 1):
            scene.next_frame()
        image, truth = scene.next_frame()
        rgb, scale, px, py = letterbox(image, *size)
        yield rgb, truth_to_labels(truth, scale, px, py, classes, rules)


def condition_cycle(conditions: Sequence[str]) -> list[tuple[str, ...]]:
    """Two clear scenes, then one scene per condition, then night and rain together."""
    looks: list[tuple[str, ...]] = [(), ()] + [(c,) for c in conditions]
    if "night" in conditions and "rain" in conditions:
        looks.append(("night", "rain"))
    return looks


def available_views() -> tuple[str, ...]:
    """The views the scene can render ("top", and "pole" where argos_sim has it)."""
    if "view" not in inspect.signature(IntersectionScene.__init__).parameters:
        return ("top",)
    return VIEWS


def view_options(view: str, k: int) -> dict[str, Any]:
    """Scene options of the k-th scene of `view`: the pole view cycles POLE_MOUNTS."""
    if view == "top":
        return {}
    from argos_sim.views import PoleCamera

    height, tilt, fov, corner = POLE_MOUNTS[k % len(POLE_MOUNTS)]
    return {"view": "pole", "pole": PoleCamera(height_m=height, tilt_deg=tilt, fov_deg=fov, corner=corner)}


def make_specs(
    n_scenes: int,
    frames: int,
    seed_base: int,
    stride: int = 4,
    conditions: Sequence[str] = (),
    extra_options: dict[str, Any] | None = None,
    views: Sequence[str] = ("top",),
) -> list[SceneSpec]:
    """Scene i: seed seed_base + i, density and render size cycled, warm-up 20..60 s, no occluder
    in one scene of eight, conditions cycled by condition_cycle() within each view, views
    alternating scene by scene ("top,pole,pole": two pole scenes per top scene, the pole scenes
    still cycling every mount)."""
    specs = []
    seen: dict[str, int] = {}
    for i in range(n_scenes):
        view = views[i % len(views)]
        k = seen[view] = seen.get(view, -1) + 1  # the k-th scene of this view: a view named twice gets twice the share
        options = {**(extra_options or {}), **view_options(view, k)}
        looks = condition_cycle(conditions)
        if looks[k % len(looks)]:
            options["conditions"] = looks[k % len(looks)]
        specs.append(
            SceneSpec(
                seed=seed_base + i,
                density=DENSITIES[i % len(DENSITIES)],
                render_size=RENDER_SIZES[(i // len(DENSITIES)) % len(RENDER_SIZES)],
                frames=frames,
                stride=stride,
                warmup_s=20.0 + (i * 7.3) % 40.0,
                occluders=(i % 8 != 7),
                options=options,
            )
        )
    return specs


def _render_job(args):
    spec, image_path, offset, size, rules = args
    images = np.load(image_path, mmap_mode="r+")
    labels = []
    for k, (rgb, lab) in enumerate(render_scene(spec, size, CLASSES, rules)):
        images[offset + k] = rgb
        if len(lab):
            labels.append(np.concatenate([np.full((len(lab), 1), offset + k, np.float32), lab], 1))
    images.flush()
    del images
    return np.concatenate(labels) if labels else np.zeros((0, 7), np.float32)


def build_split(
    out_dir: Path,
    specs: Sequence[SceneSpec],
    size=(INPUT_W, INPUT_H),
    workers: int = 1,
    rules: LabelRules = LabelRules(),
) -> dict:
    """Render `specs` into out_dir (images.npy, labels.npy, meta.json); returns the meta dict."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    total = sum(s.frames for s in specs)
    image_path = out_dir / "images.npy"
    images = np.lib.format.open_memmap(image_path, mode="w+", dtype=np.uint8, shape=(total, size[1], size[0], 3))
    del images
    jobs, offset = [], 0
    for spec in specs:
        jobs.append((spec, str(image_path), offset, tuple(size), rules))
        offset += spec.frames
    t0 = time.time()
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(_render_job, jobs))
    else:
        parts = [_render_job(j) for j in jobs]
    labels = np.concatenate(parts) if parts else np.zeros((0, 7), np.float32)
    np.save(out_dir / "labels.npy", labels.astype(np.float32))
    kept = labels[labels[:, 6] == 0]
    meta = {
        "format": "argos-synthetic-det-v1",
        "input_size": {"width": size[0], "height": size[1]},
        "color": "rgb",
        "pad_value": PAD_VALUE,
        "classes": list(CLASSES),
        "images": int(total),
        "instances": int(len(kept)),
        "ignored_instances": int(len(labels) - len(kept)),
        "instances_per_class": {c: int((kept[:, 1] == i).sum()) for i, c in enumerate(CLASSES)},
        "label_rules": asdict(rules),
        "scenes": [{**asdict(s), "render_size": list(s.render_size)} for s in specs],
        "render_seconds": round(time.time() - t0, 1),
    }
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=1))
    return meta


def image_views(meta: dict) -> list[str]:
    """The view of every image of a split, in order (scenes without a view option are top)."""
    out: list[str] = []
    for scene in meta["scenes"]:
        out += [scene.get("options", {}).get("view", "top")] * int(scene["frames"])
    return out


class DetDataset:
    """A rendered split: images (memory-mapped) and per-image label arrays."""

    def __init__(self, split_dir: Path):
        split_dir = Path(split_dir)
        self.images = np.load(split_dir / "images.npy", mmap_mode="r")
        self.labels = np.load(split_dir / "labels.npy")
        self.meta = json.loads((split_dir / "meta.json").read_text())
        order = np.argsort(self.labels[:, 0], kind="stable")
        self.labels = self.labels[order]
        idx = self.labels[:, 0].astype(np.int64)
        bounds = np.searchsorted(idx, np.arange(len(self.images) + 1))
        self._bounds = bounds

    def __len__(self) -> int:
        return len(self.images)

    def targets(self, i: int) -> np.ndarray:
        """(K, 6): class, x1, y1, x2, y2, ignore of image i."""
        return self.labels[self._bounds[i] : self._bounds[i + 1], 1:]


def parse_views(text: str) -> tuple[str, ...]:
    views = tuple(v.strip() for v in text.split(",") if v.strip())
    known = available_views()
    for v in views:
        if v not in known:
            raise SystemExit(f"--views: unknown view {v!r} (this scene has: {', '.join(known)})")
    return views or ("top",)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--train-scenes", type=int, default=64)
    ap.add_argument("--val-scenes", type=int, default=8)
    ap.add_argument("--frames", type=int, default=100, help="samples per scene")
    ap.add_argument("--val-frames", type=int, default=0, help="samples per held-out scene (default: --frames)")
    ap.add_argument("--stride", type=int, default=4, help="scene frames between samples")
    ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 1)))
    ap.add_argument("--width", type=int, default=INPUT_W)
    ap.add_argument("--height", type=int, default=INPUT_H)
    ap.add_argument("--no-conditions", action="store_true", help="do not use look options of the scene")
    ap.add_argument("--views", default=",".join(available_views()), help="scene views, alternating (top,pole)")
    args = ap.parse_args(argv)
    conditions = [] if args.no_conditions else available_conditions()
    views = parse_views(args.views)
    size = (args.width, args.height)
    for name, n, base, frames in (
        ("train", args.train_scenes, TRAIN_SEED_BASE, args.frames),
        ("val", args.val_scenes, VAL_SEED_BASE, args.val_frames or args.frames),
    ):
        if n <= 0:
            continue
        specs = make_specs(n, frames, base, args.stride, conditions, views=views)
        meta = build_split(args.out / name, specs, size, args.workers)
        print(
            f"{name}: {meta['images']} images, {meta['instances']} boxes (+{meta['ignored_instances']} ignored), "
            f"{meta['render_seconds']} s; conditions {conditions or 'none'}; views {', '.join(views)}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
