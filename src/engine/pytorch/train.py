"""One benchmark run: the recipe of src/protocol/benchmarks.ts (SGD with momentum and coupled
weight decay on every parameter, cosine learning rate stepped per training step over the whole
run, RandomCrop+flip augmentation), with the variant's term added to the cross-entropy and its
CustomNorm in every norm slot. Reports `run-start`, `progress` and `epoch` events; failures are
RunErrors for the worker to report."""

from __future__ import annotations

import math
import os
import platform
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

import data
import data_cache
import models
from errors import DIVERGED, USAGE, VARIANT, RunError
from events import EventWriter
from protocol import ENGINE, PROGRESS_EVERY_STEPS
from rng import mix32
from threads import configure_threads
from variant import Variant, error_from_exception, load_variant


@dataclass
class RunState:
    """What the run has achieved so far; the worker reads it for run-end, also after a failure."""
    best_test_acc: Optional[float] = None
    final_test_acc: Optional[float] = None
    epochs_completed: int = 0


@dataclass
class StepStats:
    loss: float
    ce: float
    term: float
    correct: int


def cosine_lr(base_lr: float, step: int, total_steps: int) -> float:
    """cosineLr of benchmarks.ts: from base_lr at step 0 towards 0 at total_steps."""
    if total_steps <= 1:
        return base_lr
    return 0.5 * base_lr * (1.0 + math.cos(math.pi * step / total_steps))


# --- environment ---------------------------------------------------------------------------

