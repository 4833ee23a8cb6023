"""Checkpoints: the files (atomic data file, then last.json, only the last kept), refusals of torn
and foreign checkpoints, and in-process resumes that end bit for bit where an uninterrupted run
ends (mid-epoch and at an epoch boundary)."""

import io
import json
import os
import shutil
import signal
import tempfile
import time
import unittest

import torch

import checkpoint
import signals
import train
from errors import Interrupted, RunError
from events import EventWriter
from tests.support import repo_root, write_run_tensors
import protocol

# The protocol's recipe (protocol.json) with a small batch, so a test epoch takes moments.
RECIPE = {**protocol.RECIPE, "batchSize": 8}


class FakeStop:
    """Stands in for signals.StopSignals; Recorder sets `requested` as a signal handler would."""

    def __init__(self) -> None:
        self.requested = None

    def defer(self) -> None:
        pass


class Recorder(EventWriter):
    def __init__(self, stop=None, at=None):
        super().__init__("t", io.StringIO())
        self.events = []
        self.stop, self.at = stop, at

    def emit(self, type_, **fields):
        self.events.append(dict(fields, type=type_))
        # Request a stop during the step after progress event (epoch, step) = self.at.
        if self.stop is not None and type_ == "progress" and (fields["epoch"], fields["step"]) == self.at:
            self.stop.requested = "SIGUSR1"
        super().emit(type_, **fields)

    def of(self, type_):
        return [e for e in self.events if e["type"] == type_]


class CheckpointTestBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="regbench-ckpt-test-")
        # The run's images as the runner prepares them (spec.tensors): the budget's subsets, 24
        # training and 16 test images, already cut.
        cls.tensors = write_run_tensors(os.path.join(cls.tmp, "tensors"), "cifar10", [j % 10 for j in range(24)],
                                        [j % 10 for j in range(16)], seed=1)
        cls.threads_before = torch.get_num_threads()

    @classmethod
    def tearDownClass(cls):
        torch.set_num_threads(cls.threads_before)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def spec(self, run_dir, **extra):
        spec = {"runId": "t", "bench": "resnet20-cifar10", "arch": "resnet20", "dataset": "cifar10", "numClasses": 10,
                "budget": "smoke", "epochs": 2, "trainSubset": 24, "testSubset": 16, "seed": 3, "recipe": RECIPE,
                "engine": "pytorch", "device": "cpu", "tensors": self.tensors,
                "variantPath": os.path.join(repo_root(), "templates", "regularizers", "confidence_penalty.py"),
                "variantHash": "0123456789abcdef", "variantKind": {"regularizer": True, "norm": False},
                "runDir": run_dir, "regbenchVersion": "9.9.9"}
        spec.update(extra)
        return spec

    def run_dir(self, name):
        path = os.path.join(self.tmp, name)
        os.makedirs(path, exist_ok=True)
        return path

    def run_train(self, spec, writer=None, stop=None):
        writer = writer or Recorder()
        state = train.RunState()
        train.run(spec, writer, state, env={"REGBENCH_THREADS": "1"}, stop=stop)
        return writer, state


