"""The run's images as the runner prepared them (src/engine/data/tensor-files.ts): the worker
reads no dataset format itself. `spec.tensors` names one file per split holding `n` uint8 labels,
then `n` uint8 NHWC [n, 32, 32, 3] images, the budget's subset already taken, in subset order; the
TensorFlow.js engine trains on the same images in the same order. The file is mapped with
torch.from_file and turned into the NCHW layout of the model once."""

from __future__ import annotations

import os
from typing import Any, Mapping, Tuple

import torch

from data import Split
from errors import DATA, USAGE, RunError
from protocol import IMAGE_CHANNELS, IMAGE_SIZE

IMAGE_BYTES = IMAGE_SIZE * IMAGE_SIZE * IMAGE_CHANNELS


def load_split(path: str, n: int) -> Split:
    """Reads one tensor file; a missing or wrong-sized file is a `data` error naming it."""
    if not isinstance(n, int) or n < 1:
        raise RunError(USAGE, f"spec.tensors: a split must hold at least one image, got n={n!r}")
    expected = n * (1 + IMAGE_BYTES)
    try:
        size = os.path.getsize(path)
    except OSError as e:
        raise RunError(DATA, f"the prepared data file {path} cannot be read ({e.strerror or e}); start the run "
                             f"again (`regbench run` prepares it)", file=path) from e
    if size != expected:
        raise RunError(DATA, f"the prepared data file {path} has {size} bytes, expected {expected} for {n} images; "
                             f"delete it and start the run again", file=path)
    raw = torch.from_file(path, shared=False, size=expected, dtype=torch.uint8)
    labels = raw[:n].long()
    images = raw[n:].view(n, IMAGE_SIZE, IMAGE_SIZE, IMAGE_CHANNELS).permute(0, 3, 1, 2).contiguous()
    return Split(images, labels)


def load_run_data(spec: Mapping[str, Any], device: torch.device) -> Tuple[Split, Split]:
    """The run's train and test splits on `device`, from `spec.tensors`."""
    tensors = spec.get("tensors")
    if not isinstance(tensors, dict) or not all(isinstance(tensors.get(k), dict) for k in ("train", "test")):
        raise RunError(USAGE, "the run spec lacks tensors.train/tensors.test: the PyTorch worker reads the images the "
                              "runner prepares (src/engine/data/tensor-files.ts); start it with `regbench run`")
    splits = []
    for name in ("train", "test"):
        entry = tensors[name]
        split = load_split(str(entry.get("path")), entry.get("n"))  # type: ignore[arg-type]
        splits.append(Split(split.images.to(device), split.labels.to(device)))
    return splits[0], splits[1]
