"""PyTorch side of bench/step.mjs: median ms per training step (forward in training mode,
cross-entropy, backward, SGD momentum 0.9 + weight decay) of one architecture on the CPU with
2 threads, plus peak RSS. Uses the real worker's model builders (src/engine/pytorch/models.py).
Prints one JSON line: {"arch", "batch", "torchMs", "torchMinMs", "peakRssMb", "params"}. Also takes the
models beyond the benchmarks (wrn28-10; 10 classes unless --classes says otherwise).
Run with Debian's torch: /usr/bin/python3 bench/torch_step.py --arch resnet20 --batch 128"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

# The engine's models: beside the sources (bench/), or in a built dist/ (dist/bench/ -> dist/pytorch).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "engine", "pytorch"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pytorch"))
from models import MODEL_IDS, build_model, count_parameters  # noqa: E402
from protocol import PROTOCOL, RECIPE  # noqa: E402

# Classes per architecture, from the benchmark it trains on (src/protocol/protocol.json).
NUM_CLASSES = {b["arch"]: b["numClasses"] for b in PROTOCOL["benchmarks"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True, choices=sorted(MODEL_IDS))
    ap.add_argument("--classes", type=int, default=None)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    classes = a.classes or NUM_CLASSES.get(a.arch, 10)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = build_model(a.arch, classes, seed=0)
    device = torch.device(a.device)
    model.to(device)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=RECIPE["lr"], momentum=RECIPE["momentum"], weight_decay=RECIPE["weightDecay"])
    x = torch.randn(a.batch, 3, 32, 32).to(device)
    y = torch.randint(0, classes, (a.batch,)).to(device)
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
        if i >= a.warmup:
            times.append((time.perf_counter() - t0) * 1000)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"arch": a.arch, "batch": a.batch, "torchMs": round(statistics.median(times), 1), "torchMinMs": round(min(times), 1), "peakRssMb": round(peak_kb / 1024), "params": count_parameters(model)}))


if __name__ == "__main__":
    main()
