"""Helpers shared by the worker's unit tests: the repository's templates and synthetic run data in
the form the runner prepares it (src/engine/data/tensor-files.ts)."""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
from types import ModuleType
from typing import Any, Dict, List

import torch


_counter = itertools.count()


def repo_root() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    d = here
    while True:
        if os.path.isdir(os.path.join(d, "templates", "regularizers")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            raise RuntimeError(f"no templates/ folder above {here}")
        d = parent


def template_path(kind: str, name: str) -> str:
    return os.path.join(repo_root(), "templates", kind, name)


def load_template(kind: str, name: str) -> ModuleType:
    path = template_path(kind, name)
    spec = importlib.util.spec_from_file_location(f"template_{next(_counter)}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_tensor_file(folder: str, dataset: str, split: str, labels: List[int], seed: int = 0) -> Dict[str, Any]:
    """One split as the TypeScript data layer writes it: `n` uint8 labels, then `n` random uint8
    NHWC [n, 32, 32, 3] images, and the JSON header beside it. Returns the split's `spec.tensors`
    entry ({path, n})."""
    n = len(labels)
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 32, 32, 3), generator=g, dtype=torch.uint8)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{dataset}-{split}-{n}-{seed:016x}.u8")
    with open(path, "wb") as f:
        f.write(bytes(labels))
        f.write(bytes(images.flatten().tolist()))
    header = {"format": "regbench-u8", "version": 1, "dataset": dataset, "split": split, "n": n,
              "layout": f"{n} labels (uint8), then {n} images uint8 NHWC [{n},32,32,3]", "source": "synthetic (tests)"}
    with open(path[:-3] + ".json", "w") as f:
        f.write(json.dumps(header, indent=2) + "\n")
    return {"path": path, "n": n}


def write_run_tensors(folder: str, dataset: str, train_labels: List[int], test_labels: List[int],
                      seed: int = 0) -> Dict[str, Any]:
    """A run's `spec.tensors`: synthetic train and test files in `folder`."""
    return {"train": write_tensor_file(folder, dataset, "train", train_labels, seed=seed),
            "test": write_tensor_file(folder, dataset, "test", test_labels, seed=seed + 1),
            "source": "synthetic (tests)"}
