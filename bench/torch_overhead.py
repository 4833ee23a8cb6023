"""Per-step overhead of the PyTorch worker's training step over a bare PyTorch loop.

Both sides train the same architecture (same seed, same recipe) on the same 128-image batches in
the same process, interleaved step by step so that a busy machine slows both alike:
  worker: Trainer.step_on (src/engine/pytorch/train.py), exactly what a run does per step:
          learning-rate update, batch gather from the uint8 split, RandomCrop+flip and
          normalization on the whole batch, forward, loss, backward, one sync for the step's
          statistics, finiteness checks, SGD step.
  bare:   forward, cross-entropy, backward, SGD step on batches augmented and normalized
          beforehand (outside the timing), the least a training loop can do.
The two sides alternate which goes first. Prints seconds per step (median over the timed steps),
images/s, and the overhead as the median over steps of worker/bare, in wall time and in process
CPU time (the latter is steadier on a shared machine), and, timed alone, the batch gather and
augmentation that the worker does and the bare loop does not. The target is an overhead of at
most 5%. On a busy machine the paired figures scatter by about +-5% (an A/A run, bare against
bare, shows the floor); the gather+augment share is the precise part.

  /usr/bin/python3 bench/torch_overhead.py                      # all five architectures
  /usr/bin/python3 bench/torch_overhead.py --archs resnet20 --steps 20
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src", "engine", "pytorch"))

from threads import configure_threads, prefer_passive_waits  # noqa: E402

prefer_passive_waits()  # as the worker does, before torch loads OpenMP

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import data  # noqa: E402
import models  # noqa: E402
import protocol  # noqa: E402
from train import Trainer  # noqa: E402

RECIPE = protocol.RECIPE  # src/protocol/protocol.json, as the worker receives it in a run's spec
# Architecture -> (classes, dataset, default timed steps); the big ones are slow on a CPU.
ARCHS = {
    "resnet20": (10, "cifar10", 12),
    "resnet56": (100, "cifar100", 6),
    "resnet110": (100, "cifar100", 4),
    "vgg16bn": (100, "cifar100", 4),
    "mobilenetv2": (10, "fashion-mnist", 6),
}
WARMUP_STEPS = 2


def measure(arch: str, steps: int, batch: int, device: torch.device) -> dict:
    classes, dataset, _ = ARCHS[arch]
    total = WARMUP_STEPS + steps
    g = torch.Generator().manual_seed(0)
    split = data.Split(torch.randint(0, 256, (total * batch, 3, 32, 32), dtype=torch.uint8, generator=g).to(device),
                       torch.randint(0, classes, (total * batch,), generator=g).to(device))
    trainer = Trainer(arch, classes, dataset, RECIPE, 0, device)
    bare_model = models.build_model(arch, classes, models.batchnorm_factory(), seed=0).to(device).train()
    bare_opt = torch.optim.SGD(bare_model.parameters(), lr=RECIPE["lr"], momentum=RECIPE["momentum"],
                               weight_decay=RECIPE["weightDecay"])
    prepared = data.BatchTransform(dataset, device, torch.Generator().manual_seed(1))
    bare_batches = [(prepared.train_batch(split.images[i * batch:(i + 1) * batch]), split.labels[i * batch:(i + 1) * batch])
                    for i in range(total)]

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def worker_step(i: int) -> None:
        idx = torch.arange(i * batch, (i + 1) * batch, device=device)
        trainer.step_on(split, idx, 0, i, 1, total)

    def bare_step(i: int) -> None:
        x, y = bare_batches[i]
        bare_opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(bare_model(x), y)
        loss.backward()
        bare_opt.step()

    def timed(fn, i: int):
        sync()
        wall, cpu = time.perf_counter(), time.process_time()
        fn(i)
        sync()
        return time.perf_counter() - wall, time.process_time() - cpu

    worker_wall, bare_wall, worker_cpu, bare_cpu = [], [], [], []
    for i in range(total):
        # Alternate which side goes first so that neither always runs with warm caches.
        if i % 2 == 0:
            w, b = timed(worker_step, i), timed(bare_step, i)
        else:
            b, w = timed(bare_step, i), timed(worker_step, i)
        if i >= WARMUP_STEPS:
            worker_wall.append(w[0])
            bare_wall.append(b[0])
            worker_cpu.append(w[1])
            bare_cpu.append(b[1])
    worker, bare = statistics.median(worker_wall), statistics.median(bare_wall)
    # The worker's own per-step work that the bare loop lacks, timed alone: gather + augmentation.
    augment = []
    for i in range(total):
        idx = torch.arange(i * batch, (i + 1) * batch, device=device)
        sync()
        t0 = time.perf_counter()
        trainer.transform.train_batch(split.images[idx])
        sync()
        augment.append(time.perf_counter() - t0)

    def overhead(ws, bs):
        # Median of per-pair ratios: a pair shares the machine's load of its moment.
        return 100.0 * (statistics.median(w / b for w, b in zip(ws, bs)) - 1.0)

    return {
        "arch": arch, "steps": steps, "batch": batch,
        "workerSecondsPerStep": worker, "bareSecondsPerStep": bare,
        "workerImagesPerSec": batch / worker, "bareImagesPerSec": batch / bare,
        "overheadPercent": overhead(worker_wall, bare_wall),
        # CPU time of the process (all threads): the work done, whatever else the machine runs.
        "cpuOverheadPercent": overhead(worker_cpu, bare_cpu),
        "augmentSecondsPerStep": statistics.median(augment),
        "augmentPercentOfBare": 100.0 * statistics.median(augment) / bare,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", nargs="+", default=list(ARCHS), choices=list(ARCHS))
    parser.add_argument("--steps", type=int, default=0, help="timed steps per architecture (default: per-architecture)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true", help="print one JSON object per architecture")
    args = parser.parse_args()
    device = torch.device(args.device)
    threads = configure_threads(os.environ)
    if not args.json:
        print(f"torch {torch.__version__}, {device}, {threads} threads, batch {args.batch}, {WARMUP_STEPS} warm-up steps")
    results = []
    for arch in args.archs:
        r = measure(arch, args.steps or ARCHS[arch][2], args.batch, device)
        results.append(r)
        if args.json:
            print(json.dumps(r), flush=True)
        else:
            print(f"{arch:12s} worker {r['workerSecondsPerStep']:.3f} s/step ({r['workerImagesPerSec']:6.1f} img/s)   "
                  f"bare {r['bareSecondsPerStep']:.3f} s/step ({r['bareImagesPerSec']:6.1f} img/s)   "
                  f"overhead wall {r['overheadPercent']:+5.1f}%, cpu {r['cpuOverheadPercent']:+5.1f}%   "
                  f"(gather+augment {1000 * r['augmentSecondsPerStep']:.1f} ms = {r['augmentPercentOfBare']:.2f}% of a bare step)  "
                  f"[{r['steps']} steps]", flush=True)
    if not args.json:
        wall = max(r["overheadPercent"] for r in results)
        cpu = max(r["cpuOverheadPercent"] for r in results)
        share = max(r["augmentPercentOfBare"] for r in results)
        print(f"worst: wall {wall:+.1f}%, cpu {cpu:+.1f}%, gather+augment {share:.2f}% of a bare step "
              f"(target <= 5%: {'ok' if cpu <= 5.0 else 'ABOVE TARGET'} by cpu time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
