"""The Python templates compute the formulas templates/README.md states."""
import math
import unittest

import torch
from torch import nn
import torch.nn.functional as F

import models
from tests.support import load_template

CONFIG = {"num_classes": 10, "epoch": 0, "total_epochs": 1, "step": 0, "steps_per_epoch": 1}


def call(module, model, outputs):
    return module.compute_regularization(model, torch.zeros(outputs.shape[0], 3, 32, 32), outputs,
                                         torch.zeros(outputs.shape[0], dtype=torch.long), CONFIG)


class RegularizerTemplateTest(unittest.TestCase):
    def test_blank_is_zero(self):
        term = call(load_template("regularizers", "blank.py"), nn.Linear(2, 2), torch.randn(4, 10))
        self.assertEqual(term.shape, torch.Size([]))
        self.assertEqual(term.item(), 0.0)

    def test_confidence_penalty_is_minus_beta_entropy(self):
        mod = load_template("regularizers", "confidence_penalty.py")
        logits = torch.randn(8, 10)
        p = torch.softmax(logits, 1)
        entropy = -(p * p.log()).sum(1).mean()
        self.assertAlmostEqual(call(mod, None, logits).item(), -0.1 * entropy.item(), places=5)
        self.assertAlmostEqual(call(mod, None, torch.zeros(3, 10)).item(), -0.1 * math.log(10), places=5)
        # Finite for saturated logits, where log(softmax) would give -inf * 0.
        self.assertTrue(math.isfinite(call(mod, None, torch.tensor([[1000.0, -1000.0]])).item()))

    def test_orthogonal_penalty_is_zero_for_orthogonal_weights(self):
        mod = load_template("regularizers", "orthogonal_reg.py")
        wide, tall = nn.Linear(16, 4, bias=False), nn.Linear(4, 16, bias=False)
        nn.init.orthogonal_(wide.weight)
        nn.init.orthogonal_(tall.weight)
        model = nn.Sequential(wide, nn.ReLU(), tall)
        self.assertLess(abs(call(mod, model, torch.randn(2, 10)).item()), 1e-9)
        with torch.no_grad():
            tall.weight.mul_(2.0)  # W^T W = 4 I (4 x 4): ||3 I||^2 = 36
        self.assertAlmostEqual(call(mod, model, torch.randn(2, 10)).item(), 1e-4 * 36, places=6)

    def test_orthogonal_penalty_skips_depthwise_and_reads_convs(self):
        mod = load_template("regularizers", "orthogonal_reg.py")
        depthwise = nn.Conv2d(8, 8, 3, groups=8, bias=False)
        self.assertEqual(call(mod, nn.Sequential(depthwise), torch.randn(2, 10)).item(), 0.0)
        conv = nn.Conv2d(3, 2, 1, bias=False)
        with torch.no_grad():
            conv.weight.copy_(torch.tensor([[1.0, 0, 0], [1.0, 0, 0]]).view(2, 3, 1, 1))
        # W W^T = [[1,1],[1,1]]; minus I: two off-diagonal ones.
        self.assertAlmostEqual(call(mod, nn.Sequential(conv), torch.randn(2, 10)).item(), 2e-4, places=8)

    def _weight_model(self):
        conv = nn.Conv2d(2, 4, 3, bias=True)
        depthwise = nn.Conv2d(5, 5, 3, groups=5, bias=False)
        linear = nn.Linear(3, 2)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor([[1.0, -2.0, 0.0], [0.5, -0.25, 3.0]]))
        model = nn.Sequential(conv, depthwise, nn.BatchNorm2d(5), linear)
        weights = [conv.weight, depthwise.weight, linear.weight]  # no bias, no BN parameter
        return model, weights, linear

    def test_l1_penalty_sums_abs_conv_and_linear_weights(self):
        mod = load_template("regularizers", "l1_penalty.py")
        model, weights, linear = self._weight_model()
        expected = 1e-5 * sum(float(v) for w in weights for v in w.detach().abs().flatten())
        term = call(mod, model, torch.randn(2, 10))
        self.assertAlmostEqual(term.item(), expected, delta=1e-6 * expected)
        term.backward()
        self.assertTrue(torch.equal(linear.weight.grad, 1e-5 * torch.tensor([[1.0, -1.0, 0.0], [1.0, -1.0, 1.0]])))
        self.assertIsNone(linear.bias.grad)
        self.assertEqual(call(mod, nn.ReLU(), torch.randn(2, 10)).item(), 0.0)

    def test_l2_penalty_is_half_lambda_sum_squares_with_gradient_lambda_w(self):
        mod = load_template("regularizers", "l2_penalty.py")
        model, weights, linear = self._weight_model()
        lam = mod.LAMBDA
        expected = lam / 2 * sum(float(v) ** 2 for w in weights for v in w.detach().flatten())
        term = call(mod, model, torch.randn(2, 10))
        self.assertAlmostEqual(term.item(), expected, delta=1e-6 * expected)
        term.backward()
        for w in weights:
            self.assertTrue(torch.allclose(w.grad, lam * w.detach(), atol=1e-10))

    def test_label_smoothing_plus_ce_is_smoothed_ce(self):
        mod = load_template("regularizers", "label_smoothing.py")
        torch.manual_seed(3)
        logits = torch.randn(6, 5, dtype=torch.float64) * 3
        targets = torch.tensor([0, 4, 2, 2, 1, 3])
        term = mod.compute_regularization(None, None, logits, targets, CONFIG)
        ce = F.cross_entropy(logits, targets)
        self.assertAlmostEqual((ce + term).item(), F.cross_entropy(logits, targets, label_smoothing=0.1).item(), places=12)
        # The smoothed targets written out by hand.
        q = torch.full((6, 5), 0.1 / 5, dtype=torch.float64)
        q[torch.arange(6), targets] += 0.9
        by_hand = -(q * torch.log_softmax(logits, 1)).sum(1).mean()
        self.assertAlmostEqual((ce + term).item(), by_hand.item(), places=12)
        self.assertAlmostEqual(mod.compute_regularization(None, None, torch.zeros(2, 5), targets[:2], CONFIG).item(), 0.0, places=7)
        # Constant logit gradient eps * ([k = y] - 1/K) / B.
        z = logits.clone().requires_grad_()
        mod.compute_regularization(None, None, z, targets, CONFIG).backward()
        expected = 0.1 * (F.one_hot(targets, 5).double() - 0.2) / 6
        self.assertTrue(torch.allclose(z.grad, expected, atol=1e-12))

    def test_gradaug_consistency_is_kl_to_the_view_in_training_mode(self):
        mod = load_template("regularizers", "gradaug_consistency.py")
        torch.manual_seed(4)
        B, C, H, W, K = 3, 2, 4, 6, 5
        bn, fc = nn.BatchNorm2d(C), nn.Linear(C * H * W, K)
        with torch.no_grad():
            bn.weight.copy_(torch.tensor([1.5, 0.5]))
            bn.bias.copy_(torch.tensor([0.2, -0.1]))
            bn.running_mean.copy_(torch.tensor([0.25, -0.5]))
        model = nn.Sequential(bn, nn.Flatten(), fc).train()
        x = torch.randn(B, C, H, W) + torch.arange(W).float() / 3
        # The view by index loops: flip W, average 2x2 blocks, repeat each mean over its block.
        v = torch.zeros_like(x)
        for i in range(H):
            for j in range(W):
                p, q = i // 2, j // 2
                v[:, :, i, j] = sum(x[:, :, 2 * p + di, W - 1 - (2 * q + dj)] for di in (0, 1) for dj in (0, 1)) / 4
        self.assertTrue(torch.allclose(mod.view(x), v, atol=1e-6))
        # The model on the view in training mode, by hand: batch statistics of the view.
        m = v.mean((0, 2, 3), keepdim=True)
        var = ((v - m) ** 2).mean((0, 2, 3), keepdim=True)
        h = (v - m) / torch.sqrt(var + 1e-5) * bn.weight.view(1, -1, 1, 1) + bn.bias.view(1, -1, 1, 1)
        student = h.flatten(1) @ fc.weight.t() + fc.bias
        teacher = torch.tensor([[1.0, 0, -1, 2, 0.5], [0, 0, 0, 0, 0], [-2, 3, 0.1, 0, 1]], requires_grad=True)
        expected = 0.0
        for b in range(B):
            q = torch.softmax(teacher[b].detach().double(), 0)
            r = torch.softmax(student[b].detach().double(), 0)
            expected += float((q * (q / r).log()).sum()) / B
        buffers = [t.clone() for t in model.buffers()]
        term = mod.compute_regularization(model, x, teacher, None, CONFIG)
        self.assertGreater(expected, 0.1)
        self.assertAlmostEqual(term.item(), expected, delta=1e-5 * expected)
        # Running statistics and num_batches_tracked as they were.
        self.assertTrue(all(torch.equal(a, b) for a, b in zip(buffers, model.buffers())))
        term.backward()
        self.assertIsNone(teacher.grad)  # stop-gradient on the batch predictions
        self.assertTrue(fc.weight.grad.abs().sum() > 0)
        # Self-consistent predictions give 0.
        self.assertAlmostEqual(mod.compute_regularization(model, x, student.detach(), None, CONFIG).item(), 0.0, places=6)

    def test_gradaug_consistency_on_a_real_network(self):
        mod = load_template("regularizers", "gradaug_consistency.py")
        model = models.build_model("resnet20", 10, seed=0).train()
        x = torch.randn(2, 3, 32, 32)
        out = model(x)
        after_batch = [t.clone() for t in model.buffers()]
        term = mod.compute_regularization(model, x, out, None, CONFIG)
        self.assertTrue(math.isfinite(term.item()) and term.item() >= 0)
        self.assertTrue(all(torch.equal(a, b) for a, b in zip(after_batch, model.buffers())))
        term.backward()
        self.assertIsNotNone(model.conv1.weight.grad)

    def test_dropblock_penalty_values(self):
        mod = load_template("regularizers", "dropblock_penalty.py")
        self.assertAlmostEqual(mod.co_activation(torch.full((2, 3, 8, 8), 5.0), 3).item(), 1.0, places=4)
        checker = (torch.arange(8).view(8, 1) + torch.arange(8).view(1, 8)) % 2 * 2.0 - 1.0
        self.assertEqual(mod.co_activation(checker.expand(2, 3, 8, 8), 3).item(), 0.0)

    def test_dropblock_penalty_hooks_stage_ends(self):
        mod = load_template("regularizers", "dropblock_penalty.py")
        model = models.build_model("resnet20", 10, seed=0)
        x = torch.randn(4, 3, 32, 32)
        first = mod.compute_regularization(model, x, model(x), None, CONFIG)
        self.assertEqual(first.item(), 0.0)  # the hooks did not exist during this forward
        out = model(x)
        maps = mod._recorded[id(model)]
        self.assertEqual(len(maps), 10)  # stem + 9 blocks
        self.assertEqual([tuple(a.shape[-2:]) for a in mod.stage_ends(maps, 3)], [(32, 32), (16, 16), (8, 8)])
        term = mod.compute_regularization(model, x, out, None, CONFIG)
        self.assertGreater(term.item(), 0.0)
        term.backward()
        self.assertIsNotNone(model.layer1[0].conv1.weight.grad)
        with torch.no_grad():
            model(x)
        self.assertEqual(len(maps), 0)  # evaluation forwards record nothing

    def test_dropblock_penalty_selects_vgg_and_mobilenet_maps(self):
        mod = load_template("regularizers", "dropblock_penalty.py")
        for arch, sizes in (("vgg16bn", [32, 16, 8, 4]), ("mobilenetv2", [32, 16, 8, 4])):
            model = models.build_model(arch, 10, seed=0)
            x = torch.randn(2, 3, 32, 32)
            mod.compute_regularization(model, x, model(x), None, CONFIG)
            model(x)
            selected = mod.stage_ends(mod._recorded[id(model)], 3)
            self.assertEqual([a.shape[-1] for a in selected], sizes, arch)


