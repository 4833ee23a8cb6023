"""Switchable Normalization: learns how much of InstanceNorm, LayerNorm and BatchNorm statistics to
use, with separate softmax weights for the means and for the variances.

Formula (x [B, C, H, W]; all variances biased):
  IN: m_in, v_in over (H, W) per (sample, channel)
  LN: m_ln, v_ln over (C, H, W) per sample
  BN: m_bn, v_bn over (B, H, W) per channel in training; running_mean / running_var in evaluation
  w_m = softmax(mean_weight), w_v = softmax(var_weight), each over [IN, LN, BN]
  m = w_m[0] m_in + w_m[1] m_ln + w_m[2] m_bn,   v = w_v[0] v_in + w_v[1] v_ln + w_v[2] v_bn
  y = weight * (x - m) / sqrt(v + EPS) + bias
  running stats as BatchNorm2d: running <- (1 - MOMENTUM) running + MOMENTUM batch, with the
  unbiased BN variance (n = B*H*W) in running_var.
mean_weight and var_weight start at ones (equal thirds) and are shared by all channels. The
official code derives LN/BN from the IN moments with an unbiased IN variance and keeps running
stats with momentum 0.997 in the other convention; this template uses biased variances
throughout and PyTorch's BatchNorm convention for the running stats.
Paper: Luo, Ren, Peng, Zhang, Li, "Differentiable Learning-to-Normalize via Switchable
       Normalization", ICLR 2019.
Hyperparameters: EPS = 1e-5, MOMENTUM = 0.1 (below; the same in switchable-norm.ts).
Parameters weight (1), bias (0), mean_weight (1, 1, 1), var_weight (1, 1, 1);
buffers running_mean (0), running_var (1).
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
        # Logits of the [IN, LN, BN] mixtures of means and of variances.
        self.mean_weight = nn.Parameter(torch.ones(3))
        self.var_weight = nn.Parameter(torch.ones(3))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        shape = (1, -1, 1, 1)
        m_in = x.mean(dim=(2, 3), keepdim=True)                       # [B, C, 1, 1]
        v_in = x.var(dim=(2, 3), correction=0, keepdim=True)
        m_ln = x.mean(dim=(1, 2, 3), keepdim=True)                    # [B, 1, 1, 1]
        v_ln = x.var(dim=(1, 2, 3), correction=0, keepdim=True)
        if self.training:
            m_bn = x.mean(dim=(0, 2, 3))                              # [C]
            v_bn = x.var(dim=(0, 2, 3), correction=0)
            n = x.numel() // x.shape[1]
            with torch.no_grad():
                unbiased = v_bn * n / (n - 1) if n > 1 else v_bn
                self.running_mean.mul_(1 - MOMENTUM).add_(MOMENTUM * m_bn)
                self.running_var.mul_(1 - MOMENTUM).add_(MOMENTUM * unbiased)
        else:
            m_bn, v_bn = self.running_mean, self.running_var
        w_m = torch.softmax(self.mean_weight, dim=0)
        w_v = torch.softmax(self.var_weight, dim=0)
        mean = w_m[0] * m_in + w_m[1] * m_ln + w_m[2] * m_bn.view(shape)
        var = w_v[0] * v_in + w_v[1] * v_ln + w_v[2] * v_bn.view(shape)
        x_hat = (x - mean) / torch.sqrt(var + EPS)
        return self.weight.view(shape) * x_hat + self.bias.view(shape)
