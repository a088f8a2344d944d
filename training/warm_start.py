"""A warm-start checkpoint (`--init`) rebuilt from a shipped fp32 ONNX file.

The export folds every BatchNorm into the convolution before it, so the ONNX holds one weight and
one bias per Conv node, named after the module path (/model/stem/stem.0/Conv). Each is copied back
into its Conv2d; the BatchNorm after it gets the statistics of its input on rendered frames
(running mean/var, gamma = std, beta = fused bias + mean), so that training-mode BatchNorm, which
normalises by batch statistics, starts from the shipped function instead of a rescaled one.

    python -m training.warm_start --onnx models/argos-traffic-v1.onnx \
        --card models/argos-traffic-v1.json --out runs/init/best.pt
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from training import dataset as ds
from training.model import ModelConfig, TrafficDetector


def module_path(node_name: str) -> str:
    """'/model/heads.1/box/box.0/box.0.0/Conv' -> 'heads.1.box.0.0' (the export names each scope
    by its parent's name plus its own, so a segment that extends the previous one replaces it)."""
    parts: list[str] = []
    for seg in node_name.strip("/").split("/")[1:-1]:
        if parts and seg.startswith(parts[-1] + "."):
            parts[-1] = seg
        else:
            parts.append(seg)
    return ".".join(parts)


def load_folded(model: TrafficDetector, onnx_path: Path) -> None:
    """Copy the folded Conv weights of `onnx_path` into `model`; BatchNorms become identity + bias.
    ValueError when a conv or BatchNorm of the model is left without a weight."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    weights = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    modules = dict(model.named_modules())
    filled: set[str] = set()
    with torch.no_grad():
        for node in graph.node:
            if node.op_type != "Conv":
                continue
            path = module_path(node.name)
            conv = modules[path]
            weight, bias = (torch.from_numpy(weights[name].copy()) for name in node.input[1:3])
            conv.weight.copy_(weight)
            parent, index = path.rsplit(".", 1)
            bn_path = f"{parent}.{int(index) + 1}"
            bn = modules.get(bn_path)
            if conv.bias is None and isinstance(bn, torch.nn.BatchNorm2d):
                bn.weight.fill_(1.0)
                bn.bias.copy_(bias)
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
                filled.add(bn_path)
            else:
                conv.bias.copy_(bias)
            filled.add(path)
    expected = {k for k, v in modules.items() if isinstance(v, (torch.nn.Conv2d, torch.nn.BatchNorm2d))}
    if filled != expected:
        raise ValueError(f"{onnx_path}: no weights for {', '.join(sorted(expected - filled))}")


def set_batch_statistics(model: TrafficDetector, images: torch.Tensor) -> None:
    """Give each identity BatchNorm its input's per-channel mean/variance over `images` and
    compensate in gamma/beta: eval output unchanged, train-mode output close to it."""
    stats: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    norms = {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)}

    def recorder(name: str):
        def hook(_module, inputs, _output) -> None:
            x = inputs[0]
            stats[name] = (x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=False))

        return hook

    hooks = [m.register_forward_hook(recorder(n)) for n, m in norms.items()]
    model.eval()
    with torch.no_grad():
        model(images)
        for h in hooks:
            h.remove()
        for name, (mean, var) in stats.items():
            bn = norms[name]
            bn.bias.add_(mean)
            bn.weight.copy_(torch.sqrt(var + bn.eps))
            bn.running_mean.copy_(mean)
            bn.running_var.copy_(var)


def calibration_images(per_view: int = 16) -> torch.Tensor:
    """Letterboxed frames of held-out-free seeds (5000+), both views, as the model's input."""
    views = ds.available_views()
    specs = ds.make_specs(len(views) * 4, max(1, per_view // 4), 5000, views=views)
    images = [ds.to_tensor_layout(rgb)[0] for spec in specs for rgb, _ in ds.render_scene(spec)]
    return torch.from_numpy(np.stack(images))


def warm_start(onnx_path: Path, card_path: Path, images: torch.Tensor | None = None) -> dict:
    """The checkpoint dict train.py --init and export.py read ('ema', 'model', 'model_config')."""
    card = json.loads(Path(card_path).read_text())
    config = {k: v for k, v in card["architecture"].items() if k != "parameters"}
    model = TrafficDetector(ModelConfig.from_dict(config))
    load_folded(model, onnx_path)
    set_batch_statistics(model, calibration_images() if images is None else images)
    state = model.state_dict()
    return {"ema": state, "model": state, "model_config": config}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", type=Path, required=True, help="fp32 ONNX written by training.export")
    ap.add_argument("--card", type=Path, required=True, help="its model JSON (architecture)")
    ap.add_argument("--out", type=Path, required=True, help="checkpoint to write (best.pt)")
    args = ap.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(warm_start(args.onnx, args.card), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
