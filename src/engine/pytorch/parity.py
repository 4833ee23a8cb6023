"""The PyTorch half of the cross-engine parity check (`regbench parity`, src/engine/parity/).

The parent runs `python3 parity.py`, writes one JSON request to stdin and closes it:

  {"arch": "resnet56", "numClasses": 100, "seed": 0, "batch": 4,
   "inputPath": ".../input.bin",   # float32 little-endian, NCHW [batch, 3, 32, 32]
   "labels": [3, 17, ...],         # batch integers in [0, numClasses)
   "variantPath": ".../confidence_penalty.py",   # its compute_regularization is the step's term
   "recipe": {"lr": 0.1, "momentum": 0.9, "weightDecay": 5e-4, "bnMomentum": 0.1, "bnEpsilon": 1e-5},
   "outDir": "..."}                # where tensors.bin is written

and reads one JSON line from stdout. Everything is built with the engine's own code: the model by
models.build_model (through train.Trainer), the training step by Trainer.train_step (cross-entropy
+ the variant's term, torch.optim.SGD with coupled weight decay), the term by variant.load_variant.

What it does, in this order:
1. Builds the model, then moves every norm's weight, bias and running statistics and every conv
   and linear bias away from its initial value, and every activation input away from the ReLU
   kinks (see _prepare_state for why and how), with a seeded generator.
2. Exports that state ("initial"), in PyTorch layout, with each tensor's kind (conv, depthwise,
   linear, vector) for src/engine/parity/layout.ts, the one place that converts layouts.
3. Eval-mode logits of the input ("evalLogits").
4. One training step at the recipe's learning rate. Dropout modules get p = 0 for the step: the
   engines draw different masks, so with dropout on the gradients could not agree. The step's
   forward pass is a training forward, so it also moves the BatchNorm running statistics once
   (momentum 0.1). Meanwhile _KinkMargin records how close any ReLU input came to its kink and
   how close any max-pool window came to a tie.
5. Exports the state after the step ("after": parameters and running statistics) and each
   parameter's gradient ("grads", without weight decay).

Tensors go into outDir/tensors.bin, float32 little-endian, back to back; the JSON line indexes
them by offset (in floats). One file keeps VGG's 2 x 15M values to two sequential writes.
Errors: a JSON line {"error": "..."} on stdout and exit code 1."""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from typing import Any, BinaryIO, Dict, List, Tuple

# The engine's modules sit beside this file (src/engine/pytorch/ or dist/pytorch/).
from threads import configure_threads, prefer_passive_waits


def _activation_roles(model: Any) -> Dict[Any, str]:
    """BatchNorm2d and Linear modules whose output goes straight into a ReLU ('relu') or a ReLU6
    ('relu6'), and ResNet's bn2 / downsample norms, whose output goes into a ReLU after the
    residual addition ('residual')."""
    from torch import nn

    import models

    roles: Dict[Any, str] = {}
    for m in model.modules():
        if isinstance(m, nn.Sequential):
            children = list(m.children())
            for item, after in zip(children, children[1:]):
                if isinstance(item, (nn.BatchNorm2d, nn.Linear)) and isinstance(after, (nn.ReLU, nn.ReLU6)):
                    roles[item] = "relu6" if isinstance(after, nn.ReLU6) else "relu"
        if isinstance(m, (models.BasicBlock, models.CifarResNet)):
            roles[m.bn1] = "relu"
        if isinstance(m, models.BasicBlock):
            roles[m.bn2] = "residual"
            if m.downsample is not None:
                roles[m.downsample[1]] = "residual"
    return roles


