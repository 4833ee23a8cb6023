"""Confidence penalty: rewards output distributions with high entropy, discouraging over-confident
predictions (a relative of label smoothing that acts on the model's own distribution).

Formula: p_b = softmax(outputs_b), H_b = -sum_k p_bk * log p_bk (natural log),
         term = -BETA * mean_b H_b          (<= 0; -BETA * log K at uniform predictions)
Paper: Pereyra, Tucker, Chorowski, Kaiser, Hinton, "Regularizing Neural Networks by Penalizing
       Confident Output Distributions", ICLR workshop 2017.
Hyperparameters: BETA = 0.1 (below; the same in confidence-penalty.ts, see templates/README.md).
"""
import torch.nn.functional as F

# Strength of the entropy bonus.
BETA = 0.1


def compute_regularization(model, inputs, outputs, targets, config):
    # log_softmax rather than log(softmax): finite even when a probability underflows to 0.
    log_p = F.log_softmax(outputs, dim=1)
    entropy = -(log_p.exp() * log_p).sum(dim=1)
    return -BETA * entropy.mean()
