import os
import tempfile
import textwrap
import unittest

import torch

from errors import RunError
from train import Trainer
from variant import load_variant
import protocol

# The protocol's recipe (protocol.json) with a small batch, so a test epoch takes moments.
RECIPE = {**protocol.RECIPE, "batchSize": 8}


class VariantTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name: str, source: str) -> str:
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(textwrap.dedent(source))
        return path

    def trainer(self, path: str, arch: str = "resnet20") -> Trainer:
        return Trainer(arch, 10, "cifar10", RECIPE, 0, torch.device("cpu"), load_variant(path))

    def step(self, trainer: Trainer, epoch: int = 0, step: int = 0):
        images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
        labels = torch.arange(8) % 10
        config = {"num_classes": 10, "epoch": epoch, "total_epochs": 2, "step": step, "steps_per_epoch": 4}
        return trainer.train_step(images, labels, config)

    def assert_variant_error(self, ctx, path, line=None, text=None):
        err = ctx.exception
        self.assertEqual(err.kind, "variant")
        self.assertEqual(err.file, path)
        self.assertEqual(err.line, line)
        self.assertTrue(err.message.startswith(path + (f":{line}" if line else "")), err.message)
        if text:
            self.assertIn(text, err.message)
        self.assertNotIn("\n", err.message)

    def test_syntax_error_names_the_line(self):
        path = self.write("bad.py", "x = 1\ndef compute_regularization(model, inputs, outputs, targets, config)\n    return 0\n")
        with self.assertRaises(RunError) as ctx:
            load_variant(path)
        self.assert_variant_error(ctx, path, 2, "SyntaxError")

    def test_import_time_exception(self):
        path = self.write("boom.py", "import torch\n\nraise ValueError('no config')\n")
        with self.assertRaises(RunError) as ctx:
            load_variant(path)
        self.assert_variant_error(ctx, path, 3, "ValueError: no config")
        self.assertIn("Traceback", ctx.exception.detail)

    def test_file_without_entry_points(self):
        path = self.write("empty.py", "import torch\n")
        with self.assertRaises(RunError) as ctx:
            load_variant(path)
        self.assertIn("compute_regularization", ctx.exception.message)
        self.assertIn("CustomNorm", ctx.exception.message)

    def test_two_files_with_the_same_name_load_separately(self):
        a = self.write("v.py", "def compute_regularization(*a):\n    return 1.0\n")
        os.makedirs(os.path.join(self.tmp.name, "other"))
        b = self.write(os.path.join("other", "v.py"), "def compute_regularization(*a):\n    return 2.0\n")
        va, vb = load_variant(a), load_variant(b)
        self.assertIsNot(va.module, vb.module)
        self.assertEqual(va.regularizer(), 1.0)
        self.assertEqual(vb.regularizer(), 2.0)

    def test_exception_in_the_regularizer_names_the_innermost_variant_line(self):
        path = self.write("raise.py", """\
            def helper(t):
                return t[99]

            def compute_regularization(model, inputs, outputs, targets, config):
                return helper(outputs)
            """)
        with self.assertRaises(RunError) as ctx:
            self.step(self.trainer(path), epoch=1, step=2)
        self.assert_variant_error(ctx, path, 2, "IndexError")
        self.assertEqual((ctx.exception.epoch, ctx.exception.step), (1, 3))

    def test_non_scalar_term(self):
        path = self.write("vec.py", "def compute_regularization(model, inputs, outputs, targets, config):\n    return outputs.mean(1)\n")
        with self.assertRaises(RunError) as ctx:
            self.step(self.trainer(path))
        self.assert_variant_error(ctx, path, 1, "shape [8]")

    def test_none_term(self):
        path = self.write("none.py", "def compute_regularization(model, inputs, outputs, targets, config):\n    pass\n")
        with self.assertRaises(RunError) as ctx:
            self.step(self.trainer(path))
        self.assert_variant_error(ctx, path, 1, "returned NoneType")

    def test_nan_term_stops_before_the_weights_change(self):
        path = self.write("nan.py", "def compute_regularization(model, inputs, outputs, targets, config):\n    return outputs.sum() * float('inf')\n")
        trainer = self.trainer(path)
        before = trainer.model.fc.weight.detach().clone()
        with self.assertRaises(RunError) as ctx:
            self.step(trainer)
        self.assert_variant_error(ctx, path, 1, "returned")
        self.assertTrue(torch.equal(before, trainer.model.fc.weight))

    def test_python_number_and_shape_one_terms_are_accepted(self):
        for body in ("return 0.5", "return outputs.sum().reshape(1) * 0"):
            path = self.write("ok.py", f"def compute_regularization(model, inputs, outputs, targets, config):\n    {body}\n")
            stats = self.step(self.trainer(path))
            self.assertTrue(stats.term in (0.5, 0.0))

    def test_forward_hooks_registered_by_the_regularizer_work(self):
        path = self.write("hooks.py", """\
            import torch
            seen = []
            def compute_regularization(model, inputs, outputs, targets, config):
                if not hasattr(model, "_captured"):
                    model._captured = {}
                    model.layer3.register_forward_hook(lambda m, i, o: model._captured.__setitem__("l3", o))
                    return outputs.new_zeros(())
                seen.append(tuple(model._captured["l3"].shape))
                return model._captured["l3"].pow(2).mean()
            """)
        trainer = self.trainer(path)
        self.assertEqual(self.step(trainer, step=0).term, 0.0)
        stats = self.step(trainer, step=1)
        self.assertGreater(stats.term, 0.0)
        self.assertEqual(trainer.variant.module.seen, [(8, 64, 8, 8)])

    def test_custom_norm_that_changes_the_shape_names_the_slot(self):
        path = self.write("norm.py", """\
            from torch import nn

            class CustomNorm(nn.Module):
                def __init__(self, num_features):
                    super().__init__()

                def forward(self, x):
                    return x[:, :1]
            """)
        with self.assertRaises(RunError) as ctx:
            self.step(self.trainer(path))
        self.assert_variant_error(ctx, path, 7, "CustomNorm at bn1 returned shape [8, 1, 32, 32]")

    def test_custom_norm_shape_check_names_nested_slots(self):
        path = self.write("norm2.py", """\
            from torch import nn

            class CustomNorm(nn.Module):
                def __init__(self, num_features):
                    super().__init__()
                    self.c = num_features

                def forward(self, x):
                    return x if self.c != 24 else x[:, :, :1]
            """)
        with self.assertRaises(RunError) as ctx:
            self.step(self.trainer(path, "mobilenetv2"))
        self.assertIn("CustomNorm at features.2.conv.3 ", ctx.exception.message)

    def test_custom_norm_that_is_not_a_module(self):
        path = self.write("plain.py", "class CustomNorm:\n    def __init__(self, n):\n        self.n = n\n")
        with self.assertRaises(RunError) as ctx:
            self.trainer(path)
        self.assert_variant_error(ctx, path, 2, "not a torch.nn.Module")

    def test_custom_norm_constructor_error(self):
        path = self.write("ctor.py", "from torch import nn\nclass CustomNorm(nn.Module):\n    def __init__(self, n):\n        super().__init__()\n        raise RuntimeError(f'bad {n}')\n")
        with self.assertRaises(RunError) as ctx:
            self.trainer(path)
        self.assert_variant_error(ctx, path, 5, "RuntimeError: bad 16")

    def test_custom_norm_replaces_every_batchnorm_in_the_trainer(self):
        path = self.write("count.py", """\
            import torch
            from torch import nn
            made = []
            class CustomNorm(nn.Module):
                def __init__(self, num_features):
                    super().__init__()
                    made.append(num_features)
                    self.weight = nn.Parameter(torch.ones(num_features))
                def forward(self, x):
                    return x * self.weight.view(1, -1, 1, 1)
            """)
        trainer = self.trainer(path, "resnet56")
        self.assertEqual(len(trainer.variant.module.made), 57)
        self.assertFalse(any(isinstance(m, torch.nn.BatchNorm2d) for m in trainer.model.modules()))
        self.step(trainer)  # trains with it
        self.assertEqual(len(trainer.variant._shape_hooks), 57)
        import data
        trainer.evaluate(data.Split(torch.zeros(4, 3, 32, 32, dtype=torch.uint8), torch.zeros(4, dtype=torch.long)), 4, 0)
        self.assertEqual(trainer.variant._shape_hooks, [])  # both modes checked: the hooks are gone

    def test_custom_norm_that_breaks_only_in_eval_mode(self):
        path = self.write("evalnorm.py", """\
            import torch
            from torch import nn

            class CustomNorm(nn.Module):
                def __init__(self, num_features):
                    super().__init__()

                def forward(self, x):
                    return x if self.training else x.double()
            """)
        trainer = self.trainer(path)
        self.step(trainer)
        import data
        with self.assertRaises(RunError) as ctx:
            trainer.evaluate(data.Split(torch.zeros(4, 3, 32, 32, dtype=torch.uint8), torch.zeros(4, dtype=torch.long)), 4, 2)
        self.assert_variant_error(ctx, path, 8, "CustomNorm at bn1 returned torch.float64 for a torch.float32 input")
        self.assertEqual(ctx.exception.epoch, 2)


if __name__ == "__main__":
    unittest.main()
