"""What a checkpoint costs the PyTorch engine: the time of one checkpoint write against the time of
the epoch it follows. The target is at most 2% of an epoch.

For each architecture: a Trainer (src/engine/pytorch/train.py) on synthetic uint8 CIFAR images
times training steps of batch 128 (median after warm-up steps), then train.Checkpoints.save, the
very code a run calls, writes mid-epoch checkpoints (the heaviest kind: with the epoch's data order
for 50,000 images) into a folder on disk: torch.save to memory, sha256, write + fsync, rename,
last.json (fsync, rename), directory fsync, deletion of the previous file, the `checkpoint` event.
The epoch time counted is training steps only (no evaluation), which makes the ratio an upper
bound. Printed per architecture: step seconds, checkpoint bytes and seconds (median and max), and
the ratio to a full-protocol epoch (391 steps), to a quick-budget epoch (10,000 images, 79
steps) and, for scale, to a smoke epoch (512 images, 4 steps; the smoke budget only proves the
pipeline, the 2% target is for the real budgets).

  /usr/bin/python3 bench/checkpoint_torch.py                          # resnet20 and resnet56
  /usr/bin/python3 bench/checkpoint_torch.py --archs resnet56 --steps 4 --writes 10 --dir /data/runs
"""

from __future__ import annotations

import argparse
import io
import math
import os
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src", "engine", "pytorch"))

from threads import configure_threads, prefer_passive_waits  # noqa: E402

prefer_passive_waits()  # as the worker does, before torch loads OpenMP

import torch  # noqa: E402

import data  # noqa: E402
import train  # noqa: E402
import protocol  # noqa: E402
from events import EventWriter  # noqa: E402

RECIPE = protocol.RECIPE  # src/protocol/protocol.json, as the worker receives it in a run's spec
ARCHS = {"resnet20": (10, "cifar10", "resnet20-cifar10"), "resnet56": (100, "cifar100", "resnet56-cifar100")}
FULL_TRAIN_IMAGES = 50000
QUICK_TRAIN_IMAGES = 10000
SMOKE_TRAIN_IMAGES = 512
WARMUP_STEPS = 2


def measure(arch: str, steps: int, writes: int, folder: str, threads: int) -> dict:
    classes, dataset, bench = ARCHS[arch]
    device = torch.device("cpu")
    batch = RECIPE["batchSize"]
    g = torch.Generator().manual_seed(0)
    n = batch * 4
    split = data.Split(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g),
                       torch.randint(0, classes, (n,), generator=g))
    trainer = train.Trainer(arch, classes, dataset, RECIPE, 0, device)
    full_steps = math.ceil(FULL_TRAIN_IMAGES / batch)
    quick_steps = math.ceil(QUICK_TRAIN_IMAGES / batch)
    smoke_steps = math.ceil(SMOKE_TRAIN_IMAGES / batch)
    step_seconds = []
    for step in range(WARMUP_STEPS + steps):
        idx = torch.arange(step * batch, (step + 1) * batch) % n
        started = time.perf_counter()
        trainer.step_on(split, idx, 0, step, 200, full_steps)
        if step >= WARMUP_STEPS:
            step_seconds.append(time.perf_counter() - started)

    run_dir = tempfile.mkdtemp(prefix=f"ckpt-bench-{arch}-", dir=folder)
    spec = {"runId": "bench", "bench": bench, "arch": arch, "epochs": 200, "seed": 0, "recipe": RECIPE,
            "variantHash": "bench", "trainSubset": None, "testSubset": None, "budget": "full", "runDir": run_dir}
    plan = train.Plan(200, batch, full_steps)
    events = io.StringIO()
    ckpts = train.Checkpoints(spec, trainer, device, threads, plan, EventWriter("bench", events), train.RunState())
    progress = train.EpochProgress(order=torch.randperm(FULL_TRAIN_IMAGES, generator=trainer.generator), step=0,
                                   seen=0)
    write_seconds = []
    size = 0
    try:
        for i in range(writes):
            progress.step = i + 1
            started = time.perf_counter()
            ckpts.save(0, i + 1, progress)
            write_seconds.append(time.perf_counter() - started)
            size = os.path.getsize(os.path.join(run_dir, "checkpoint", f"ckpt-e0-s{i + 1}.pt"))
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    step = statistics.median(step_seconds)
    write = statistics.median(write_seconds)
    return {"arch": arch, "step": step, "bytes": size, "write": write, "writeMax": max(write_seconds),
            "full": write / (step * full_steps), "quick": write / (step * quick_steps), "smoke": write / (step * smoke_steps),
            "fullMax": max(write_seconds) / (step * full_steps), "quickMax": max(write_seconds) / (step * quick_steps)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", default="resnet20,resnet56")
    parser.add_argument("--steps", type=int, default=6, help="timed training steps per architecture")
    parser.add_argument("--writes", type=int, default=10, help="checkpoint writes per architecture")
    parser.add_argument("--dir", default=os.getcwd(), help="folder on the disk the runs live on (default: cwd)")
    args = parser.parse_args()
    threads = configure_threads(os.environ)
    print(f"torch {torch.__version__}, {threads} thread(s), checkpoints in {os.path.abspath(args.dir)}")
    print(f"{'arch':<10} {'s/step':>7} {'ckpt MB':>8} {'write s':>8} {'max s':>7} {'full epoch':>11} {'quick epoch':>12} "
          f"{'smoke epoch':>12}")
    worst = 0.0
    for arch in args.archs.split(","):
        r = measure(arch.strip(), args.steps, args.writes, args.dir, threads)
        worst = max(worst, r["quick"])
        print(f"{r['arch']:<10} {r['step']:7.3f} {r['bytes'] / 2**20:8.2f} {r['write']:8.3f} {r['writeMax']:7.3f} "
              f"{100 * r['full']:10.3f}% {100 * r['quick']:11.3f}% {100 * r['smoke']:11.3f}%   (max write: {100 * r['fullMax']:.3f}% / "
              f"{100 * r['quickMax']:.3f}%)")
    print(f"checkpoint cost per full or quick epoch (median write / training time of the epoch): at most "
          f"{100 * worst:.3f}% ({'within' if worst <= 0.02 else 'OVER'} the 2% target; a smoke epoch is 4 steps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
