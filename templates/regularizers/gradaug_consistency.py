"""GradAug-style consistency: the network's predictions on a transformed view of the batch are
pulled towards its (fixed) predictions on the batch itself, by a second training-mode forward
pass of the view.

Formula (logits z = outputs [B, K]; z' = model(view(inputs)) [B, K], the model in training mode):
  view(x)  = nearest 2x upsampling of the 2x2 average pooling of the horizontally flipped x:
             a half-resolution copy shown at the full 32x32 size (x [B, C, H, W], H and W even)
  q_b = softmax(z_b.detach() / T),  log r_b = log_softmax(z'_b / T)
  term = LAMBDA * mean_b KL(q_b || r_b) = LAMBDA * mean_b sum_k q_bk (log q_bk - log r_bk)   (>= 0)
The full batch's predictions are the teacher (no gradient through them), as GradAug's full network
is for its sub-networks; the gradient reaches the weights through the view's forward pass only.
The view's forward runs in training mode (its own batch statistics, its own dropout masks) on
copies of every buffer (running statistics, num_batches_tracked), which are dropped afterwards, so
running statistics follow the real batches only, as without the term. It costs a second forward and
backward pass per step. Forward hooks of the model (if another variant installed any) see the view too.
Differences from GradAug: GradAug samples several width-reduced sub-networks per step (channels
cut from the full network), each fed the batch at a random lower resolution, and distills the
full network's soft predictions into each. The variant API has no width-sampled sub-networks
(the TensorFlow.js model's forward runs the whole network, and the template keeps both engines
alike), and VGG's five max-pools need 32x32 inputs, so here one view per step, through the full
network: a fixed half-resolution content (2x2 means) at full size, flipped so that the view
differs from the batch on every image. Both engines do the same.
Paper: Yang, Wang, Zhu, Yuan, "GradAug: A New Regularization Method for Deep Neural Networks",
       NeurIPS 2020.
Hyperparameters: LAMBDA = 1, T = 1 (below; the same in gradaug-consistency.ts, see
templates/README.md).
"""
import torch
import torch.nn.functional as F

# Weight of the consistency term.
LAMBDA = 1.0
# Softmax temperature of both distributions.
T = 1.0


def view(x):
    """The half-resolution, flipped copy of x [B, C, H, W] at full size."""
    pooled = F.avg_pool2d(torch.flip(x, dims=[3]), 2)
    return pooled.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)


def consistency(teacher, student):
    """LAMBDA * mean_b KL(softmax(teacher / T) || softmax(student / T)), no gradient to the teacher."""
    log_q = F.log_softmax(teacher.detach() / T, dim=1)
    log_r = F.log_softmax(student / T, dim=1)
    return LAMBDA * (log_q.exp() * (log_q - log_r)).sum(dim=1).mean()


def compute_regularization(model, inputs, outputs, targets, config):
    # The view's forward updates copies of the buffers, which are then dropped. Copying the old
    # values back in place instead would fail in backward: BatchNorm's backward reads the running
    # statistics the batch's forward saved, and an in-place change invalidates them.
    originals = [(m, name, b) for m in model.modules() for name, b in m.named_buffers(recurse=False)]
    for m, name, b in originals:
        setattr(m, name, b.clone())
    try:
        view_logits = model(view(inputs))
    finally:
        for m, name, b in originals:
            setattr(m, name, b)
    return consistency(outputs, view_logits)