def _prepare_state(model: Any, x: Any, seed: int) -> None:
    """Moves the state away from the initial values and away from the ReLU kinks.

    A float32 training step is reproducible to 1e-5 only while no ReLU input lies within rounding
    distance (~1e-6) of 0 (or of 6 for ReLU6) and no max-pool window has a near tie: there the two
    engines can take different branches and the gradient jumps (measured: ResNet-20, batch 4, with
    the plain initialization, 3.7e-5 between the engines and 2.9e-5 between torch float32 and
    float64; a batch of 2 or 8 happened to have no such value and agreed to 2e-7). So every norm
    that feeds a ReLU gets weight 0.5..1 and a bias 6..8 away from the kink, per channel either
    always active ('on') or always off (bias -6..-8); ReLU6 inputs get weight 0.1..0.3 and a bias
    of 3 (linear part), -3 (off) or 9.5 (always clipped). Channels stay on both sides of each kink,
    so the ReLU masks still matter, but no value sits near one; _KinkMargin measures the distance
    that remains. ResNet's bn2 and downsample norms feed a ReLU after adding a non-negative input:
    always 'on', with weight 0.1..0.3 and bias 1..1.5 only, because these offsets add up along the
    residual stream (ResNet-110's features, and with them the classifier's update, grow with them). Linear layers before a ReLU (VGG's head) get the same bias choice. The running
    statistics start at the input's batch statistics with noise (mean +-0.5 std, variance
    x0.5..1.5): realistic enough for finite eval logits, far enough from the batch statistics that
    the training forward moves them."""
    import torch
    from torch import nn

    g = torch.Generator()
    g.manual_seed(seed + 7919)

    def uniform(shape: Any, lo: float, hi: float) -> torch.Tensor:
        return torch.rand(shape, generator=g) * (hi - lo) + lo

    def kink_free_bias(n: int, role: str) -> torch.Tensor:
        pick = torch.rand(n, generator=g)
        if role == "relu6":
            on, off, clipped = uniform(n, 2.5, 3.5), uniform(n, -3.5, -2.5), uniform(n, 9.0, 10.0)
            return torch.where(pick < 0.6, on, torch.where(pick < 0.8, off, clipped))
        if role == "residual":
            return uniform(n, 1.0, 1.5)
        on, off = uniform(n, 6.0, 8.0), uniform(n, -8.0, -6.0)
        return torch.where(pick < 0.7, on, off)

    roles = _activation_roles(model)
    with torch.no_grad():
        for m in model.modules():
            role = roles.get(m)
            if isinstance(m, nn.BatchNorm2d):
                if role is None:
                    m.weight.copy_(uniform(m.weight.shape, 0.5, 1.5))
                    m.bias.copy_(uniform(m.bias.shape, -0.2, 0.2))
                else:
                    small = role in ("relu6", "residual")
                    m.weight.copy_(uniform(m.weight.shape, 0.1, 0.3) if small else uniform(m.weight.shape, 0.5, 1.0))
                    m.bias.copy_(kink_free_bias(m.num_features, role))
            elif isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
                m.bias.copy_(kink_free_bias(m.bias.shape[0], role) if role else uniform(m.bias.shape, -0.1, 0.1))
        norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        saved = [m.momentum for m in norms]
        for m in norms:
            m.momentum = 1.0
        was_training = model.training
        model.train()
        model(x)
        model.train(was_training)
        for m, momentum in zip(norms, saved):
            m.momentum = momentum
            std = m.running_var.sqrt()
            m.running_mean.add_(uniform(std.shape, -0.5, 0.5) * std)
            m.running_var.mul_(uniform(std.shape, 0.5, 1.5))


class _KinkMargin:
    """While installed: the smallest distance of any ReLU / ReLU6 input to its kink (`relu`), and
    the smallest gap between the two largest values of a max-pool window (`pool`; windows whose
    largest value is not above 0 are skipped: they belong to channels that are always off, whose
    gradient the ReLU has already zeroed), each with the module where it occurred."""

    def __init__(self, model: Any) -> None:
        from torch import nn

        self.relu = (float("inf"), "")
        self.pool = (float("inf"), "")
        self.handles = []
        for name, m in model.named_modules():
            if isinstance(m, (nn.ReLU, nn.ReLU6, nn.MaxPool2d)):
                self.handles.append(m.register_forward_pre_hook(lambda mod, inputs, name=name: self._see(name, mod, inputs[0])))

    def _see(self, name: str, m: Any, x: Any) -> None:
        import torch
        from torch import nn

        with torch.no_grad():
            if isinstance(m, nn.MaxPool2d):
                b, c, h, w = x.shape
                windows = x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 2, 4, 3, 5).reshape(-1, 4)
                top = windows.topk(2, dim=1).values
                live = top[:, 0] > 0
                if bool(live.any()):
                    gap = float((top[live, 0] - top[live, 1]).min())
                    if gap < self.pool[0]:
                        self.pool = (gap, name)
                return
            if isinstance(m, nn.ReLU6):
                margin = float(torch.minimum(x.abs(), (x - 6).abs()).min())
            else:
                margin = float(x.abs().min())
        if margin < self.relu[0]:
            self.relu = (margin, name)

    def remove(self) -> None:
        for h in self.handles:
            h.remove()

    @staticmethod
    def as_json(value: Tuple[float, str]) -> Dict[str, Any]:
        # JSON has no Infinity (no such module in the model): null.
        return {"margin": value[0] if value[0] != float("inf") else None, "at": value[1]}


def _kinds(model: Any) -> Dict[str, str]:
    """state_dict key -> layout kind of src/engine/parity/layout.ts."""
    from torch import nn

    kinds: Dict[str, str] = {}
    for name, m in model.named_modules():
        prefix = f"{name}." if name else ""
        if isinstance(m, nn.Conv2d):
            if m.groups == 1:
                kinds[prefix + "weight"] = "conv"
            elif m.groups == m.in_channels == m.out_channels:
                kinds[prefix + "weight"] = "depthwise"
            else:
                raise ValueError(f"{name}: grouped convolution with {m.groups} groups has no TensorFlow.js layout")
        elif isinstance(m, nn.Linear):
            kinds[prefix + "weight"] = "linear"
    return kinds


