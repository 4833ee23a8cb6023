"""Blank regularizer: a skeleton that adds nothing (term = 0).

The engine calls `compute_regularization` once per training step, after the forward pass, and adds
the returned scalar to the cross-entropy loss before backward(). Whatever the term depends on
through the model (its weights, or feature maps captured with forward hooks) receives gradients;
weight decay 5e-4 is already applied by the optimizer, so the term is additional to it.

Formula: term = 0. Paper: none. Hyperparameters: none (declare yours as constants below).
Templates to start from: confidence_penalty.py (outputs), dropblock_penalty.py (feature maps via
forward hooks), orthogonal_reg.py (weights). See templates/README.md.
"""
import torch  # noqa: F401  (for the term you will build)
import torch.nn.functional as F  # noqa: F401  (you will likely need it)

# TODO: your hyperparameters, e.g. LAMBDA = 1e-4


def compute_regularization(model, inputs, outputs, targets, config):
    # model       the torch.nn.Module being trained (model.named_modules(), model.named_parameters();
    #             module names as in docs/architectures.md: ResNet 'layer1.0.conv1', VGG
    #             'features.0', MobileNetV2 'features.1.conv.0.0'). For intermediate feature maps,
    #             register forward hooks once (see dropblock_penalty.py).
    # inputs      the augmented, normalized batch [B, 3, 32, 32]
    # outputs     logits [B, num_classes]
    # targets     integer labels [B] (int64)
    # config      {'num_classes', 'epoch' (0-based), 'total_epochs', 'step' (0-based within the
    #             epoch), 'steps_per_epoch'}
    #
    # TODO: build the term from the arguments above and return it as a scalar tensor.
    return outputs.new_zeros(())
