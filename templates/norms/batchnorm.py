"""BatchNorm written from scratch: the reference every normalization variant is compared with
(numerically the same as torch.nn.BatchNorm2d).

Formula (x [B, C, H, W], per channel c):
  training:   m = mean over (B, H, W),  v = biased variance over (B, H, W)
              y = weight * (x - m) / sqrt(v + EPS) + bias
              running_mean <- (1 - MOMENTUM) * running_mean + MOMENTUM * m
              running_var  <- (1 - MOMENTUM) * running_var  + MOMENTUM * v * n / (n - 1),  n = B*H*W
  evaluation: y = weight * (x - running_mean) / sqrt(running_var + EPS) + bias
Paper: Ioffe, Szegedy, "Batch Normalization: Accelerating Deep Network Training by Reducing
       Internal Covariate Shift", ICML 2015.
Hyperparameters: EPS = 1e-5, MOMENTUM = 0.1 (below; PyTorch's defaults, the same in batchnorm.ts).
Parameters weight (1), bias (0); buffers running_mean (0), running_var (1).
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
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        if self.training:
            mean = x.mean(dim=(0, 2, 3))
            var = x.var(dim=(0, 2, 3), correction=0)
            n = x.numel() // x.shape[1]
            with torch.no_grad():
                unbiased = var * n / (n - 1) if n > 1 else var
                self.running_mean.mul_(1 - MOMENTUM).add_(MOMENTUM * mean)
                self.running_var.mul_(1 - MOMENTUM).add_(MOMENTUM * unbiased)
        else:
            mean, var = self.running_mean, self.running_var
        shape = (1, -1, 1, 1)
        x_hat = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + EPS)
        return self.weight.view(shape) * x_hat + self.bias.view(shape)