def resolve_device(requested: Optional[str]) -> torch.device:
    if requested in (None, ""):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(str(requested))
    except (RuntimeError, ValueError) as e:
        raise RunError(USAGE, f"unknown device '{requested}' (expected cpu or cuda)") from e
    if device.type == "cuda":
        if not torch.cuda.is_available():
            why = "this torch has no CUDA support" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise RunError(USAGE, f"device '{requested}' was requested but CUDA is not available ({why}, torch "
                                  f"{torch.__version__}); run with --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise RunError(USAGE, f"device '{requested}' does not exist: {torch.cuda.device_count()} CUDA device(s)")
    elif device.type != "cpu":
        raise RunError(USAGE, f"device '{requested}' is not supported (expected cpu or cuda)")
    return device


def run_environment(device: torch.device, threads: int) -> Dict[str, Any]:
    versions = {"python": platform.python_version(), "torch": str(torch.__version__).split("+")[0]}
    if device.type == "cuda":
        versions["cuda"] = str(torch.version.cuda)
        versions["gpu"] = torch.cuda.get_device_name(device)
    return {
        "engine": ENGINE,
        "backend": f"torch-{device.type}",
        "versions": versions,
        "platform": sys.platform,
        "cpus": os.cpu_count() or 1,
        "hostname": socket.gethostname(),
        "threads": threads,
    }


def rss_mb() -> Optional[float]:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except (OSError, ValueError, IndexError, AttributeError):
        return None


# --- the spec ------------------------------------------------------------------------------

_REQUIRED = ("runId", "arch", "dataset", "numClasses", "epochs", "seed", "recipe", "variantPath")
_RECIPE_REQUIRED = ("lr", "momentum", "weightDecay", "batchSize", "bnMomentum", "bnEpsilon")


def check_spec(spec: Mapping[str, Any]) -> None:
    missing = [k for k in _REQUIRED if k not in spec]
    recipe = spec.get("recipe")
    if isinstance(recipe, dict):
        missing += [f"recipe.{k}" for k in _RECIPE_REQUIRED if k not in recipe]
    elif "recipe" in spec:
        missing.append("recipe (an object)")
    if missing:
        raise RunError(USAGE, f"the run spec lacks {', '.join(missing)}")
    if spec["arch"] not in models.ARCHITECTURES:
        raise RunError(USAGE, f"unknown architecture '{spec['arch']}'")
    for name in ("epochs", "numClasses"):
        if not isinstance(spec[name], int) or spec[name] < 1:
            raise RunError(USAGE, f"spec.{name} must be a positive integer, got {spec[name]!r}")
    if not isinstance(spec["seed"], int):
        raise RunError(USAGE, f"spec.seed must be an integer, got {spec['seed']!r}")
    if not isinstance(spec["recipe"]["batchSize"], int) or spec["recipe"]["batchSize"] < 1:
        raise RunError(USAGE, f"recipe.batchSize must be a positive integer, got {spec['recipe']['batchSize']!r}")


# --- training ------------------------------------------------------------------------------

class Trainer:
    """The model, optimizer and augmentation of one run, and its training step. Shared by the
    worker and bench/torch_overhead.py, so the bench times exactly the worker's step."""

    def __init__(self, arch: str, num_classes: int, dataset: str, recipe: Mapping[str, Any], seed: int,
                 device: torch.device, variant: Optional[Variant] = None) -> None:
        self.device = device
        self.variant = variant
        norm_factory = variant.norm_factory() if variant is not None else None
        if norm_factory is None:
            norm_factory = models.batchnorm_factory(float(recipe["bnMomentum"]), float(recipe["bnEpsilon"]))
        self.model: nn.Module = models.build_model(arch, num_classes, norm_factory, seed=seed).to(device)
        if variant is not None:
            variant.install_shape_checks(self.model)
        self.has_norm = variant is not None and variant.norm_class is not None
        self.has_regularizer = variant is not None and variant.regularizer is not None
        self.base_lr = float(recipe["lr"])
        # Coupled L2 on every parameter, norm affine parameters included (torch.optim.SGD adds
        # weight_decay * w to the gradient before momentum).
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=self.base_lr, momentum=float(recipe["momentum"]),
                                         weight_decay=float(recipe["weightDecay"]))
        generator = torch.Generator()
        generator.manual_seed(mix32(seed + 1))
        self.generator = generator
        self.transform = data.BatchTransform(dataset, device, generator)
        self.num_classes = num_classes
        self._zero = torch.zeros((), device=device)

    def set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def _variant_failure(self, exc: Exception, context: str, epoch: int, step: int) -> RunError:
        if isinstance(exc, RunError):
            exc.epoch, exc.step = epoch, step
            return exc
        if self.variant is None:
            raise exc
        return error_from_exception(exc, self.variant.path, f"{context}, epoch {epoch + 1} step {step}", epoch, step)

    def train_step(self, images: torch.Tensor, labels: torch.Tensor, config: Dict[str, Any]) -> StepStats:
        """One SGD step on a uint8 batch. Raises RunError when the variant fails, its term is not
        finite, or the loss is not finite (before the weights change)."""
        epoch, step = config["epoch"], config["step"] + 1
        x = self.transform.train_batch(images)
        try:
            outputs = self.model(x)
            ce = F.cross_entropy(outputs, labels)
        except Exception as exc:
            raise self._variant_failure(exc, "in the forward pass", epoch, step) from exc
        term = self._zero
        if self.has_regularizer:
            assert self.variant is not None
            try:
                term = self.variant.regularization(self.model, x, outputs, labels, config)
            except Exception as exc:
                raise self._variant_failure(exc, "in compute_regularization", epoch, step) from exc
        loss = ce + term
        self.optimizer.zero_grad(set_to_none=True)
        try:
            loss.backward()
        except Exception as exc:
            raise self._variant_failure(exc, "in the backward pass", epoch, step) from exc
        correct = (outputs.detach().argmax(1) == labels).sum()
        # One device sync per step for all four numbers.
        values = torch.stack([loss.detach(), ce.detach(), term.detach().to(loss.dtype), correct.to(loss.dtype)]).tolist()
        stats = StepStats(values[0], values[1], values[2], int(values[3]))
        if self.has_regularizer and not math.isfinite(stats.term):
            assert self.variant is not None
            raise self.variant.non_finite_term_error(stats.term, epoch, step)
        if not math.isfinite(stats.loss):
            raise RunError(DIVERGED, f"the training loss became {stats.loss} at epoch {epoch + 1} step {step} "
                                     f"(cross-entropy {stats.ce}); the run diverged", epoch=epoch, step=step)
        self.optimizer.step()
        return stats

    def step_on(self, split: data.Split, idx: torch.Tensor, epoch: int, step: int, epochs: int,
                steps_per_epoch: int) -> StepStats:
        """Step `step` (0-based) of epoch `epoch` on the images `idx` of `split`, at the cosine
        learning rate of that global step: everything the run loop does per step."""
        self.set_lr(cosine_lr(self.base_lr, epoch * steps_per_epoch + step, epochs * steps_per_epoch))
        config = {"num_classes": self.num_classes, "epoch": epoch, "total_epochs": epochs,
                  "step": step, "steps_per_epoch": steps_per_epoch}
        return self.train_step(split.images[idx], split.labels[idx], config)

    def evaluate(self, split: data.Split, batch_size: int, epoch: int) -> Tuple[float, float]:
        """Mean cross-entropy and accuracy (%) on a split, in eval mode without gradients."""
        self.model.eval()
        loss_sum = torch.zeros((), device=self.device, dtype=torch.float64)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        n = len(split)
        try:
            with torch.no_grad():
                for start in range(0, n, batch_size):
                    images = split.images[start:start + batch_size]
                    labels = split.labels[start:start + batch_size]
                    outputs = self.model(self.transform.eval_batch(images))
                    loss_sum += F.cross_entropy(outputs.float(), labels, reduction="sum").double()
                    correct += (outputs.argmax(1) == labels).sum()
        except RunError as exc:
            exc.epoch = epoch
            raise
        except Exception as exc:
            if self.variant is None:
                raise
            raise error_from_exception(exc, self.variant.path, f"in evaluation after epoch {epoch + 1}", epoch) from exc
        finally:
            self.model.train()
        if self.variant is not None:
            # Every CustomNorm has now run in training and in evaluation mode: checked enough.
            self.variant.remove_shape_checks()
        return float(loss_sum) / max(n, 1), 100.0 * int(correct) / max(n, 1)