def reference_bn(x, eps=1e-5):
    return (x - x.mean((0, 2, 3), keepdim=True)) / torch.sqrt(x.var((0, 2, 3), correction=0, keepdim=True) + eps)


def reference_in(x, eps=1e-5):
    return (x - x.mean((2, 3), keepdim=True)) / torch.sqrt(x.var((2, 3), correction=0, keepdim=True) + eps)


class NormTemplateTest(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.x = torch.randn(8, 16, 6, 6) * 3 + 1

    def test_every_norm_template_keeps_the_shape_and_trains(self):
        for name in ("blank.py", "batchnorm.py", "groupnorm.py", "batch_instance_norm.py", "switchable_norm.py",
                     "layernorm_channels.py", "filter_response_norm.py"):
            with self.subTest(name=name):
                mod = load_template("norms", name)
                self.assertTrue(mod.__doc__ and len(mod.__doc__) > 100)
                model = models.build_model("resnet20", 10, norm_factory=mod.CustomNorm)
                out = model(torch.randn(4, 3, 32, 32))
                out.sum().backward()
                self.assertEqual(tuple(out.shape), (4, 10))
                self.assertTrue(all(p.grad is not None for p in model.parameters()))

    def test_batchnorm_matches_torch(self):
        mod = load_template("norms", "batchnorm.py")
        mine, ref = mod.CustomNorm(16), nn.BatchNorm2d(16)
        for _ in range(3):
            x = torch.randn(8, 16, 6, 6) * 2 + 0.5
            self.assertTrue(torch.allclose(mine(x), ref(x), atol=1e-5))
        self.assertTrue(torch.allclose(mine.running_mean, ref.running_mean, atol=1e-6))
        self.assertTrue(torch.allclose(mine.running_var, ref.running_var, atol=1e-5))
        mine.eval(), ref.eval()
        self.assertTrue(torch.allclose(mine(self.x), ref(self.x), atol=1e-5))

    def test_norms_with_running_stats_differ_between_train_and_eval(self):
        for name in ("batchnorm.py", "batch_instance_norm.py", "switchable_norm.py"):
            with self.subTest(name=name):
                norm = load_template("norms", name).CustomNorm(16)
                train_out = norm(self.x)
                before = norm.running_mean.clone()
                eval_out = norm.eval()(self.x)
                self.assertFalse(torch.allclose(train_out, eval_out, atol=1e-3))
                self.assertTrue(torch.equal(before, norm.running_mean))  # eval leaves running stats alone

    def test_groupnorm_normalizes_each_group(self):
        mod = load_template("norms", "groupnorm.py")
        self.assertEqual([mod.CustomNorm(c).groups for c in (16, 24, 64, 144, 1280)], [16, 8, 32, 16, 32])
        norm = mod.CustomNorm(64)
        x = torch.randn(4, 64, 5, 5) * 4 + 2
        y = norm(x).reshape(4, 32, -1)
        self.assertTrue(torch.allclose(y.mean(2), torch.zeros(4, 32), atol=1e-5))
        self.assertTrue(torch.allclose(y.var(2, correction=0), torch.ones(4, 32), atol=1e-3))
        self.assertTrue(torch.allclose(norm(x), F.group_norm(x, 32, eps=1e-5), atol=1e-5))
        self.assertTrue(torch.equal(norm(x), norm.eval()(x)))  # no batch statistics

    def test_batch_instance_norm_gate(self):
        norm = load_template("norms", "batch_instance_norm.py").CustomNorm(16)
        self.assertTrue(torch.allclose(norm(self.x), reference_bn(self.x), atol=1e-5))  # rho = 1: BN
        with torch.no_grad():
            norm.rho.fill_(-0.5)  # clamped to 0: IN
        self.assertTrue(torch.allclose(norm(self.x), reference_in(self.x), atol=1e-5))
        with torch.no_grad():
            norm.rho.fill_(0.25)
        mixed = 0.25 * reference_bn(self.x) + 0.75 * reference_in(self.x)
        self.assertTrue(torch.allclose(norm(self.x), mixed, atol=1e-5))

    def test_switchable_norm_mixes_in_ln_bn(self):
        norm = load_template("norms", "switchable_norm.py").CustomNorm(16)
        x = self.x
        m_in, v_in = x.mean((2, 3), keepdim=True), x.var((2, 3), correction=0, keepdim=True)
        m_ln, v_ln = x.mean((1, 2, 3), keepdim=True), x.var((1, 2, 3), correction=0, keepdim=True)
        m_bn, v_bn = x.mean((0, 2, 3), keepdim=True), x.var((0, 2, 3), correction=0, keepdim=True)
        m = (m_in + m_ln + m_bn) / 3
        v = (v_in + v_ln + v_bn) / 3
        self.assertTrue(torch.allclose(norm(x), (x - m) / torch.sqrt(v + 1e-5), atol=1e-4))
        with torch.no_grad():
            norm.mean_weight.copy_(torch.tensor([0.0, 50.0, 0.0]))
            norm.var_weight.copy_(torch.tensor([0.0, 50.0, 0.0]))
        ln = (x - m_ln) / torch.sqrt(v_ln + 1e-5)
        self.assertTrue(torch.allclose(norm(x), ln, atol=1e-4))


    def test_layernorm_channels_normalizes_each_position_over_channels(self):
        norm = load_template("norms", "layernorm_channels.py").CustomNorm(16)
        x = self.x
        with torch.no_grad():
            norm.weight.copy_(torch.linspace(0.5, 2, 16))
            norm.bias.copy_(torch.linspace(-1, 1, 16))
        # The same thing by moving channels last and calling torch's LayerNorm over the last axis.
        ref = F.layer_norm(x.permute(0, 2, 3, 1), (16,), norm.weight, norm.bias, eps=1e-5).permute(0, 3, 1, 2)
        self.assertTrue(torch.allclose(norm(x), ref, atol=1e-5))
        plain = load_template("norms", "layernorm_channels.py").CustomNorm(16)(x)
        self.assertTrue(torch.allclose(plain.mean(1), torch.zeros(8, 6, 6), atol=1e-5))
        self.assertTrue(torch.allclose(plain.var(1, correction=0), torch.ones(8, 6, 6), atol=1e-3))
        self.assertTrue(torch.equal(norm(x), norm.eval()(x)))
        self.assertEqual(len(list(norm.buffers())), 0)

    def test_filter_response_norm_with_tlu(self):
        mod = load_template("norms", "filter_response_norm.py")
        norm = mod.CustomNorm(16)
        self.assertEqual([n for n, _ in norm.named_parameters()], ["weight", "bias", "tau"])
        x = self.x.double()
        norm = norm.double()
        self.assertTrue(torch.equal(norm(x), norm.eval()(x)))
        with torch.no_grad():
            norm.weight.copy_(torch.linspace(-1, 2, 16))
            norm.bias.copy_(torch.linspace(-0.5, 0.5, 16))
            norm.tau.copy_(torch.linspace(-1, 0.7, 16))
        y = norm(x)
        # Element by element for one (sample, channel), in plain Python.
        b, c = 3, 11
        values = [float(v) for v in x[b, c].flatten()]
        nu2 = sum(v * v for v in values) / len(values)
        g, be, t = (float(p[c]) for p in (norm.weight, norm.bias, norm.tau))
        expected = [max(g * v / math.sqrt(nu2 + 1e-5) + be, t) for v in values]
        self.assertTrue(torch.allclose(y[b, c].flatten(), torch.tensor(expected, dtype=torch.float64), atol=1e-12))
        # Whole tensor against a vectorized reference.
        nu2_all = (x * x).mean((2, 3), keepdim=True)
        ref = torch.maximum(norm.weight.view(1, -1, 1, 1) * x / torch.sqrt(nu2_all + 1e-5) + norm.bias.view(1, -1, 1, 1),
                            norm.tau.view(1, -1, 1, 1))
        self.assertTrue(torch.allclose(y, ref, atol=1e-12))
        # Not centered, scale invariant per (sample, channel).
        self.assertTrue(torch.allclose(norm(x * 7), y, atol=1e-6))
        y.sum().backward()
        self.assertTrue(all(p.grad is not None and p.grad.abs().sum() > 0 for p in norm.parameters()))

if __name__ == "__main__":
    unittest.main()
