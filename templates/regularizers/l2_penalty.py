"""L2 weight penalty: an explicit lambda/2 * sum w^2 over every conv and linear weight.

Formula: term = LAMBDA / 2 * sum over conv and linear weights of sum w^2
  (every nn.Conv2d and nn.Linear weight, depthwise convolutions included; no bias, no norm
  parameter). Gradient LAMBDA * w.
Relation to the optimizer: SGD already applies coupled weight decay 5e-4 to every parameter, i.e.
  adds 5e-4 * w to each gradient before momentum. This term adds LAMBDA * w to the gradient of the
  conv and linear weights, so it is exactly the same as raising their weight decay from 5e-4 to
  5e-4 + LAMBDA (1e-3 here), while biases and norm parameters keep 5e-4. Only the logged loss
  differs (it includes the term; the optimizer's decay is not in the loss).
Paper: Krogh, Hertz, "A Simple Weight Decay Can Improve Generalization", NeurIPS 1991
       (the classic L2 penalty / weight decay).
Hyperparameters: LAMBDA = 5e-4 (below; the same in l2-penalty.ts, see templates/README.md).
"""
import torch
from torch import nn

# Strength of the L2 penalty (added to the weight decay of conv and linear weights).
LAMBDA = 5e-4


def compute_regularization(model, inputs, outputs, targets, config):
    sums = [m.weight.pow(2).sum() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if not sums:
        return outputs.new_zeros(())
    return LAMBDA / 2 * torch.stack(sums).sum()