class ResumeTest(CheckpointTestBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The uninterrupted run every resumed one must match.
        base = cls()
        cls.full_writer, cls.full_state = base.run_train(base.spec(base.run_dir("full")))

    def check_same_as_full(self, writer, state):
        full = self.full_writer
        self.assertEqual(writer.of("checkpoint")[-1]["weightsSha256"], full.of("checkpoint")[-1]["weightsSha256"])
        self.assertEqual((state.best_test_acc, state.final_test_acc, state.epochs_completed),
                         (self.full_state.best_test_acc, self.full_state.final_test_acc, self.full_state.epochs_completed))
        keys = ("trainLoss", "trainCe", "regTerm", "trainAcc", "testLoss", "testAcc", "lr", "bestTestAcc")
        self.assertEqual([[e[k] for k in keys] for e in writer.of("epoch")],
                         [[e[k] for k in keys] for e in full.of("epoch")][-len(writer.of("epoch")):])

    def test_uninterrupted_run_writes_one_checkpoint_per_epoch(self):
        marks = [(e["epoch"], e["step"]) for e in self.full_writer.of("checkpoint")]
        self.assertEqual(marks, [(1, 0), (2, 0)])
        folder = os.path.join(self.tmp, "full", "checkpoint")
        self.assertEqual(sorted(os.listdir(folder)), ["ckpt-e2-s0.pt", "last.json"])
        with open(os.path.join(folder, "last.json")) as f:
            meta = json.load(f)
        self.assertEqual((meta["format"], meta["engine"], meta["regbenchVersion"], meta["epoch"], meta["step"], meta["file"]),
                         (1, "pytorch", "9.9.9", 2, 0, "ckpt-e2-s0.pt"))
        self.assertEqual(meta["bytes"], os.path.getsize(os.path.join(folder, "ckpt-e2-s0.pt")))
        self.assertEqual(meta["weightsSha256"], self.full_writer.of("checkpoint")[-1]["weightsSha256"])
        self.assertEqual((meta["bestTestAcc"], meta["finalTestAcc"]), (self.full_state.best_test_acc, self.full_state.final_test_acc))
        for key in ("engineVersions", "backend", "threads", "bench", "arch", "variantHash", "seed", "epochs", "trainSubset",
                    "testSubset", "budget", "sha256", "time"):
            self.assertIn(key, meta)

    def test_stop_mid_epoch_then_resume_is_bitwise_identical(self):
        run_dir = self.run_dir("mid")
        stop = FakeStop()
        writer = Recorder(stop, at=(1, 1))
        with mock_progress_every(1):
            with self.assertRaises(Interrupted) as ctx:
                self.run_train(self.spec(run_dir), writer, stop)
        self.assertEqual(ctx.exception.reason, "stopped by SIGUSR1 at epoch 2, step 1; checkpoint written")
        self.assertEqual([(e["epoch"], e["step"]) for e in writer.of("checkpoint")], [(1, 0), (1, 1)])
        self.assertEqual(sorted(os.listdir(os.path.join(run_dir, "checkpoint"))), ["ckpt-e1-s1.pt", "last.json"])
        resumed, state = self.run_train(self.spec(run_dir, resume=True))
        self.assertEqual(resumed.of("run-start")[0]["resumedFrom"], {"epoch": 1, "step": 1})
        self.assertEqual([e["epoch"] for e in resumed.of("epoch")], [1])
        self.check_same_as_full(resumed, state)

    def test_stop_at_an_epoch_end_then_resume_is_bitwise_identical(self):
        run_dir = self.run_dir("end")
        stop = FakeStop()
        writer = Recorder(stop, at=(0, 3))
        with self.assertRaises(Interrupted) as ctx:
            self.run_train(self.spec(run_dir), writer, stop)
        self.assertEqual(ctx.exception.reason, "stopped by SIGUSR1 at epoch 2, step 0; checkpoint written")
        self.assertEqual([(e["epoch"], e["step"]) for e in writer.of("checkpoint")], [(1, 0)])
        resumed, state = self.run_train(self.spec(run_dir, resume=True))
        self.assertEqual(resumed.of("run-start")[0]["resumedFrom"], {"epoch": 1, "step": 0})
        self.check_same_as_full(resumed, state)

    def test_resume_without_a_checkpoint_starts_at_epoch_0(self):
        writer, state = self.run_train(self.spec(self.run_dir("fresh"), resume=True))
        self.assertNotIn("resumedFrom", writer.of("run-start")[0])
        self.check_same_as_full(writer, state)

    def test_resume_of_a_finished_run_ends_at_once_with_its_numbers(self):
        run_dir = self.run_dir("again")
        shutil.copytree(os.path.join(self.tmp, "full", "checkpoint"), os.path.join(run_dir, "checkpoint"))
        writer, state = self.run_train(self.spec(run_dir, resume=True))
        self.assertEqual(writer.of("run-start")[0]["resumedFrom"], {"epoch": 2, "step": 0})
        self.assertEqual(writer.of("epoch"), [])
        self.assertEqual((state.best_test_acc, state.final_test_acc, state.epochs_completed),
                         (self.full_state.best_test_acc, self.full_state.final_test_acc, 2))


class mock_progress_every:
    """Progress events after every step, so the test can stop the run at any step."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        self.before = train.PROGRESS_EVERY_STEPS
        train.PROGRESS_EVERY_STEPS = self.n

    def __exit__(self, *exc):
        train.PROGRESS_EVERY_STEPS = self.before


class RefusalTest(CheckpointTestBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        base = cls()
        base.spec_ = base.spec(base.run_dir("source"), epochs=1)
        base.run_train(base.spec_)
        cls.source = os.path.join(cls.tmp, "source", "checkpoint")

    def copy(self, name):
        run_dir = self.run_dir(name)
        shutil.rmtree(os.path.join(run_dir, "checkpoint"), ignore_errors=True)
        shutil.copytree(self.source, os.path.join(run_dir, "checkpoint"))
        return run_dir

    def refused(self, run_dir, **extra):
        with self.assertRaises(RunError) as ctx:
            self.run_train(self.spec(run_dir, epochs=1, resume=True, **extra))
        self.assertEqual(ctx.exception.kind, "usage")
        self.assertNotIn("\n", ctx.exception.message)
        return ctx.exception.message

    def test_a_changed_data_file_is_refused(self):
        run_dir = self.copy("tampered")
        path = os.path.join(run_dir, "checkpoint", "ckpt-e1-s0.pt")
        with open(path, "r+b") as f:
            f.seek(os.path.getsize(path) // 2)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0xFF]))
        message = self.refused(run_dir)
        self.assertIn(f"checkpoint {path} is torn or was changed", message)
        self.assertIn("delete", message)

    def test_a_torn_last_json_is_refused(self):
        run_dir = self.copy("torn")
        meta = os.path.join(run_dir, "checkpoint", "last.json")
        with open(meta, "r+") as f:
            f.truncate(40)
        self.assertIn(f"checkpoint {meta} is torn or unreadable", self.refused(run_dir))

    def test_a_missing_data_file_is_refused(self):
        run_dir = self.copy("missing")
        os.remove(os.path.join(run_dir, "checkpoint", "ckpt-e1-s0.pt"))
        self.assertIn("cannot be read", self.refused(run_dir))

    def test_a_checkpoint_of_another_run_is_refused_saying_what_differs(self):
        run_dir = self.copy("foreign")
        message = self.refused(run_dir, variantHash="fedcba9876543210", seed=4)
        path = os.path.join(run_dir, "checkpoint", "ckpt-e1-s0.pt")
        self.assertIn(f"checkpoint {path} is from another run", message)
        self.assertIn('variantHash is "0123456789abcdef" there but "fedcba9876543210" here', message)
        self.assertIn("seed is 3 there but 4 here", message)
        self.assertIn('regbenchVersion is "9.9.9" there but "10.0.0" here', self.refused(self.copy("version"), regbenchVersion="10.0.0"))

    def test_leftovers_of_a_killed_write_are_ignored(self):
        run_dir = self.copy("leftover")
        folder = os.path.join(run_dir, "checkpoint")
        with open(os.path.join(folder, ".tmp-1-ckpt-e1-s3.pt"), "wb") as f:
            f.write(b"half a file")
        writer, state = self.run_train(self.spec(run_dir, epochs=1, resume=True))
        self.assertEqual(writer.of("run-start")[0]["resumedFrom"], {"epoch": 1, "step": 0})
        self.assertEqual(state.epochs_completed, 1)


class NonFiniteTestLossTest(CheckpointTestBase):
    NORM = (
        "import torch\nfrom torch import nn\n\n\nclass CustomNorm(nn.Module):\n"
        "    def __init__(self, num_features):\n        super().__init__()\n        self.bn = nn.BatchNorm2d(num_features)\n\n"
        "    def forward(self, x):\n        y = self.bn(x)\n        return y if self.training else y * float('nan')\n"
    )

    def test_a_nan_test_loss_ends_the_run_and_writes_no_checkpoint_of_that_epoch(self):
        variant = os.path.join(self.tmp, "nan_in_eval.py")
        with open(variant, "w") as f:
            f.write(self.NORM)
        run_dir = self.run_dir("nan")
        with self.assertRaises(RunError) as ctx:
            self.run_train(self.spec(run_dir, variantPath=variant, variantKind={"regularizer": False, "norm": True}))
        self.assertEqual(ctx.exception.kind, "variant")
        self.assertIn("the test loss is nan after epoch 1", ctx.exception.message)
        self.assertIn("evaluation mode", ctx.exception.message)
        self.assertFalse(os.path.exists(os.path.join(run_dir, "checkpoint", "last.json")))


class SignalsTest(unittest.TestCase):
    def test_stop_at_once_before_training_at_a_step_boundary_during_it_and_at_once_on_a_second_signal(self):
        saved = {sig: signal.getsignal(sig) for sig in signals.STOP_SIGNALS}
        try:
            stop = signals.StopSignals(EventWriter("t", io.StringIO()))
            stop.install()
            with self.assertRaises(Interrupted) as ctx:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(1)
            self.assertEqual(ctx.exception.reason, "stopped by SIGTERM before training began; no checkpoint written")
            stop.defer()
            os.kill(os.getpid(), signal.SIGUSR1)
            time.sleep(0.01)
            self.assertEqual(stop.requested, "SIGUSR1")
            with self.assertRaises(Interrupted) as ctx:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(1)
            self.assertIn("stopped by SIGTERM while the step after SIGUSR1 had not ended", ctx.exception.reason)
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)


class FileTest(unittest.TestCase):
    def test_regbench_version_lookup(self):
        self.assertEqual(checkpoint.regbench_version({"regbenchVersion": "1.2.3"}, {}), "1.2.3")
        self.assertEqual(checkpoint.regbench_version({}, {"REGBENCH_VERSION": "2.0.0"}), "2.0.0")
        with open(os.path.join(repo_root(), "package.json")) as f:
            version = json.load(f)["version"]
        # The source tree (src/engine/pytorch) and the shipped copy (dist/pytorch) find the same file.
        self.assertEqual(checkpoint.regbench_version({}, {}), version)
        self.assertEqual(checkpoint.regbench_version({}, {}, here=os.path.join(repo_root(), "dist", "pytorch", "worker.py")), version)

    def test_weights_hash_covers_buffers(self):
        model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
        before = checkpoint.weights_sha256(model)
        model[1].running_mean.add_(1.0)
        self.assertNotEqual(checkpoint.weights_sha256(model), before)


if __name__ == "__main__":
    unittest.main()


class StatefulVariantResumeTest(CheckpointTestBase):
    """A variant that keeps Python state (forward hooks, installed by its `setup(model)`): the
    resumed run must still match the uninterrupted one bit for bit."""

    def spec(self, run_dir, **extra):
        path = os.path.join(repo_root(), "templates", "regularizers", "dropblock_penalty.py")
        return super().spec(run_dir, variantPath=path, **extra)

    def test_dropblock_penalty_resumes_bitwise_identical(self):
        full_writer, full_state = self.run_train(self.spec(self.run_dir("db-full")))
        self.assertGreater(full_writer.of("epoch")[0]["regTerm"], 0)
        run_dir = self.run_dir("db-mid")
        stop = FakeStop()
        with mock_progress_every(1):
            with self.assertRaises(Interrupted):
                self.run_train(self.spec(run_dir), Recorder(stop, at=(1, 1)), stop)
        resumed, state = self.run_train(self.spec(run_dir, resume=True))
        self.assertEqual(resumed.of("checkpoint")[-1]["weightsSha256"], full_writer.of("checkpoint")[-1]["weightsSha256"])
        self.assertEqual((state.best_test_acc, state.final_test_acc), (full_state.best_test_acc, full_state.final_test_acc))