class _TensorFile:
    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.offset = 0

    def add(self, t: Any) -> Dict[str, Any]:
        import torch

        values = t.detach().to("cpu", torch.float32).contiguous()
        self.f.write(values.numpy().astype("<f4", copy=False).tobytes())
        entry = {"offset": self.offset, "shape": list(values.shape)}
        self.offset += values.numel()
        return entry


def _export_state(model: Any, out: _TensorFile, kinds: Dict[str, str]) -> List[Dict[str, Any]]:
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    entries = []
    for name, value in model.state_dict().items():
        # No TensorFlow.js counterpart; it only matters for momentum=None.
        if name.endswith("num_batches_tracked"):
            continue
        entry = out.add(value)
        entry.update(name=name, kind=kinds.get(name, "vector" if value.dim() <= 1 else "tensor"), trainable=name in trainable)
        entries.append(entry)
    return entries


class _GivenBatch:
    """Stands in for the trainer's augmentation: the step must see exactly the parity input."""

    def train_batch(self, images: Any) -> Any:
        return images


def run(request: Dict[str, Any]) -> Dict[str, Any]:
    import torch
    from torch import nn

    import train
    from variant import load_variant

    threads = configure_threads(os.environ)
    started = time.perf_counter()
    arch, num_classes, seed, batch = str(request["arch"]), int(request["numClasses"]), int(request["seed"]), int(request["batch"])
    recipe = dict(request["recipe"])
    recipe.setdefault("batchSize", batch)
    variant = load_variant(os.path.abspath(str(request["variantPath"])))
    if variant.regularizer is None or variant.norm_class is not None:
        raise ValueError(f"{request['variantPath']}: the parity step needs a regularizer-only variant")
    # The dataset only picks the augmentation's normalization constants, which _GivenBatch skips.
    trainer = train.Trainer(arch, num_classes, "cifar10", recipe, seed, torch.device("cpu"), variant)
    trainer.transform = _GivenBatch()  # type: ignore[assignment]
    model = trainer.model
    kinds = _kinds(model)

    raw = open(str(request["inputPath"]), "rb").read()
    x = torch.frombuffer(bytearray(raw), dtype=torch.float32).reshape(batch, 3, 32, 32).clone()
    labels = torch.tensor([int(v) for v in request["labels"]], dtype=torch.long)
    if labels.shape != (batch,):
        raise ValueError(f"expected {batch} labels, got {labels.shape[0]}")
    _prepare_state(model, x, seed)
    # The state is prepared on the CPU (its generator draws there), then moved (--device cuda).
    device = torch.device(str(request.get("device") or "cpu"))
    if device.type != "cpu":
        model.to(device)
        x, labels = x.to(device), labels.to(device)
        trainer.device = device
        trainer._zero = trainer._zero.to(device)
    built = time.perf_counter()

    out_path = os.path.join(str(request["outDir"]), "tensors.bin")
    with open(out_path, "wb") as f:
        tensors = _TensorFile(f)
        initial = _export_state(model, tensors, kinds)

        model.eval()
        with torch.no_grad():
            eval_logits = tensors.add(model(x))
        evaluated = time.perf_counter()

        model.train()
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.p = 0.0
        trainer.set_lr(float(recipe["lr"]))
        config = {"num_classes": num_classes, "epoch": 0, "total_epochs": 1, "step": 0, "steps_per_epoch": 1}
        margin = _KinkMargin(model)
        try:
            stats = trainer.train_step(x, labels, config)
        finally:
            margin.remove()
        stepped = time.perf_counter()
        after = _export_state(model, tensors, kinds)
        # The step leaves each parameter's .grad in place (it zeroes them before the backward).
        grads = []
        for name, p in model.named_parameters():
            entry = tensors.add(p.grad if p.grad is not None else torch.zeros_like(p))
            entry.update(name=name, kind=kinds.get(name, "vector" if p.dim() <= 1 else "tensor"), trainable=True)
            grads.append(entry)

    return {
        "torch": str(torch.__version__),
        "threads": threads,
        "tensorsPath": out_path,
        "initial": initial,
        "evalLogits": eval_logits,
        "after": after,
        "grads": grads,
        "ce": stats.ce,
        "term": stats.term,
        "reluMargin": _KinkMargin.as_json(margin.relu),
        "poolTieGap": _KinkMargin.as_json(margin.pool),
        "seconds": {"build": built - started, "eval": evaluated - built, "step": stepped - evaluated},
    }


def main() -> int:
    prefer_passive_waits()
    try:
        request = json.loads(sys.stdin.read())
        if not isinstance(request, dict):
            raise ValueError("the request on stdin must be a JSON object")
        answer = run(request)
    except Exception as exc:  # reported to the parent as one line, with the traceback on stderr
        traceback.print_exc()
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        sys.stdout.write(json.dumps({"error": str(message)}) + "\n")
        return 1
    sys.stdout.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
