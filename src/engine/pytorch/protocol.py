"""The few protocol constants the worker cannot take from the run spec.

src/protocol/benchmarks.ts and src/protocol/events.ts are the source of truth; the run spec
carries the recipe, the budget and the dataset, but not the normalization constants, so they are
restated here. test/pytorch-worker.test.ts compares DATASET_STATS with the TypeScript values."""

from __future__ import annotations

from typing import Dict, Tuple

PROTOCOL_VERSION = 1

ENGINE = "pytorch"

# Per-channel mean/std (RGB), applied after augmentation. Mirrors DATASET_STATS in benchmarks.ts.
DATASET_STATS: Dict[str, Dict[str, Tuple[float, float, float]]] = {
    "cifar10": {"mean": (0.4914, 0.4822, 0.4465), "std": (0.247, 0.2435, 0.2616)},
    "cifar100": {"mean": (0.5071, 0.4865, 0.4409), "std": (0.2673, 0.2564, 0.2762)},
    "fashion-mnist": {"mean": (0.286, 0.286, 0.286), "std": (0.353, 0.353, 0.353)},
}

# The random crop pads every side by this many zero pixels (RandomCrop(32, padding=4)).
CROP_PADDING = 4
IMAGE_SIZE = 32

# Progress events are written every this many training steps (and on an epoch's last step).
PROGRESS_EVERY_STEPS = 10

# The subset of the smaller budgets is cut from the permutation of this seed (subset.ts).
SUBSET_SEED = 0
