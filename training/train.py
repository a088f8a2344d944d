"""Train the argos-traffic detector on rendered synthetic scenes, evaluate, export, quantize.

    python -m training.train --device cuda --epochs 40 --out runs/x
    python -m training.train --device cpu --epochs 1 --out runs/cpu --train-scenes 4 --frames 50

Steps: render the dataset into OUT/data unless --data names one; train (AdamW, cosine LR with
warm-up, weight EMA, bf16 autocast on CUDA, seeded); evaluate mAP@0.5 on the held-out split each
--eval-every epochs (best.pt by held-out mAP, last.pt every epoch); export best to ONNX (opset 17),
check ORT CPU against torch, quantize to int8 QDQ and evaluate both ONNX models with ONNX Runtime
CPU; write OUT/metrics.json, OUT/train.log and OUT/models/{argos-traffic-v1.onnx,
argos-traffic-v1-int8.onnx, argos-traffic-v1.json}.

--time-budget S caps the training loop to about S seconds: after the first iterations the
schedule's total step count is shortened to what fits (the cosine schedule still ends at its
minimum), so a run on unknown hardware ends on time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from training import dataset as ds  # noqa: E402
from training.evaluate import Evaluator, benchmark_onnx, decode_yolov8, evaluate_onnx  # noqa: E402
from training.export import MODEL_NAME, check_onnx_matches_torch, export_onnx, model_json, quantize_int8  # noqa: E402
from training.loss import DetectionLoss  # noqa: E402
from training.model import ExportWrapper, ModelConfig, TrafficDetector, count_parameters, num_anchors  # noqa: E402


class Log:
    def __init__(self, path: Path):
        self.f = open(path, "a", buffering=1)

    def __call__(self, *parts):
        line = " ".join(str(p) for p in parts)
        print(line, flush=True)
        self.f.write(line + "\n")


def seed_everything(seed: int, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        torch.backends.cudnn.benchmark = True


class EMA:
    """Exponential moving average of the weights (decay ramps up over the first steps)."""

    def __init__(self, model: torch.nn.Module, decay: float = 0.9995, tau: float = 500.0):
        import copy

        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.decay, self.tau, self.updates = decay, tau, 0

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.updates += 1
        d = self.decay * (1 - math.exp(-self.updates / self.tau))
        msd = model.state_dict()
        for k, v in self.model.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(msd[k].detach(), alpha=1 - d)
            else:
                v.copy_(msd[k])


class GpuData:
    """A split held as one uint8 tensor (N, H, W, 3) on the training device plus padded targets
    (N, M, 6): class, x1, y1, x2, y2, ignore; class -1 = padding."""

    def __init__(self, split: ds.DetDataset, device: torch.device, chunk: int = 512):
        n = len(split)
        h, w = split.images.shape[1:3]
        self.images = torch.empty((n, h, w, 3), dtype=torch.uint8, device=device)
        for s in range(0, n, chunk):
            self.images[s : s + chunk] = torch.from_numpy(np.array(split.images[s : s + chunk])).to(device)
        m = max([len(split.targets(i)) for i in range(n)] + [1])
        t = np.zeros((n, m, 6), np.float32)
        t[:, :, 0] = -1
        for i in range(n):
            g = split.targets(i)
            t[i, : len(g)] = g
        self.targets = torch.from_numpy(t).to(device)
        self.height, self.width = h, w

    def __len__(self):
        return self.images.shape[0]


def augment(x_u8: torch.Tensor, targets: torch.Tensor, gen: torch.Generator):
    """Batch augmentation on the device: random horizontal / vertical flips, brightness,
    contrast, per-channel gain, saturation, Gaussian noise; the letterbox padding stays 114.
    x_u8 (B, H, W, 3) uint8 -> (B, 3, H, W) float 0..1, targets flipped alike."""
    dev = x_u8.device
    B, H, W, _ = x_u8.shape
    pad_rows = (x_u8 == 114).all(-1).all(-1)  # (B, H)
    pad_cols = (x_u8 == 114).all(-1).all(1)  # (B, W)
    x = x_u8.permute(0, 3, 1, 2).float().div_(255.0)
    t = targets.clone()
    rnd = lambda *s: torch.rand(*s, generator=gen, device=dev)  # noqa: E731
    hflip = rnd(B) < 0.5
    vflip = rnd(B) < 0.5
    x = torch.where(hflip[:, None, None, None], x.flip(-1), x)
    x = torch.where(vflip[:, None, None, None], x.flip(-2), x)
    pad_rows = torch.where(vflip[:, None], pad_rows.flip(-1), pad_rows)
    pad_cols = torch.where(hflip[:, None], pad_cols.flip(-1), pad_cols)
    x1, y1, x2, y2 = t[..., 1].clone(), t[..., 2].clone(), t[..., 3].clone(), t[..., 4].clone()
    hf, vf = hflip[:, None], vflip[:, None]
    t[..., 1] = torch.where(hf, W - x2, x1)
    t[..., 3] = torch.where(hf, W - x1, x2)
    t[..., 2] = torch.where(vf, H - y2, y1)
    t[..., 4] = torch.where(vf, H - y1, y2)
    # photometric
    gray = x.mean(1, keepdim=True)
    sat = 0.6 + 0.8 * rnd(B, 1, 1, 1)
    x = gray + (x - gray) * sat
    mean = x.mean((1, 2, 3), keepdim=True)
    contrast = 0.7 + 0.6 * rnd(B, 1, 1, 1)
    bright = 0.75 + 0.5 * rnd(B, 1, 1, 1)
    gain = 0.9 + 0.2 * rnd(B, 3, 1, 1)
    x = ((x - mean) * contrast + mean) * bright * gain
    sigma = 0.03 * rnd(B, 1, 1, 1) * (rnd(B, 1, 1, 1) < 0.5)
    x = x + sigma * torch.randn(x.shape, generator=gen, device=dev)
    x = x.clamp_(0.0, 1.0)
    pad = pad_rows[:, None, :, None] | pad_cols[:, None, None, :]
    x = torch.where(pad, torch.full_like(x, 114.0 / 255.0), x)
    return x, t


def split_targets(t: torch.Tensor):
    cls = t[..., 0].long()
    box = t[..., 1:5]
    real = cls >= 0
    ignore = real & (t[..., 5] > 0)
    return cls, box, real & ~ignore, ignore


@torch.no_grad()
def evaluate_torch(
    model, data: GpuData, classes, device, batch: int = 32, amp: bool = False, conf: float = 0.01
) -> dict:
    """Held-out mAP@0.5 during training (conf 0.01 keeps the numpy NMS quick on an untrained
    model; the final ONNX evaluation uses 0.001)."""
    model.eval()
    wrapper = ExportWrapper(model)
    ev = Evaluator(classes)
    for s in range(0, len(data), batch):
        x = data.images[s : s + batch].permute(0, 3, 1, 2).float().div_(255.0)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            out = wrapper(x).float().cpu().numpy()
        tg = data.targets[s : s + batch].cpu().numpy()
        for o, g in zip(out, tg):
            boxes, scores, cls = decode_yolov8(o, conf, 0.5)
            ev.add(boxes, scores, cls, g[g[:, 0] >= 0])
    return ev.summary()


def param_groups(model: torch.nn.Module, weight_decay: float):
    decay, no_decay = [], []
    for _name, p in model.named_parameters():
        (decay if p.ndim >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def lr_at(step: int, total: int, warmup: int, base: float, final_ratio: float = 0.02) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (final_ratio + (1 - final_ratio) * 0.5 * (1 + math.cos(math.pi * p)))


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="train the argos-traffic detector (see module doc)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=None, help="rendered dataset (train/, val/); default OUT/data")
    ap.add_argument("--train-scenes", type=int, default=96)
    ap.add_argument("--val-scenes", type=int, default=10)
    ap.add_argument("--frames", type=int, default=200, help="samples per scene")
    ap.add_argument("--stride", type=int, default=4, help="scene frames between samples")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="dataset render processes")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--time-budget", type=float, default=0.0, help="seconds for the training loop (0: none)")
    ap.add_argument("--eval-every", type=int, default=5, help="epochs between held-out evaluations")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--deterministic", action="store_true")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    ap.add_argument("--calib", type=int, default=100, help="int8 calibration images")
    ap.add_argument("--eval-limit", type=int, default=0, help="held-out images for the ONNX evaluation (0: all)")
    ap.add_argument("--widths", default="16,32,64,128")
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--head-width", type=int, default=48)
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--init", type=Path, default=None, help="start from this checkpoint's EMA weights (best.pt)")
    ap.add_argument("--views", default=",".join(ds.available_views()), help="scene views, alternating")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    log = Log(out / "train.log")
    log(f"# argos-traffic training {time.strftime('%Y-%m-%d %H:%M:%S')} args={vars(args)}")
    t_start = time.time()
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    seed_everything(args.seed, args.deterministic)

    # -- data ---------------------------------------------------------------------------
    data_dir = args.data or out / "data"
    if not (data_dir / "train" / "meta.json").exists() or not (data_dir / "val" / "meta.json").exists():
        conditions = ds.available_conditions()
        views = ds.parse_views(args.views)
        for name, n, base in (
            ("train", args.train_scenes, ds.TRAIN_SEED_BASE),
            ("val", args.val_scenes, ds.VAL_SEED_BASE),
        ):
            meta = ds.build_split(
                data_dir / name,
                ds.make_specs(n, args.frames, base, args.stride, conditions, views=views),
                workers=args.workers,
            )
            log(
                f"rendered {name}: {meta['images']} images, {meta['instances']} boxes "
                f"(+{meta['ignored_instances']} ignored) in {meta['render_seconds']} s, "
                f"conditions {conditions or 'none'}, views {', '.join(views)}"
            )
    # (CUDA is touched only after the render processes are done)
    log(
        f"torch {torch.__version__} device {device}"
        + (
            f" ({torch.cuda.get_device_name(device)})"
            if device.type == "cuda"
            else f" threads {torch.get_num_threads()}"
        )
    )
    train_split, val_split = ds.DetDataset(data_dir / "train"), ds.DetDataset(data_dir / "val")
    classes = train_split.meta["classes"]
    t0 = time.time()
    train, val = GpuData(train_split, device), GpuData(val_split, device)
    H, W = train.height, train.width
    log(
        f"data: train {len(train)} images ({train_split.meta['instances']} boxes), held-out {len(val)} images "
        f"({val_split.meta['instances']} boxes), input {W}x{H}, loaded in {time.time() - t0:.1f} s"
    )

    # -- model --------------------------------------------------------------------------
    cfg = ModelConfig(
        num_classes=len(classes),
        widths=tuple(int(v) for v in args.widths.split(",")),
        depth=args.depth,
        head_width=args.head_width,
    )
    model = TrafficDetector(cfg).to(device)
    if args.init:
        # a warm start from an earlier run's EMA weights (same config): the run's budget goes on
        # from where that one stopped instead of from scratch
        model.load_state_dict(torch.load(args.init, map_location=device, weights_only=False)["ema"])
        log(f"initialised from {args.init}")
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    ema = EMA(model)
    criterion = DetectionLoss(len(classes))
    opt = torch.optim.AdamW(param_groups(model, args.weight_decay), lr=args.lr, betas=(0.9, 0.999))
    amp = device.type == "cuda"
    log(f"model: {count_parameters(model)} parameters, config {cfg.to_dict()}, amp bf16 {amp}")

    steps_per_epoch = max(1, len(train) // args.batch)
    total = args.epochs * steps_per_epoch
    warmup = max(1, min(300, total // 20))
    gen = torch.Generator(device=device)
    gen.manual_seed(args.seed)
    perm_gen = torch.Generator()
    perm_gen.manual_seed(args.seed)
    log(
        f"schedule: {args.epochs} epochs x {steps_per_epoch} steps = {total} steps, batch {args.batch}, "
        f"lr {args.lr}, warmup {warmup}"
    )

    best_map, best_epoch, history, best_res = -1.0, -1, [], None
    step, epoch = 0, 0
    t_train = time.time()
    t_mark = t_train  # reset at step 10, once the first (slow, autotuning) steps are behind
    budget_checked = args.time_budget <= 0
    run_parts = torch.zeros(4, device=device)
    run_n = 0
    while step < total:
        model.train()
        perm = torch.randperm(len(train), generator=perm_gen)
        t_epoch = time.time()
        for b in range(steps_per_epoch):
            if step >= total:
                break
            idx = perm[b * args.batch : (b + 1) * args.batch].to(device)
            x, t = augment(train.images[idx], train.targets[idx], gen)
            if device.type == "cuda":
                x = x.contiguous(memory_format=torch.channels_last)
            gt_cls, gt_box, gt_valid, gt_ignore = split_targets(t)
            lr = lr_at(step, total, warmup, args.lr)
            for g in opt.param_groups:
                g["lr"] = lr
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                boxes, logits, anchors, strides = model(x)
            loss, parts = criterion(
                boxes.float(), logits.float(), anchors, strides, gt_cls, gt_box, gt_valid, gt_ignore
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            ema.update(model)
            run_parts += parts
            run_n += 1
            step += 1
            if not budget_checked and step == 40:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                t_step = (time.time() - t_mark) / 30
                fits = int((args.time_budget - (time.time() - t_train)) / t_step) + step
                if fits < total:
                    log(
                        f"time budget {args.time_budget:.0f} s: {t_step * 1e3:.0f} ms/step -> "
                        f"total steps {total} -> {max(fits, step + 1)}"
                    )
                    total = max(fits, step + 1)
                else:
                    log(f"time budget {args.time_budget:.0f} s: {t_step * 1e3:.0f} ms/step, {total} steps fit")
                budget_checked = True
            if step == 10:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                t_mark = time.time()
            if step % 50 == 0 or step == total:
                p = (run_parts / max(run_n, 1)).tolist()
                log(
                    f"epoch {epoch} step {step}/{total} lr {lr:.2e} loss cls {p[0]:.3f} iou {p[1]:.3f} "
                    f"l1 {p[2]:.3f} fg/img {p[3] / args.batch:.1f} ({time.time() - t_train:.0f} s)"
                )
                run_parts.zero_()
                run_n = 0
        epoch += 1
        if args.time_budget > 0 and budget_checked and step < total:
            # evaluations and slow steps eat into the budget: shorten the schedule if needed
            per_step = (time.time() - t_train) / step
            fits = step + int((args.time_budget - (time.time() - t_train)) / per_step)
            if fits < total:
                log(
                    f"time budget: {per_step * 1e3:.0f} ms/step so far (with evaluations) -> "
                    f"total steps {total} -> {max(fits, step)}"
                )
                total = max(fits, step)
        last_epoch = step >= total
        state = {
            "model": model.state_dict(),
            "ema": ema.model.state_dict(),
            "model_config": cfg.to_dict(),
            "classes": classes,
            "input_size": [W, H],
            "epoch": epoch,
            "step": step,
            "args": {k: str(v) for k, v in vars(args).items()},
        }
        torch.save(state, out / "last.pt")
        if epoch % args.eval_every == 0 or last_epoch:
            res = evaluate_torch(ema.model, val, classes, device, amp=False)
            history.append({"epoch": epoch, "step": step, "map50": res["map50"], **res["at_threshold"]})
            log(
                f"epoch {epoch}: held-out mAP@0.5 {res['map50']} P {res['at_threshold']['precision']} "
                f"R {res['at_threshold']['recall']} (epoch {time.time() - t_epoch:.0f} s, "
                f"total {time.time() - t_train:.0f} s)"
            )
            if res["map50"] is not None and res["map50"] > best_map:
                best_map, best_epoch = res["map50"], epoch
                torch.save(state, out / "best.pt")
                best_res = res
    train_seconds = time.time() - t_train
    log(
        f"training done: {step} steps, {epoch} epochs, {train_seconds:.0f} s; "
        f"best held-out mAP@0.5 {best_map} (epoch {best_epoch})"
    )
    if best_res is None:
        raise SystemExit("no held-out evaluation produced a mAP (empty held-out split?)")
    for name, v in best_res["per_class"].items():
        log(f"  {name:20s} AP50 {v['ap50']}  ({v['instances']} boxes)")

    metrics = {
        "model": MODEL_NAME,
        "torch_eval_best": best_res,
        "history": history,
        "best_epoch": best_epoch,
        "train_seconds": round(train_seconds, 1),
        "steps": step,
        "epochs": epoch,
        "train_images": len(train),
        "val_images": len(val),
        "device": str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    if not args.no_export:
        metrics.update(export_all(out, classes, cfg, H, W, train_split, val_split, args, log, metrics))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    log(f"wrote {out / 'metrics.json'}; total {time.time() - t_start:.0f} s")
    return 0


def export_all(out, classes, cfg, H, W, train_split, val_split, args, log, metrics) -> dict:
    ck = torch.load(out / "best.pt", map_location="cpu", weights_only=False)
    model = TrafficDetector(cfg)
    model.load_state_dict(ck["ema"])
    model.eval()
    mdir = out / "models"
    fp32 = export_onnx(model, mdir / f"{MODEL_NAME}.onnx", H, W)
    check = check_onnx_matches_torch(model, fp32, val_split.images[:4])
    log(f"exported {fp32} ({fp32.stat().st_size / 1e6:.2f} MB); ORT vs torch {check}")
    if not check["ok"]:
        raise SystemExit("ONNX Runtime output differs from torch")
    idx = np.linspace(0, len(train_split) - 1, min(args.calib, len(train_split))).astype(int)
    qinfo = quantize_int8(fp32, mdir / f"{MODEL_NAME}-int8.onnx", [train_split.images[i] for i in idx])
    int8 = mdir / f"{MODEL_NAME}-int8.onnx"
    log(f"quantized {int8} ({int8.stat().st_size / 1e6:.2f} MB): {qinfo}")
    onnx_eval = {}
    for tag, path in (("fp32", fp32), ("int8", int8)):
        res = evaluate_onnx(
            path,
            val_split.images,
            val_split.targets,
            classes,
            limit=args.eval_limit,
            groups=ds.image_views(val_split.meta),
        )
        onnx_eval[tag] = res
        log(
            f"ORT CPU {tag}: held-out mAP@0.5 {res['map50']} P {res['at_threshold']['precision']} "
            f"R {res['at_threshold']['recall']} ({res['images']} images); by view "
            + ", ".join(f"{v} {g['map50']} ({g['images']} images)" for v, g in res["by_group"].items())
        )
    latency = {tag: benchmark_onnx(p, (1, 3, H, W), threads=2) for tag, p in (("fp32", fp32), ("int8", int8))}
    log(f"ORT CPU latency, 2 threads, on this machine ({platform.processor() or platform.machine()}): {latency}")
    train_meta, val_meta = train_split.meta, val_split.meta
    summary = {
        "train": {
            "images": train_meta["images"],
            "instances": train_meta["instances"],
            "instances_per_class": train_meta["instances_per_class"],
            "scenes": len(train_meta["scenes"]),
            "seeds": [train_meta["scenes"][0]["seed"], train_meta["scenes"][-1]["seed"]],
        },
        "held_out": {
            "images": val_meta["images"],
            "instances": val_meta["instances"],
            "instances_per_class": val_meta["instances_per_class"],
            "scenes": len(val_meta["scenes"]),
            "seeds": [val_meta["scenes"][0]["seed"], val_meta["scenes"][-1]["seed"]],
        },
        "label_rules": train_meta["label_rules"],
        "densities": sorted({s["density"] for s in train_meta["scenes"]}),
        "render_sizes": sorted({tuple(s["render_size"]) for s in train_meta["scenes"]}),
        "conditions": sorted({c for s in train_meta["scenes"] for c in s["options"].get("conditions", ())}),
        "views": sorted({s["options"].get("view", "top") for s in train_meta["scenes"]}),
        "pole_mounts": [
            json.loads(m)
            for m in sorted(
                {
                    json.dumps(s["options"]["pole"], sort_keys=True)
                    for s in train_meta["scenes"]
                    if "pole" in s["options"]
                }
            )
        ],
        "command": "python -m training.train " + " ".join(sys.argv[1:]),
        "epochs": metrics["epochs"],
        "steps": metrics["steps"],
        "best_epoch": metrics["best_epoch"],
        "device": metrics["device"],
        "train_seconds": metrics["train_seconds"],
    }
    mm = {
        "map50_fp32": onnx_eval["fp32"]["map50"],
        "map50_int8": onnx_eval["int8"]["map50"],
        "per_class_ap50_fp32": {k: v["ap50"] for k, v in onnx_eval["fp32"]["per_class"].items()},
        "per_class_ap50_int8": {k: v["ap50"] for k, v in onnx_eval["int8"]["per_class"].items()},
        "at_threshold_fp32": onnx_eval["fp32"]["at_threshold"],
        "at_threshold_int8": onnx_eval["int8"]["at_threshold"],
        "held_out_images": onnx_eval["fp32"]["images"],
        "by_view": {
            view: {
                "images": onnx_eval["fp32"]["by_group"][view]["images"],
                "map50_fp32": onnx_eval["fp32"]["by_group"][view]["map50"],
                "map50_int8": onnx_eval["int8"]["by_group"][view]["map50"],
                "per_class_ap50_fp32": {
                    k: v["ap50"] for k, v in onnx_eval["fp32"]["by_group"][view]["per_class"].items()
                },
                "per_class_ap50_int8": {
                    k: v["ap50"] for k, v in onnx_eval["int8"]["by_group"][view]["per_class"].items()
                },
            }
            for view in onnx_eval["fp32"]["by_group"]
        },
        "ort_cpu_latency_ms": latency,
        "eval": "ONNX Runtime CPU, conf 0.001, class-wise NMS IoU 0.5, AP all-point, IoU 0.5",
    }
    from argos_inference.model_metadata import file_sha256

    card = model_json(
        classes,
        H,
        W,
        num_anchors(H, W, cfg.strides),
        fp32_file=fp32.name,
        int8_file=int8.name,
        sha256={p.name: file_sha256(p) for p in (fp32, int8)},
        model_cfg={**cfg.to_dict(), "parameters": count_parameters(model)},
        training=summary,
        metrics=mm,
    )
    (mdir / f"{MODEL_NAME}.json").write_text(json.dumps(card, indent=1))
    return {
        "onnx_check": check,
        "quantization": qinfo,
        "onnx_eval": onnx_eval,
        "ort_cpu_latency_ms": latency,
        "model_files": {p.name: p.stat().st_size for p in (fp32, int8)},
    }


if __name__ == "__main__":
    raise SystemExit(main())
