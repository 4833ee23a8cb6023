"""DropBlock-style co-activation penalty: a deterministic, differentiable stand-in for DropBlock.
DropBlock drops contiguous blocks because neighbouring activations carry redundant information;
this term penalizes that redundancy directly: the co-activation of distinct positions that share
a BLOCK_SIZE x BLOCK_SIZE window.

Formula, for each selected feature map A [B, C, H, W]:
  n  = A / sqrt(mean_{h,w} A^2 + EPS)          per (sample, channel): scale-free, so shrinking the
                                               activations cannot lower the term
  over every k x k window (k = BLOCK_SIZE, stride 1, no padding; (H-k+1) x (W-k+1) windows):
  s  = sum_window n,   q = sum_window n^2
  c  = (s^2 - q) / (k^2 (k^2 - 1))            the mean of n_i * n_j over ordered pairs i != j
  P(A) = mean over (sample, channel, window) of relu(c)
  term = LAMBDA * mean over selected maps of P(A)
Recorded maps (forward hooks, in forward order; the maps the TensorFlow.js engine records in
model.features): ResNet the stem (conv1, after its ReLU) and the residual blocks (layer1.0 ...
layer3.N), VGG the ReLU and max-pool outputs in `features`, MobileNetV2 features.0 ... features.18. Selected: a map of at least k x k that is the last of its run of equal
spatial size (the end of a stage: ResNet-56 layer1.8, layer2.8, layer3.8).
The hooks are registered by `setup(model)`, which Regbench calls once the model is built (and again
after a resume), so every step has the full term. Elsewhere (a harness that never calls setup) the
first call registers them and returns 0 for that step.
Properties: term >= 0; a constant positive map gives c = 1, a +/-1 checkerboard c = -1/9 (P = 0),
zero-mean i.i.d. noise P ~ 0.
Paper: the idea of Ghiasi, Lin, Le, "DropBlock: A regularization method for convolutional
       networks", NeurIPS 2018; the penalty form is this template's (see templates/README.md).
Hyperparameters: BLOCK_SIZE = 3, LAMBDA = 0.1, EPS = 1e-5 (below; the same in dropblock-penalty.ts).
"""
import torch
import torch.nn.functional as F
from torch import nn

BLOCK_SIZE = 3
LAMBDA = 0.1
EPS = 1e-5

# id(model) -> the list the hooks fill during the model's current forward pass.
_recorded = {}


def recorded_modules(model):
    """The modules whose outputs are recorded, in forward order."""
    if all(hasattr(model, f"layer{i}") for i in (1, 2, 3)):
        stem = [model.relu] if isinstance(getattr(model, "relu", None), nn.Module) else []
        return stem + [block for i in (1, 2, 3) for block in getattr(model, f"layer{i}").children()]
    features = getattr(model, "features", None)
    if isinstance(features, nn.Sequential):
        children = list(features.children())
        if any(isinstance(m, nn.MaxPool2d) for m in children):  # VGG: after each ReLU and pool
            return [m for m in children if isinstance(m, (nn.ReLU, nn.MaxPool2d))]
        return children
    raise RuntimeError("dropblock_penalty: unknown architecture: no layer1..3 or features to hook")


def _install_hooks(model):
    maps = []

    def reset(module, args):
        maps.clear()

    def record(module, args, output):
        if torch.is_grad_enabled():  # training forwards only; evaluation keeps nothing
            maps.append(output)

    model.register_forward_pre_hook(reset)
    for m in recorded_modules(model):
        m.register_forward_hook(record)
    _recorded[id(model)] = maps
    return maps


def stage_ends(maps, k):
    """The last map of each run of equal spatial size, keeping maps of at least k x k."""
    out = []
    for i, a in enumerate(maps):
        h, w = a.shape[-2:]
        nxt = maps[i + 1] if i + 1 < len(maps) else None
        end_of_run = nxt is None or tuple(nxt.shape[-2:]) != (h, w)
        if end_of_run and h >= k and w >= k:
            out.append(a)
    return out


def co_activation(a, k):
    """P(A): mean positive co-activation of distinct positions within k x k windows."""
    rms = torch.sqrt(a.pow(2).mean(dim=(2, 3), keepdim=True) + EPS)
    n = a / rms
    area = k * k
    s = F.avg_pool2d(n, k, stride=1) * area
    q = F.avg_pool2d(n * n, k, stride=1) * area
    c = (s * s - q) / (area * (area - 1))
    return F.relu(c).mean()


def setup(model):
    """Registers the recording hooks before the first forward pass (Regbench calls it)."""
    if id(model) not in _recorded:
        _install_hooks(model)


def compute_regularization(model, inputs, outputs, targets, config):
    maps = _recorded.get(id(model))
    if maps is None:
        _install_hooks(model)
        return outputs.new_zeros(())
    selected = stage_ends(list(maps), BLOCK_SIZE)
    if not selected:
        raise RuntimeError(f"dropblock_penalty: no feature map of at least {BLOCK_SIZE}x{BLOCK_SIZE} recorded "
                           f"({len(maps)} recorded)")
    return LAMBDA * torch.stack([co_activation(a, BLOCK_SIZE) for a in selected]).mean()
