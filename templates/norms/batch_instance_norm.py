"""Batch-Instance Normalization: a learned per-channel gate between BatchNorm (keeps style/contrast
information) and InstanceNorm (removes it).

Formula (x [B, C, H, W], per channel):
  x_bn = (x - m_B) / sqrt(v_B + EPS)   m_B, v_B over (B, H, W) in training (biased variance),
                                       running_mean / running_var in evaluation
  x_in = (x - m_I) / sqrt(v_I + EPS)   m_I, v_I over (H, W) per (sample, channel), in both modes
  r    = clamp(rho, 0, 1)
  y    = weight * (r * x_bn + (1 - r) * x_in) + bias
  running stats as BatchNorm2d: running <- (1 - MOMENTUM) running + MOMENTUM batch, with the
  unbiased variance (n = B*H*W) in running_var.
rho starts at 1 (pure BatchNorm). The paper clips rho into [0, 1] after each optimizer step; a
variant cannot act after the step, so the clamp is applied in the forward pass. Its gradient
passes for 0 <= rho <= 1 and is 0 outside; a rho pushed out of range then stays at the boundary
(as clipping would keep it) until weight decay draws it back inside.
Paper: Nam, Kim, "Batch-Instance Normalization for Adaptively Style-Invariant Neural Networks",
       NeurIPS 2018.
Hyperparameters: EPS = 1e-5, MOMENTUM = 0.1, RHO_INIT = 1 (below; the same in batch-instance-norm.ts).
Parameters weight (1), bias (0), rho (1); buffers running_mean (0), running_var (1).
"""
import torch
from torch import nn

EPS = 1e-5
MOMENTUM = 0.1
RHO_INIT = 1.0


class CustomNorm(nn.Module):
    def __init__(self, num_features):
        super().__init__()
        self.num_features = num_features
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.rho = nn.Parameter(torch.full((num_features,), RHO_INIT))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        shape = (1, -1, 1, 1)
        if self.training:
            bn_mean = x.mean(dim=(0, 2, 3))
            bn_var = x.var(dim=(0, 2, 3), correction=0)
            n = x.numel() // x.shape[1]
            with torch.no_grad():
                unbiased = bn_var * n / (n - 1) if n > 1 else bn_var
                self.running_mean.mul_(1 - MOMENTUM).add_(MOMENTUM * bn_mean)
                self.running_var.mul_(1 - MOMENTUM).add_(MOMENTUM * unbiased)
        else:
            bn_mean, bn_var = self.running_mean, self.running_var
        x_bn = (x - bn_mean.view(shape)) / torch.sqrt(bn_var.view(shape) + EPS)
        in_mean = x.mean(dim=(2, 3), keepdim=True)
        in_var = x.var(dim=(2, 3), correction=0, keepdim=True)
        x_in = (x - in_mean) / torch.sqrt(in_var + EPS)
        r = self.rho.clamp(0.0, 1.0).view(shape)
        return self.weight.view(shape) * (r * x_bn + (1 - r) * x_in) + self.bias.view(shape)
