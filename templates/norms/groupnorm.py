"""GroupNorm: per-sample statistics over groups of channels; independent of the batch, so training
and evaluation compute exactly the same function and there are no running statistics.

Formula (x [B, C, H, W], G groups of C/G contiguous channels; channel c is in group c // (C/G)):
  per (sample, group): m = mean, v = biased variance over (the C/G channels of the group, H, W)
  y = weight * (x - m) / sqrt(v + EPS) + bias        (weight, bias per channel)
Groups: G = gcd(GROUPS, C): GROUPS whenever it divides C (C = 64, 96, 160, 320, 1280 -> 32), else
  the largest divisor of C that divides GROUPS (C = 16 -> 16, 144 -> 16, 24 -> 8), because the
  architectures here have channel counts that 32 does not divide.
Paper: Wu, He, "Group Normalization", ECCV 2018.
Hyperparameters: GROUPS = 32, EPS = 1e-5 (below; the same in groupnorm.ts, see templates/README.md).
Parameters weight (1), bias (0).
"""
import math

import torch
from torch import nn

GROUPS = 32
EPS = 1e-5


class CustomNorm(nn.Module):
    def __init__(self, num_features):
        super().__init__()
        self.num_features = num_features
        self.groups = math.gcd(GROUPS, num_features)
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))

    def forward(self, x):
        # self.training does not matter: the statistics are the current sample's in both modes.
        b, c, h, w = x.shape
        grouped = x.reshape(b, self.groups, -1)
        mean = grouped.mean(dim=2, keepdim=True)
        var = grouped.var(dim=2, correction=0, keepdim=True)
        x_hat = ((grouped - mean) / torch.sqrt(var + EPS)).reshape(b, c, h, w)
        return self.weight.view(1, -1, 1, 1) * x_hat + self.bias.view(1, -1, 1, 1)
