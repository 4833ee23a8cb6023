"""Orthogonal regularization: pushes every conv and linear weight towards an orthonormal matrix.

Formula: for each weight W (conv [out, in, kh, kw] -> [out, in*kh*kw]; linear [out, in] as is),
  o = rows (outputs), f = columns (fan-in);
  G = W W^T (o x o) when o <= f, else G = W^T W (f x f): the smaller Gram side, so that the
  optimum (orthonormal rows, resp. columns) is reachable.
  term = LAMBDA * sum over weights ||G - I||_F^2
It is 0 exactly when every weight has orthonormal rows (o <= f) or columns (o > f).
Depthwise convolutions (Conv2d with groups > 1) are skipped: each filter sees one channel, so
orthogonality across channels has no meaning. Biases and norm parameters are not included.
Paper: Brock, Lim, Ritchie, Weston, "Neural Photo Editing with Introspective Adversarial
       Networks", ICLR 2017 (used again in BigGAN, Brock et al. 2019).
Hyperparameters: LAMBDA = 1e-4 (below; the same in orthogonal-reg.ts, see templates/README.md).
"""
import torch
from torch import nn

LAMBDA = 1e-4


def gram_penalty(weight):
    """||G - I||_F^2 for one weight, G the smaller Gram matrix of its [out, fan_in] view."""
    w = weight.reshape(weight.shape[0], -1)
    out_units, fan_in = w.shape
    gram = w @ w.t() if out_units <= fan_in else w.t() @ w
    eye = torch.eye(gram.shape[0], device=gram.device, dtype=gram.dtype)
    return ((gram - eye) ** 2).sum()


def compute_regularization(model, inputs, outputs, targets, config):
    terms = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d) and module.groups > 1:
            continue
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            terms.append(gram_penalty(module.weight))
    if not terms:
        return outputs.new_zeros(())
    return LAMBDA * torch.stack(terms).sum()
