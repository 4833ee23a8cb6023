"""Blank normalization layer: a runnable skeleton that only applies a per-channel affine map (no
statistics at all, so expect training to be unstable until you add some).

Formula: y = weight * x + bias, per channel; x and y are [B, C, H, W].
Paper: none. Hyperparameters: none (EPS and MOMENTUM below are PyTorch's defaults, for when you
add statistics). Templates to start from: batchnorm.py, groupnorm.py, batch_instance_norm.py,
switchable_norm.py (see templates/README.md).

The engine builds CustomNorm(num_features) for every BatchNorm2d slot of the architecture. Its
nn.Parameters are trained (with weight decay 5e-4 like every parameter); buffers registered with
register_buffer (running statistics) are not. self.training tells training from evaluation.
"""
import torch
from torch import nn

EPS = 1e-5
MOMENTUM = 0.1


class CustomNorm(nn.Module):
    def __init__(self, num_features):
        super().__init__()
        self.num_features = num_features
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        # TODO: buffers, e.g. self.register_buffer("running_mean", torch.zeros(num_features))

    def forward(self, x):
        # TODO: normalize x here, e.g. with x.mean(dim=..., keepdim=True) and
        # x.var(dim=..., correction=0, keepdim=True) and EPS. Batch statistics belong to
        # training only: when self.training is False use running statistics, which you update in
        # training under torch.no_grad() (momentum MOMENTUM, PyTorch's convention).
        return x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
