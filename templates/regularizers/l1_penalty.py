"""L1 weight penalty: lambda times the sum of absolute values of every conv and linear weight; it
pushes small weights to exactly zero (sparsity), where L2 only shrinks them proportionally.

Formula: term = LAMBDA * sum over conv and linear weights of sum |w|
  (every nn.Conv2d and nn.Linear weight, depthwise convolutions included; no bias, no norm
  parameter). Gradient LAMBDA * sign(w), 0 at w = 0 (torch.abs's gradient; the same in l1-penalty.ts).
Weight decay 5e-4 (coupled L2 on every parameter) is already applied by the optimizer; this term
is additional, so the weights get L1 + L2 (an elastic-net penalty).
Paper: Tibshirani, "Regression Shrinkage and Selection via the Lasso", J. R. Stat. Soc. B 1996
       (the classic L1 penalty, here on network weights).
Hyperparameters: LAMBDA = 1e-5 (below; the same in l1-penalty.ts, see templates/README.md).
"""
import torch
from torch import nn

# Strength of the L1 penalty.
LAMBDA = 1e-5


def compute_regularization(model, inputs, outputs, targets, config):
    sums = [m.weight.abs().sum() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if not sums:
        return outputs.new_zeros(())
    return LAMBDA * torch.stack(sums).sum()
