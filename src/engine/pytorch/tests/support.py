"""Helpers shared by the worker's unit tests: the repository's templates and synthetic datasets."""

from __future__ import annotations

import gzip
import importlib.util
import itertools
import os
import struct
from types import ModuleType
from typing import List

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


def cifar_records(labels: List[int], label_bytes: int = 1, seed: int = 0) -> bytes:
    """CIFAR binary records with random pixels; CIFAR-100 records get coarse label 0."""
    g = torch.Generator().manual_seed(seed)
    out = bytearray()
    for label in labels:
        out += bytes([0] * (label_bytes - 1) + [label])
        out += bytes(torch.randint(0, 256, (3072,), generator=g, dtype=torch.uint8).tolist())
    return bytes(out)


def write_idx(path: str, data: torch.Tensor) -> None:
    header = struct.pack(">BBBB", 0, 0, 0x08, data.dim()) + b"".join(struct.pack(">I", d) for d in data.shape)
    payload = header + bytes(data.to(torch.uint8).flatten().tolist())
    if path.endswith(".gz"):
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        with open(path, "wb") as f:
            f.write(payload)