def prepare_data(spec: Mapping[str, Any], device: torch.device) -> Tuple[data.Split, data.Split]:
    """The run's images, as the runner prepared them (the budget's subsets already taken)."""
    return data_cache.load_run_data(spec, device)


def run(spec: Mapping[str, Any], writer: EventWriter, state: RunState, env: Optional[Mapping[str, str]] = None) -> None:
    """Runs the whole benchmark; returns normally when every epoch completed."""
    env = os.environ if env is None else env
    check_spec(spec)
    device = resolve_device(spec.get("device"))
    try:
        threads = configure_threads(env)
    except ValueError as e:
        raise RunError(USAGE, str(e)) from e
    variant = load_variant(os.path.abspath(str(spec["variantPath"])))
    train_split, test_split = prepare_data(spec, device)
    recipe = spec["recipe"]
    batch = int(recipe["batchSize"])
    epochs = int(spec["epochs"])
    seed = int(spec["seed"])
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    trainer = Trainer(spec["arch"], int(spec["numClasses"]), spec["dataset"], recipe, seed, device, variant)

    n_train = len(train_split)
    steps_per_epoch = math.ceil(n_train / batch)
    total_steps = epochs * steps_per_epoch
    writer.emit("run-start", spec=dict(spec), env=run_environment(device, threads), stepsPerEpoch=steps_per_epoch,
                trainImages=n_train, testImages=len(test_split))
    writer.log(f"{spec['arch']}: {models.count_parameters(trainer.model)} parameters; variant provides "
               f"{' and '.join(k for k, v in variant.kind.items() if v)}", level="debug")

    for epoch in range(epochs):
        started = time.perf_counter()
        trainer.model.train()
        order = torch.randperm(n_train, generator=trainer.generator).to(device)
        sums = [0.0, 0.0, 0.0]
        correct = 0
        seen = 0
        epoch_lr = cosine_lr(trainer.base_lr, epoch * steps_per_epoch, total_steps)
        for step in range(steps_per_epoch):
            idx = order[step * batch:(step + 1) * batch]
            stats = trainer.step_on(train_split, idx, epoch, step, epochs, steps_per_epoch)
            size = int(idx.shape[0])
            # Per-example means over the epoch: each step's mean weighted by its batch size.
            sums[0] += stats.loss * size
            sums[1] += stats.ce * size
            sums[2] += stats.term * size
            correct += stats.correct
            seen += size
            done = step + 1
            if done % PROGRESS_EVERY_STEPS == 0 or done == steps_per_epoch:
                elapsed = time.perf_counter() - started
                writer.emit("progress", epoch=epoch, step=done, steps=steps_per_epoch, loss=sums[0] / seen,
                            imagesPerSec=seen / elapsed if elapsed > 0 else 0.0)
        train_seconds = time.perf_counter() - started
        test_loss, test_acc = trainer.evaluate(test_split, batch, epoch)
        if not math.isfinite(test_loss):
            if trainer.has_norm:
                assert variant is not None
                raise RunError(VARIANT, f"{variant.path}: the test loss is {test_loss} after epoch {epoch + 1} while training "
                                        f"was finite; check CustomNorm in evaluation mode (model.eval())",
                               file=variant.path, epoch=epoch)
            raise RunError(DIVERGED, f"the test loss became {test_loss} after epoch {epoch + 1}; the run diverged", epoch=epoch)
        seconds = time.perf_counter() - started
        state.best_test_acc = test_acc if state.best_test_acc is None else max(state.best_test_acc, test_acc)
        state.final_test_acc = test_acc
        state.epochs_completed = epoch + 1
        event: Dict[str, Any] = dict(
            epoch=epoch, totalEpochs=epochs, trainLoss=sums[0] / seen, trainCe=sums[1] / seen, regTerm=sums[2] / seen,
            trainAcc=100.0 * correct / seen, testLoss=test_loss, testAcc=test_acc, lr=epoch_lr, seconds=seconds,
            trainImagesPerSec=seen / train_seconds if train_seconds > 0 else 0.0, bestTestAcc=state.best_test_acc)
        rss = rss_mb()
        if rss is not None:
            event["rssMb"] = rss
        writer.emit("epoch", **event)
