"""CPU threading of the worker. Importable before torch: the OpenMP wait policy must be in the
environment before torch loads its OpenMP runtime.

Why PASSIVE: with libgomp's default (spinning) waits, two PyTorch threads on a 2-core machine that
also runs an editor, a second run or a test suite slow down by 5x or more, because each parallel
region waits for a thread that is not scheduled. Measured on the reference machine (2 cores,
load ~8, resnet20 batch 128): 8.0 s per step with spinning waits, 1.4 s with PASSIVE. On an idle
machine passive waits can only add a thread wake-up per parallel region (not measured: the
reference machine was never idle while this was written); set OMP_WAIT_POLICY=ACTIVE to compare.
A value the user set is kept."""

from __future__ import annotations

import os
from typing import Mapping, MutableMapping


def prefer_passive_waits(environ: MutableMapping[str, str] = os.environ) -> None:
    environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def configure_threads(env: Mapping[str, str]) -> int:
    """Sets torch's intra-op threads: REGBENCH_THREADS, else OMP_NUM_THREADS, else every CPU this
    process may use. Returns the count torch reports. Raises ValueError for a bad value."""
    import torch

    for name in ("REGBENCH_THREADS", "OMP_NUM_THREADS"):
        value = env.get(name, "").strip()
        if value:
            try:
                n = int(value)
            except ValueError:
                raise ValueError(f"{name}={value!r} is not a thread count") from None
            if n >= 1:
                torch.set_num_threads(n)
                return torch.get_num_threads()
    torch.set_num_threads(available_cpus())
    return torch.get_num_threads()
