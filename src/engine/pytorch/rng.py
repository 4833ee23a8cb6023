"""The engine's seeded pseudo-random generator, bit for bit the one of the TensorFlow.js engine
(src/engine/data/random.ts): a 32-bit avalanche mixer for the seed, then mulberry32. The worker
uses mix32 to seed its torch.Generator (per-step randomness: shuffles, crops, flips, far faster on
whole tensors); the subsets come already cut from the TypeScript data layer (data_cache.py).
test/protocol-shared.test.ts checks this stream against random.ts.

Python ints are unbounded, so every step masks to 32 bits where JavaScript's `| 0`, `>>> 0` and
Math.imul wrap."""

from __future__ import annotations

from typing import List

_MASK = 0xFFFFFFFF


def _imul(a: int, b: int) -> int:
    """Math.imul as an unsigned 32-bit result."""
    return (a * b) & _MASK


def mix32(x: int) -> int:
    h = x & _MASK
    h = _imul(h ^ (h >> 16), 0x7FEB352D)
    h = _imul(h ^ (h >> 15), 0x846CA68B)
    return (h ^ (h >> 16)) & _MASK


def seed_state(seed: int) -> int:
    if not isinstance(seed, int) or isinstance(seed, bool) or abs(seed) > 2**53 - 1:
        raise ValueError(f"seed must be a safe integer, got {seed!r}")
    lo = seed & _MASK
    # JavaScript: Math.floor(seed / 2^32) >>> 0 (floor division keeps negative seeds identical).
    hi = (seed // 4294967296) & _MASK
    return mix32(lo ^ mix32((hi + 0x9E3779B9) & _MASK))


class Rng:
    """mulberry32 behind seed_state; the same stream as `new Rng(seed)` in random.ts."""

    def __init__(self, seed: int) -> None:
        self._state = seed_state(seed)

    def next_uint32(self) -> int:
        self._state = (self._state + 0x6D2B79F5) & _MASK
        t = self._state
        t = _imul(t ^ (t >> 15), t | 1)
        t ^= (t + _imul(t ^ (t >> 7), t | 61)) & _MASK
        return (t ^ (t >> 14)) & _MASK

    def next_int(self, n: int) -> int:
        # random.ts computes floor(u / 2^32 * n) in doubles; for n < 2^21 that product is exact,
        # so the integer form below gives the same value.
        return (self.next_uint32() * n) >> 32

    def shuffle(self, a: List[int]) -> None:
        """Fisher-Yates from the last element down, in place (the order random.ts uses)."""
        for i in range(len(a) - 1, 0, -1):
            j = self.next_int(i + 1)
            a[i], a[j] = a[j], a[i]


def permutation(n: int, seed: int) -> List[int]:
    p = list(range(n))
    Rng(seed).shuffle(p)
    return p
