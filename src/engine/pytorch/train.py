"""One benchmark run: the recipe of src/protocol/benchmarks.ts (SGD with momentum and coupled
weight decay on every parameter, cosine learning rate stepped per training step over the whole
run, RandomCrop+flip augmentation), with the variant's term added to the cross-entropy and its
CustomNorm in every norm slot. Reports `run-start`, `progress`, `epoch` and `checkpoint` events;
failures are RunErrors for the worker to report. Checkpoints (checkpoint.py) are written after
every epoch and, after SIGTERM/SIGUSR1, at the next step boundary; spec.resume continues from the
last one."""

from __future__ import annotations

import json
import math
import os
import platform
import random
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

import checkpoint
import data
import data_cache
import models
from errors import DIVERGED, USAGE, VARIANT, Interrupted, RunError
from events import EventWriter
from protocol import ENGINE, PROGRESS_EVERY_STEPS
from rng import mix32
from signals import StopSignals
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
            variant.setup(self.model)
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


# --- the run loop --------------------------------------------------------------------------

@dataclass
class EpochProgress:
    """The current epoch so far: its data order, the steps done and their per-example sums. Part
    of a checkpoint, so that a resumed epoch reports the numbers the uninterrupted one would."""
    order: Optional[torch.Tensor] = None
    step: int = 0
    sums: List[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    correct: int = 0
    seen: int = 0
    # Training seconds of this epoch in earlier segments and this one, up to the last step.
    train_seconds: float = 0.0

    def add(self, stats: StepStats, size: int) -> None:
        # Per-example means over the epoch: each step's mean weighted by its batch size.
        self.sums[0] += stats.loss * size
        self.sums[1] += stats.ce * size
        self.sums[2] += stats.term * size
        self.correct += stats.correct
        self.seen += size

    def to_payload(self) -> Dict[str, Any]:
        return {"order": None if self.order is None else self.order.cpu(), "step": self.step, "sums": list(self.sums),
                "correct": self.correct, "seen": self.seen, "trainSeconds": self.train_seconds}

    @staticmethod
    def from_payload(p: Mapping[str, Any], device: torch.device) -> "EpochProgress":
        order = p["order"]
        return EpochProgress(None if order is None else order.to(device), int(p["step"]), [float(x) for x in p["sums"]],
                             int(p["correct"]), int(p["seen"]), float(p["trainSeconds"]))


@dataclass
class Plan:
    epochs: int
    batch: int
    steps_per_epoch: int

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch


class Checkpoints:
    """Writes the run's checkpoints (checkpoint.py) and restores the one a resume continues from."""

    def __init__(self, spec: Mapping[str, Any], trainer: Trainer, device: torch.device, threads: int, plan: Plan,
                 writer: EventWriter, state: RunState) -> None:
        run_dir = spec.get("runDir")
        self.folder = os.path.join(str(run_dir), checkpoint.DIR_NAME) if isinstance(run_dir, str) and run_dir else None
        self.meta = checkpoint.run_meta(spec, device, threads, checkpoint.regbench_version(spec))
        self.recipe = dict(spec["recipe"])
        self.trainer, self.device, self.plan, self.writer, self.state = trainer, device, plan, writer, state
        # (epoch, step) of the checkpoint on disk that this process wrote or resumed from.
        self.last: Optional[Tuple[int, int]] = None

    def save(self, epoch: int, step: int, progress: EpochProgress) -> None:
        if self.folder is None or self.last == (epoch, step):
            return
        t = self.trainer
        payload = {
            "format": checkpoint.FORMAT, "epoch": epoch, "step": step, "globalStep": epoch * self.plan.steps_per_epoch + step,
            "stepsPerEpoch": self.plan.steps_per_epoch, "recipe": self.recipe,
            "model": t.model.state_dict(), "optimizer": t.optimizer.state_dict(), "progress": progress.to_payload(),
            "bestTestAcc": self.state.best_test_acc, "finalTestAcc": self.state.final_test_acc,
            "epochsCompleted": self.state.epochs_completed, "rng": checkpoint.capture_rng(t.generator, self.device),
        }
        meta = dict(self.meta, bestTestAcc=self.state.best_test_acc, finalTestAcc=self.state.final_test_acc)
        written = checkpoint.write(self.folder, payload, meta, t.model)
        self.last = (epoch, step)
        self.writer.emit("checkpoint", epoch=epoch, step=step, bytes=written.bytes, seconds=round(written.seconds, 4),
                         weightsSha256=written.weights_sha256)

    def resume(self) -> Optional[Tuple[int, EpochProgress]]:
        """Restores the last checkpoint, if there is one; refuses a torn or foreign one."""
        if self.folder is None:
            return None
        meta = checkpoint.read_meta(self.folder)
        if meta is None:
            return None
        path = checkpoint.check_meta(self.folder, meta, {k: self.meta[k] for k in checkpoint.MATCHED})
        payload = checkpoint.load_payload(path)
        start_over = f"delete {self.folder} to start the run over from epoch 0"
        if payload.get("recipe") != self.recipe or payload.get("stepsPerEpoch") != self.plan.steps_per_epoch:
            raise RunError(USAGE, f"checkpoint {path} is from another run (its recipe or steps per epoch differ: "
                                  f"{payload.get('recipe')}, {payload.get('stepsPerEpoch')} steps); {start_over}", file=path)
        t = self.trainer
        try:
            t.model.load_state_dict(payload["model"])
            t.optimizer.load_state_dict(payload["optimizer"])
            checkpoint.restore_rng(payload["rng"], t.generator, self.device)
        except (RuntimeError, KeyError, ValueError, TypeError) as e:
            raise RunError(USAGE, f"checkpoint {path} does not fit this model: {' '.join(str(e).split())[:300]}; "
                                  f"{start_over}", file=path) from e
        if checkpoint.weights_sha256(t.model) != meta.get("weightsSha256"):
            raise RunError(USAGE, f"checkpoint {path}: the restored weights do not hash to {checkpoint.META_NAME}'s "
                                  f"weightsSha256; {start_over}", file=path)
        self.state.best_test_acc = payload["bestTestAcc"]
        self.state.final_test_acc = payload["finalTestAcc"]
        self.state.epochs_completed = int(payload["epochsCompleted"])
        for key in ("threads", "backend", "engineVersions"):
            if meta.get(key) != self.meta[key]:
                self.writer.log(f"checkpoint {path} was written with {key} {json.dumps(meta.get(key))}, this segment "
                                f"runs with {json.dumps(self.meta[key])}: the result will not be bit-identical to an "
                                f"uninterrupted run", level="warn")
        self.last = (int(payload["epoch"]), int(payload["step"]))
        return self.last[0], EpochProgress.from_payload(payload["progress"], self.device)


def _check_stop(stop: Optional[StopSignals], ckpts: Checkpoints, epoch: int, step: int, progress: EpochProgress) -> None:
    """At a step boundary: after SIGTERM/SIGUSR1, write a checkpoint here and end the run."""
    if stop is None or stop.requested is None:
        return
    ckpts.save(epoch, step, progress)
    written = "checkpoint written" if ckpts.folder else "no checkpoint written (the spec has no runDir)"
    raise Interrupted(f"stopped by {stop.requested} at epoch {epoch + 1}, step {step}; {written}")


def train_epoch(trainer: Trainer, split: data.Split, epoch: int, plan: Plan, progress: EpochProgress, writer: EventWriter,
                stop: Optional[StopSignals], ckpts: Checkpoints) -> None:
    """The remaining training steps of `epoch`, from progress.step on."""
    if progress.order is None:
        progress.order = torch.randperm(len(split), generator=trainer.generator).to(split.images.device)
    trainer.model.train()
    started = time.perf_counter()
    seconds_before, seen_before = progress.train_seconds, progress.seen
    for step in range(progress.step, plan.steps_per_epoch):
        _check_stop(stop, ckpts, epoch, step, progress)
        idx = progress.order[step * plan.batch:(step + 1) * plan.batch]
        stats = trainer.step_on(split, idx, epoch, step, plan.epochs, plan.steps_per_epoch)
        progress.add(stats, int(idx.shape[0]))
        progress.step = step + 1
        elapsed = time.perf_counter() - started
        progress.train_seconds = seconds_before + elapsed
        if progress.step % PROGRESS_EVERY_STEPS == 0 or progress.step == plan.steps_per_epoch:
            writer.emit("progress", epoch=epoch, step=progress.step, steps=plan.steps_per_epoch,
                        loss=progress.sums[0] / progress.seen,
                        imagesPerSec=(progress.seen - seen_before) / elapsed if elapsed > 0 else 0.0)


def finish_epoch(trainer: Trainer, test_split: data.Split, epoch: int, plan: Plan, progress: EpochProgress,
                 state: RunState, writer: EventWriter) -> None:
    """Evaluates after the epoch's last step and emits its `epoch` event; a non-finite test loss
    ends the run."""
    started = time.perf_counter()
    test_loss, test_acc = trainer.evaluate(test_split, plan.batch, epoch)
    if not math.isfinite(test_loss):
        variant = trainer.variant
        if trainer.has_norm and variant is not None:
            raise RunError(VARIANT, f"{variant.path}: the test loss is {test_loss} after epoch {epoch + 1} while training "
                                    f"was finite; check CustomNorm in evaluation mode (model.eval())",
                           file=variant.path, epoch=epoch)
        raise RunError(DIVERGED, f"the test loss became {test_loss} after epoch {epoch + 1}; the run diverged", epoch=epoch)
    seconds = progress.train_seconds + (time.perf_counter() - started)
    state.best_test_acc = test_acc if state.best_test_acc is None else max(state.best_test_acc, test_acc)
    state.final_test_acc = test_acc
    state.epochs_completed = epoch + 1
    seen = progress.seen
    event: Dict[str, Any] = dict(
        epoch=epoch, totalEpochs=plan.epochs, trainLoss=progress.sums[0] / seen, trainCe=progress.sums[1] / seen,
        regTerm=progress.sums[2] / seen, trainAcc=100.0 * progress.correct / seen, testLoss=test_loss, testAcc=test_acc,
        lr=cosine_lr(trainer.base_lr, epoch * plan.steps_per_epoch, plan.total_steps), seconds=seconds,
        trainImagesPerSec=seen / progress.train_seconds if progress.train_seconds > 0 else 0.0,
        bestTestAcc=state.best_test_acc)
    rss = rss_mb()
    if rss is not None:
        event["rssMb"] = rss
    writer.emit("epoch", **event)


def seed_global_generators(seed: int, numpy_only: bool = False) -> None:
    """Seeds the generators a variant may draw from (Python's `random`, numpy's when imported;
    torch's global one is seeded where the model is built), so that a variant's own randomness
    repeats for a seed and a checkpoint can carry it on."""
    if not numpy_only:
        random.seed(mix32(seed + 2))
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed(mix32(seed + 3))


def run(spec: Mapping[str, Any], writer: EventWriter, state: RunState, env: Optional[Mapping[str, str]] = None,
        stop: Optional[StopSignals] = None) -> None:
    """Runs the whole benchmark, from the last checkpoint when spec.resume asks for it; returns
    normally when every epoch completed, raises Interrupted after SIGTERM/SIGUSR1 (see signals.py)."""
    env = os.environ if env is None else env
    check_spec(spec)
    device = resolve_device(spec.get("device"))
    try:
        threads = configure_threads(env)
    except ValueError as e:
        raise RunError(USAGE, str(e)) from e
    seed_global_generators(int(spec["seed"]))
    variant = load_variant(os.path.abspath(str(spec["variantPath"])))
    seed_global_generators(int(spec["seed"]), numpy_only=True)
    train_split, test_split = prepare_data(spec, device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    trainer = Trainer(spec["arch"], int(spec["numClasses"]), spec["dataset"], spec["recipe"], int(spec["seed"]), device, variant)
    batch = int(spec["recipe"]["batchSize"])
    plan = Plan(int(spec["epochs"]), batch, math.ceil(len(train_split) / batch))
    ckpts = Checkpoints(spec, trainer, device, threads, plan, writer, state)
    start_epoch, progress = 0, EpochProgress()
    resumed = ckpts.resume() if spec.get("resume") else None
    if resumed is not None:
        start_epoch, progress = resumed
    start: Dict[str, Any] = dict(spec=dict(spec), env=run_environment(device, threads), stepsPerEpoch=plan.steps_per_epoch,
                                 trainImages=len(train_split), testImages=len(test_split))
    if resumed is not None:
        start["resumedFrom"] = {"epoch": start_epoch, "step": progress.step}
    writer.emit("run-start", **start)
    writer.log(f"{spec['arch']}: {models.count_parameters(trainer.model)} parameters; variant provides "
               f"{' and '.join(k for k, v in variant.kind.items() if v)}", level="debug")
    if spec.get("resume") and resumed is None:
        writer.log(f"no checkpoint to resume from in {ckpts.folder}: starting at epoch 1", level="info")
    if stop is not None:
        stop.defer()

    for epoch in range(start_epoch, plan.epochs):
        train_epoch(trainer, train_split, epoch, plan, progress, writer, stop, ckpts)
        finish_epoch(trainer, test_split, epoch, plan, progress, state, writer)
        progress = EpochProgress()
        ckpts.save(epoch + 1, 0, progress)
        if epoch + 1 < plan.epochs:
            _check_stop(stop, ckpts, epoch + 1, 0, progress)
