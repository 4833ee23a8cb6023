import io
import json
import math
import unittest
from unittest import mock

import torch

import threads
import train
from errors import RunError
from events import EventWriter, finite_or_none
from rng import Rng, mix32, permutation, seed_state
import protocol

# The protocol's recipe (protocol.json) with a small batch, so a test epoch takes moments.
RECIPE = {**protocol.RECIPE, "batchSize": 8}
CONFIG = {"num_classes": 10, "epoch": 0, "total_epochs": 1, "step": 0, "steps_per_epoch": 1}


class ScheduleTest(unittest.TestCase):
    def test_cosine_per_step(self):
        self.assertEqual(train.cosine_lr(0.1, 0, 100), 0.1)
        self.assertAlmostEqual(train.cosine_lr(0.1, 50, 100), 0.05)
        self.assertAlmostEqual(train.cosine_lr(0.1, 99, 100), 0.5 * 0.1 * (1 + math.cos(math.pi * 0.99)))
        self.assertEqual(train.cosine_lr(0.1, 0, 1), 0.1)


class DeviceTest(unittest.TestCase):
    def test_cuda_requested_without_cuda_is_a_usage_error(self):
        with mock.patch.object(torch.cuda, "is_available", return_value=False):
            with self.assertRaises(RunError) as ctx:
                train.resolve_device("cuda")
            self.assertEqual(ctx.exception.kind, "usage")
            self.assertEqual(train.resolve_device(None).type, "cpu")
        with self.assertRaises(RunError):
            train.resolve_device("tpu")
        self.assertEqual(train.resolve_device("cpu").type, "cpu")

    def test_threads_from_environment(self):
        before = torch.get_num_threads()
        try:
            self.assertEqual(threads.configure_threads({"REGBENCH_THREADS": "1"}), 1)
            with self.assertRaises(ValueError):
                threads.configure_threads({"REGBENCH_THREADS": "many"})
            env = {"OMP_WAIT_POLICY": "ACTIVE"}
            threads.prefer_passive_waits(env)
            self.assertEqual(env["OMP_WAIT_POLICY"], "ACTIVE")
            env = {}
            threads.prefer_passive_waits(env)
            self.assertEqual(env["OMP_WAIT_POLICY"], "PASSIVE")
        finally:
            torch.set_num_threads(before)


class TrainerTest(unittest.TestCase):
    def make(self) -> train.Trainer:
        return train.Trainer("resnet20", 10, "cifar10", RECIPE, 0, torch.device("cpu"))

    def batch(self):
        g = torch.Generator().manual_seed(1)
        return torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8, generator=g), torch.arange(8)

    def test_sgd_recipe_and_weight_decay_on_norm_parameters(self):
        trainer = self.make()
        group = trainer.optimizer.param_groups[0]
        self.assertEqual((group["momentum"], group["weight_decay"]), (RECIPE["momentum"], RECIPE["weightDecay"]))
        self.assertEqual(len(group["params"]), len(list(trainer.model.parameters())))
        trainer.set_lr(0.03)
        self.assertEqual(group["lr"], 0.03)

    def test_step_reports_finite_stats_and_changes_weights(self):
        trainer = self.make()
        before = trainer.model.layer1[0].bn1.weight.detach().clone()
        stats = trainer.train_step(*self.batch(), CONFIG)
        self.assertTrue(math.isfinite(stats.loss) and stats.loss == stats.ce and stats.term == 0.0)
        self.assertTrue(0 <= stats.correct <= 8)
        self.assertFalse(torch.equal(before, trainer.model.layer1[0].bn1.weight))

    def test_non_finite_loss_is_divergence(self):
        trainer = self.make()
        with torch.no_grad():
            trainer.model.fc.weight.fill_(float("inf"))
        with self.assertRaises(RunError) as ctx:
            trainer.train_step(*self.batch(), CONFIG)
        self.assertEqual(ctx.exception.kind, "diverged")
        self.assertEqual((ctx.exception.epoch, ctx.exception.step), (0, 1))

    def test_evaluate(self):
        trainer = self.make()
        images, labels = self.batch()
        import data
        loss, acc = trainer.evaluate(data.Split(images, labels), 3, 0)
        self.assertTrue(math.isfinite(loss) and 0 <= acc <= 100)
        self.assertTrue(trainer.model.training)


class EventsTest(unittest.TestCase):
    def test_lines_are_json_with_run_id_time_and_no_nan(self):
        out = io.StringIO()
        w = EventWriter("run-1", out)
        w.emit("progress", epoch=0, step=1, steps=2, loss=float("nan"), imagesPerSec=float("inf"))
        w.error(RunError("data", "missing\nfile", file="/x"))
        w.error(RunError("data", "second"))
        w.emit("run-end", status="failed", bestTestAcc=None, finalTestAcc=None, epochsCompleted=0, seconds=1.0)
        w.emit("log", level="info", message="after the end")
        lines = out.getvalue().splitlines()
        self.assertEqual(len(lines), 3)
        events = [json.loads(l) for l in lines]
        self.assertEqual([e["type"] for e in events], ["progress", "error", "run-end"])
        self.assertIsNone(events[0]["loss"])
        self.assertEqual(events[1]["message"], "missing file")
        self.assertTrue(all(e["runId"] == "run-1" and e["time"].endswith("Z") for e in events))
        self.assertEqual(finite_or_none({"a": [1.0, float("-inf")]}), {"a": [1.0, None]})


class RngTest(unittest.TestCase):
    def test_same_stream_as_random_ts(self):
        # Values printed by src/engine/data/random.ts for the same calls.
        self.assertEqual([seed_state(0), seed_state(7), seed_state(-3), seed_state(2**40 + 5)],
                         [2926543089, 869972953, 2018758533, 1124979530])
        r = Rng(42)
        self.assertEqual([r.next_uint32() for _ in range(3)], [1152047831, 2265452970, 2616456050])
        self.assertEqual(permutation(20, 0), [2, 7, 9, 11, 6, 3, 5, 16, 18, 10, 15, 0, 19, 17, 14, 8, 4, 13, 1, 12])
        self.assertEqual(permutation(60000, 0)[:5], [53954, 57864, 57036, 47927, 7293])
        self.assertEqual(mix32(0), 0)


if __name__ == "__main__":
    unittest.main()
