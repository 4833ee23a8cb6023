import math
import unittest

import torch
from torch import nn

import models

# PARAM_COUNTS / NORM_COUNTS of src/protocol/benchmarks.ts (test/pytorch-worker.test.ts also
# compares the worker's counts with the TypeScript constants directly).
BENCHES = {
    "resnet20-cifar10": ("resnet20", 10, 272474, 21),
    "resnet56-cifar100": ("resnet56", 100, 861620, 57),
    "resnet110-cifar100": ("resnet110", 100, 1736564, 111),
    "vgg16bn-cifar100": ("vgg16bn", 100, 15299748, 13),
    "mobilenetv2-fmnist": ("mobilenetv2", 10, 2236682, 52),
}


class CountingNorm(nn.Module):
    made = 0

    def __init__(self, num_features):
        super().__init__()
        CountingNorm.made += 1
        self.scale = nn.Parameter(torch.ones(num_features))

    def forward(self, x):
        return x * self.scale.view(1, -1, 1, 1)


class ModelTest(unittest.TestCase):
    def test_parameter_and_norm_counts(self):
        for bench, (arch, classes, params, norms) in BENCHES.items():
            with self.subTest(bench=bench):
                model = models.build_model(arch, classes)
                self.assertEqual(models.count_parameters(model), params)
                self.assertEqual(sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()), norms)

    def test_custom_norm_replaces_every_batchnorm(self):
        for bench, (arch, classes, _, norms) in BENCHES.items():
            with self.subTest(bench=bench):
                CountingNorm.made = 0
                model = models.build_model(arch, classes, norm_factory=CountingNorm)
                self.assertEqual(CountingNorm.made, norms)
                self.assertEqual(sum(isinstance(m, CountingNorm) for m in model.modules()), norms)
                self.assertFalse(any(isinstance(m, nn.BatchNorm2d) for m in model.modules()))
                out = model.eval()(torch.randn(2, 3, 32, 32))
                self.assertEqual(tuple(out.shape), (2, classes))

    def test_state_dict_names_follow_the_reference(self):
        names = set(models.build_model("resnet20", 10).state_dict())
        for key in ("conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
                    "layer2.0.downsample.1.weight", "layer3.2.bn2.bias", "fc.weight"):
            self.assertIn(key, names)
        self.assertNotIn("layer1.0.downsample.0.weight", names)
        vgg = set(models.build_model("vgg16bn", 100).state_dict())
        for key in ("features.0.weight", "features.0.bias", "features.1.running_var", "features.40.weight",
                    "classifier.0.weight", "classifier.3.weight", "classifier.6.bias"):
            self.assertIn(key, vgg)
        mnv2 = set(models.build_model("mobilenetv2", 10).state_dict())
        for key in ("features.0.0.weight", "features.0.1.weight", "features.1.conv.0.0.weight", "features.1.conv.1.weight",
                    "features.1.conv.2.weight", "features.2.conv.0.0.weight", "features.2.conv.3.running_mean",
                    "features.18.0.weight", "features.18.1.bias", "classifier.1.weight"):
            self.assertIn(key, mnv2)

    def test_initialization(self):
        model = models.build_model("resnet56", 100, seed=3)
        conv = model.layer3[0].conv2
        fan_out = conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]
        self.assertAlmostEqual(conv.weight.std().item(), math.sqrt(2.0 / fan_out), delta=0.1 * math.sqrt(2.0 / fan_out))
        self.assertAlmostEqual(model.fc.weight.std().item(), 0.01, delta=0.002)
        self.assertEqual(model.fc.bias.abs().sum().item(), 0.0)
        self.assertTrue(torch.all(model.bn1.weight == 1) and torch.all(model.bn1.bias == 0))
        vgg = models.build_model("vgg16bn", 10, seed=0)
        self.assertEqual(vgg.features[0].bias.abs().sum().item(), 0.0)

    def test_seed_fixes_the_weights(self):
        a = models.build_model("resnet20", 10, seed=7).state_dict()
        b = models.build_model("resnet20", 10, seed=7).state_dict()
        c = models.build_model("resnet20", 10, seed=8).state_dict()
        self.assertTrue(all(torch.equal(a[k], b[k]) for k in a))
        self.assertFalse(torch.equal(a["layer1.0.conv1.weight"], c["layer1.0.conv1.weight"]))

    def test_batchnorm_uses_recipe_constants(self):
        model = models.build_model("resnet20", 10, models.batchnorm_factory(momentum=0.2, eps=1e-3))
        self.assertEqual(model.bn1.momentum, 0.2)
        self.assertEqual(model.bn1.eps, 1e-3)

    def test_mobilenetv2_residuals(self):
        model = models.build_model("mobilenetv2", 10)
        flags = [blk.use_res_connect for blk in list(model.features)[1:18]]
        # Residual in every repeat after a stage's first block: 1+2+3+4+3+3+1 blocks, 10 residual.
        self.assertEqual(sum(flags), 10)


if __name__ == "__main__":
    unittest.main()
