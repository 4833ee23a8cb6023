"""Filter Response Normalization with a Thresholded Linear Unit (FRN + TLU): per (sample, channel),
divide by the root mean square over the spatial positions (no mean subtraction, no batch
dependence), then an affine map and a learned lower threshold tau. Training and evaluation
compute the same function; there are no running statistics.

Formula (x [B, C, H, W]):
  nu2 = mean over (H, W) of x^2, per (b, c)
  x_hat = x / sqrt(nu2 + EPS)
  y = max(weight * x_hat + bias, tau)               (weight = gamma, bias = beta, tau per channel)
EPS is a fixed constant (1e-5, the convention of every template here). Not learned: the paper
  adds a learned |eps_l| only for 1x1 feature maps, where nu2 = x^2 and x_hat degenerates to
  sign(x); the smallest maps a norm sees here are 2x2 (VGG's last stage), 4x4 or larger elsewhere.
  The paper's default EPS is 1e-6.
Differences from the paper: FRN+TLU is meant to replace a BatchNorm AND the ReLU after it; a
  CustomNorm only replaces the BatchNorm, so the architecture's ReLU stays after the TLU
  (relu(max(y, tau)) = max(y, tau, 0): the same as TLU while tau >= 0), and the TLU is also applied
  at norm slots with no activation after them (ResNet's bn2 before the residual sum, MobileNetV2's
  projection), where it adds a nonlinearity the paper does not have. Set USE_TLU = False to get
  y = weight * x_hat + bias (plain FRN) and keep only the architecture's activations.
  The paper also warms up the learning rate; the protocol's schedule is not changed.
Paper: Singh, Krishnan, "Filter Response Normalization Layer: Eliminating Batch Dependence in the
       Training of Deep Neural Networks", CVPR 2020.
Hyperparameters: EPS = 1e-5, USE_TLU = True (below; the same in filter-response-norm.ts, see
templates/README.md). Parameters weight (1), bias (0), tau (0).
"""
import torch
import torch.nn.functional as F
from torch import nn

EPS = 1e-5
USE_TLU = True


class CustomNorm(nn.Module):
    def __init__(self, num_features):
        super().__init__()
        self.num_features = num_features
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.tau = nn.Parameter(torch.zeros(num_features))

    def forward(self, x):
        # self.training does not matter: the statistics are the current sample's in both modes.
        nu2 = x.pow(2).mean(dim=(2, 3), keepdim=True)
        x_hat = x * torch.rsqrt(nu2 + EPS)
        y = self.weight.view(1, -1, 1, 1) * x_hat + self.bias.view(1, -1, 1, 1)
        if not USE_TLU:
            return y
        # max(y, tau) written relu(y - tau) + tau, as in filter-response-norm.ts (ties give tau the gradient).
        tau = self.tau.view(1, -1, 1, 1)
        return F.relu(y - tau) + tau
