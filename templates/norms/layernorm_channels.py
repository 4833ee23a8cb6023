"""LayerNorm over channels: at every position (b, h, w), normalize the C channel values; the
statistics are the current sample's, so training and evaluation compute the same function and
there are no running statistics.

Formula (x [B, C, H, W]):
  per (b, h, w): m = mean over C, v = biased variance over C
  y = weight * (x - m) / sqrt(v + EPS) + bias        (weight, bias per channel)
(the "LayerNorm2d" of ConvNeXt; not the original LayerNorm over (C, H, W) of a sample, which is
GroupNorm with one group).
Paper: Ba, Kiros, Hinton, "Layer Normalization", arXiv 2016; applied per position over channels
       as in Liu et al., "A ConvNet for the 2020s" (ConvNeXt), CVPR 2022.
Hyperparameters: EPS = 1e-5 (below; the same in layernorm-channels.ts, see templates/README.md).
Parameters weight (1), bias (0).
"""
import torch
from torch import nn

EPS = 1e-5


class CustomNorm(nn.Module):
    def __init__(self, num_features):
        super().__init__()
        self.num_features = num_features
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))

    def forward(self, x):
        # self.training does not matter: the statistics are the current position's in both modes.
        mean = x.mean(dim=1, keepdim=True)
        var = x.var(dim=1, correction=0, keepdim=True)
        x_hat = (x - mean) / torch.sqrt(var + EPS)
        return self.weight.view(1, -1, 1, 1) * x_hat + self.bias.view(1, -1, 1, 1)
