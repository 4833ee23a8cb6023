"""The PyTorch worker's view of the images: a split held as uint8 NCHW tensors (data_cache.py loads
it from the files the TypeScript data layer prepares) and the training augmentation
(RandomCrop(32, padding=4) + horizontal flip + per-channel normalization) applied to whole batches
at once. The datasets, their lookup and the subsets are the TypeScript data layer's alone
(src/engine/data/)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import torch
import torch.nn.functional as F

from protocol import CROP_PADDING, DATASET_STATS, IMAGE_SIZE


@dataclass
class Split:
    images: torch.Tensor  # uint8 [N, 3, 32, 32]
    labels: torch.Tensor  # int64 [N]

    def __len__(self) -> int:
        return int(self.labels.shape[0])


class BatchTransform:
    """Turns uint8 NCHW batches into normalized float batches, on the device the images are on.
    Training batches get RandomCrop(32, padding=4) with zero padding (torchvision pads before
    ToTensor/Normalize, so a padded pixel becomes -mean/std) and a horizontal flip with p=0.5,
    drawn from `generator` for the whole batch at once."""

    def __init__(self, dataset: str, device: torch.device, generator: torch.Generator) -> None:
        stats = DATASET_STATS[dataset]
        mean = torch.tensor(stats["mean"], dtype=torch.float32)
        std = torch.tensor(stats["std"], dtype=torch.float32)
        # x / 255 then (x - mean) / std, folded into one multiply-add per element.
        self.scale = (1.0 / (255.0 * std)).view(1, 3, 1, 1).to(device)
        self.shift = (-mean / std).view(1, 3, 1, 1).to(device)
        self.device = device
        self.generator = generator
        self._ar = torch.arange(IMAGE_SIZE, device=device)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        return images.to(torch.float32) * self.scale + self.shift

    def random_params(self, batch: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """Crop offsets [B, 2] (top, left in the padded image, 0..8) and flips [B] (bool)."""
        offsets = torch.randint(0, 2 * CROP_PADDING + 1, (batch, 2), generator=self.generator)
        flips = torch.randint(0, 2, (batch,), generator=self.generator).bool()
        return offsets.to(self.device), flips.to(self.device)

    def crop_flip(self, images: torch.Tensor, offsets: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
        p = CROP_PADDING
        padded = F.pad(images, (p, p, p, p))
        b = images.shape[0]
        rows = offsets[:, 0:1] + self._ar  # [B, 32]
        # A flipped crop reads its columns right to left: out(y, x) = crop(y, 31 - x).
        cols = torch.where(flips[:, None], offsets[:, 1:2] + (IMAGE_SIZE - 1) - self._ar, offsets[:, 1:2] + self._ar)
        bi = torch.arange(b, device=images.device).view(b, 1, 1, 1)
        ci = torch.arange(images.shape[1], device=images.device).view(1, -1, 1, 1)
        return padded[bi, ci, rows.view(b, 1, IMAGE_SIZE, 1), cols.view(b, 1, 1, IMAGE_SIZE)]

    def train_batch(self, images: torch.Tensor) -> torch.Tensor:
        offsets, flips = self.random_params(images.shape[0])
        return self.normalize(self.crop_flip(images, offsets, flips))

    def eval_batch(self, images: torch.Tensor) -> torch.Tensor:
        return self.normalize(images)
