"""Datasets for the PyTorch worker: the same files, lookup order and subsets as the TypeScript
data layer (src/engine/data/), read into uint8 NCHW tensors, and the training augmentation
(RandomCrop(32, padding=4) + horizontal flip + per-channel normalization) applied to whole
batches at once.

Lookup order (locations.ts): the explicit data directory (spec.dataDir, else $REGBENCH_DATA),
the per-user cache ($XDG_CACHE_HOME/regbench/datasets or ~/.cache/regbench/datasets), then for
FashionMNIST Debian's /usr/share/datasets/fashion-mnist. In each directory: CIFAR's extracted
folder (as a sub-folder or the directory itself), else its official .tar.gz, read in place;
FashionMNIST's four IDX files, gzipped or not, in the directory or its fashion-mnist/ or
FashionMNIST/raw/ sub-folder. This worker never downloads: a missing dataset is a `data` error
that says which file to put where, or to run `regbench data fetch <dataset>`."""

from __future__ import annotations

import gzip
import os
import tarfile
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from errors import DATA, RunError
from protocol import CROP_PADDING, DATASET_STATS, IMAGE_SIZE, SUBSET_SEED
from rng import permutation

PIXELS = IMAGE_SIZE * IMAGE_SIZE * 3


@dataclass(frozen=True)
class CifarFormat:
    title: str
    archive: str
    folder: str
    train_files: Tuple[str, ...]
    test_file: str
    # Label bytes before the pixels of a record; the last one is the label used (CIFAR-100: fine).
    label_bytes: int
    num_classes: int


CIFAR_FORMATS: Dict[str, CifarFormat] = {
    "cifar10": CifarFormat("CIFAR-10", "cifar-10-binary.tar.gz", "cifar-10-batches-bin",
                           tuple(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin", 1, 10),
    "cifar100": CifarFormat("CIFAR-100", "cifar-100-binary.tar.gz", "cifar-100-binary", ("train.bin",), "test.bin", 2, 100),
}

FASHION_TITLE = "FashionMNIST"
FASHION_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
FASHION_SUBFOLDERS = ("fashion-mnist", os.path.join("FashionMNIST", "raw"))
FASHION_SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"


@dataclass
class Split:
    images: torch.Tensor  # uint8 [N, 3, 32, 32]
    labels: torch.Tensor  # int64 [N]

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def take(self, indices: Sequence[int]) -> "Split":
        idx = torch.as_tensor(list(indices), dtype=torch.long)
        return Split(self.images.index_select(0, idx), self.labels.index_select(0, idx))


@dataclass
class Dataset:
    train: Split
    test: Split
    source: str


def default_cache_dir(env: Mapping[str, str]) -> str:
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "regbench", "datasets")


def search_dirs(dataset: str, data_dir: Optional[str], env: Mapping[str, str], system_dir: Optional[str] = FASHION_SYSTEM_DIR) -> List[str]:
    dirs: List[str] = []
    explicit = data_dir or env.get("REGBENCH_DATA")
    if explicit:
        dirs.append(explicit)
    dirs.append(default_cache_dir(env))
    if dataset == "fashion-mnist" and system_dir:
        dirs.append(system_dir)
    return dirs


def load_dataset(dataset: str, data_dir: Optional[str] = None, env: Optional[Mapping[str, str]] = None,
                 system_dir: Optional[str] = FASHION_SYSTEM_DIR) -> Dataset:
    env = os.environ if env is None else env
    dirs = search_dirs(dataset, data_dir, env, system_dir)
    put_dir = data_dir or env.get("REGBENCH_DATA") or default_cache_dir(env)
    if dataset in CIFAR_FORMATS:
        return _load_cifar(dataset, CIFAR_FORMATS[dataset], dirs, put_dir)
    if dataset == "fashion-mnist":
        return _load_fashion(dirs, put_dir)
    raise RunError("usage", f"unknown dataset '{dataset}'")


# --- CIFAR ---------------------------------------------------------------------------------

def _is_file(p: str) -> bool:
    return os.path.isfile(p)


def _find_cifar(fmt: CifarFormat, directory: str) -> Optional[Tuple[str, str]]:
    names = list(fmt.train_files) + [fmt.test_file]
    for folder in (os.path.join(directory, fmt.folder), directory):
        if not os.path.isdir(folder):
            continue
        if folder == directory and not any(os.path.exists(os.path.join(directory, n)) for n in names):
            continue
        missing = [n for n in names if not _is_file(os.path.join(folder, n))]
        if missing:
            # A folder with some of the files is meant to be the dataset: say what is missing.
            raise RunError(DATA, f"{fmt.title} folder {folder} is incomplete: {missing[0]} is missing; put the whole "
                                 f"{fmt.folder}/ folder from {fmt.archive} there, or {fmt.archive} itself in {directory}",
                           file=os.path.join(folder, missing[0]))
        return ("folder", folder)
    archive = os.path.join(directory, fmt.archive)
    if _is_file(archive):
        return ("archive", archive)
    return None


def _decode_cifar(fmt: CifarFormat, blobs: Sequence[Tuple[str, bytes]]) -> Split:
    record = fmt.label_bytes + PIXELS
    parts_img: List[torch.Tensor] = []
    parts_lab: List[torch.Tensor] = []
    for name, blob in blobs:
        if len(blob) == 0 or len(blob) % record != 0:
            raise RunError(DATA, f"{name} is corrupt: its size {len(blob)} is not a positive multiple of the "
                                 f"{record}-byte {fmt.title} record", file=name)
        rows = torch.frombuffer(bytearray(blob), dtype=torch.uint8).view(-1, record)
        labels = rows[:, fmt.label_bytes - 1].long()
        bad = (labels >= fmt.num_classes).nonzero()
        if bad.numel():
            r = int(bad[0, 0])
            raise RunError(DATA, f"{name} is corrupt: record {r} has label {int(labels[r])} (expected 0..{fmt.num_classes - 1})", file=name)
        # Pixels are channel-major (1024 R, 1024 G, 1024 B), i.e. already CHW.
        parts_img.append(rows[:, fmt.label_bytes:].reshape(-1, 3, IMAGE_SIZE, IMAGE_SIZE))
        parts_lab.append(labels)
    return Split(torch.cat(parts_img).contiguous(), torch.cat(parts_lab))


def _read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise RunError(DATA, f"cannot read {path}: {e.strerror or e}", file=path) from e


def _read_cifar_archive(fmt: CifarFormat, archive: str) -> Dict[str, bytes]:
    wanted = {f"{fmt.folder}/{n}": n for n in list(fmt.train_files) + [fmt.test_file]}
    found: Dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                name = member.name[2:] if member.name.startswith("./") else member.name
                if name in wanted and member.isfile():
                    handle = tar.extractfile(member)
                    if handle is not None:
                        found[wanted[name]] = handle.read()
    except (tarfile.TarError, OSError, EOFError) as e:
        raise RunError(DATA, f"{archive} is corrupt or truncated ({e}); delete it and run `regbench data fetch`", file=archive) from e
    for n in wanted.values():
        if n not in found:
            raise RunError(DATA, f"{archive} is corrupt: it holds no {fmt.folder}/{n}", file=archive)
    return found


def _load_cifar(dataset: str, fmt: CifarFormat, dirs: List[str], put_dir: str) -> Dataset:
    for directory in dirs:
        where = _find_cifar(fmt, directory)
        if where is None:
            continue
        kind, path = where
        if kind == "folder":
            train = _decode_cifar(fmt, [(os.path.join(path, n), _read_file(os.path.join(path, n))) for n in fmt.train_files])
            test_path = os.path.join(path, fmt.test_file)
            test = _decode_cifar(fmt, [(test_path, _read_file(test_path))])
            return Dataset(train, test, path)
        blobs = _read_cifar_archive(fmt, path)
        train = _decode_cifar(fmt, [(f"{path}:{n}", blobs[n]) for n in fmt.train_files])
        test = _decode_cifar(fmt, [(f"{path}:{fmt.test_file}", blobs[fmt.test_file])])
        return Dataset(train, test, path)
    raise RunError(DATA, f"{fmt.title} not found: run `regbench data fetch {dataset}` or put {fmt.archive} (or its "
                         f"extracted {fmt.folder}/ folder) in {put_dir} (looked in {', '.join(dirs)})",
                   file=os.path.join(put_dir, fmt.archive))


# --- FashionMNIST (IDX) --------------------------------------------------------------------

def _idx_path(folder: str, name: str) -> Optional[str]:
    for candidate in (os.path.join(folder, name + ".gz"), os.path.join(folder, name)):
        if _is_file(candidate):
            return candidate
    return None


def _find_fashion(directory: str) -> Optional[List[str]]:
    for folder in [directory] + [os.path.join(directory, s) for s in FASHION_SUBFOLDERS]:
        paths = [_idx_path(folder, n) for n in FASHION_FILES]
        if all(p is None for p in paths):
            continue
        for name, p in zip(FASHION_FILES, paths):
            if p is None:
                raise RunError(DATA, f"{FASHION_TITLE} in {folder} is incomplete: {name}.gz is missing; put it there "
                                     f"or run `regbench data fetch fashion-mnist`", file=os.path.join(folder, name + ".gz"))
        return [p for p in paths if p is not None]
    return None


def read_idx(path: str, expected_dims: int) -> Tuple[List[int], torch.Tensor]:
    """Reads an IDX file of unsigned bytes: its dimensions and its data as a flat uint8 tensor."""
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                blob = f.read()
        else:
            blob = _read_file(path)
    except (OSError, EOFError) as e:
        raise RunError(DATA, f"{path} is corrupt or truncated ({e}); replace it", file=path) from e
    if len(blob) < 4 or blob[0] != 0 or blob[1] != 0 or blob[2] != 0x08 or blob[3] != expected_dims:
        raise RunError(DATA, f"{path} is not an IDX file of {expected_dims}-D unsigned bytes (bad header); replace it", file=path)
    header = 4 + 4 * expected_dims
    dims = [int.from_bytes(blob[4 + 4 * i: 8 + 4 * i], "big") for i in range(expected_dims)]
    size = 1
    for d in dims:
        size *= d
    if len(blob) != header + size:
        raise RunError(DATA, f"{path} is corrupt: {len(blob) - header} data bytes for dimensions {dims}", file=path)
    return dims, torch.frombuffer(bytearray(blob[header:]), dtype=torch.uint8)


def _fashion_split(images_path: str, labels_path: str) -> Split:
    dims, pixels = read_idx(images_path, 3)
    ldims, labels = read_idx(labels_path, 1)
    if dims[1:] != [28, 28] or ldims[0] != dims[0]:
        raise RunError(DATA, f"{images_path} and {labels_path} do not match: images {dims}, labels {ldims}", file=images_path)
    if labels.numel() and int(labels.max()) >= 10:
        raise RunError(DATA, f"{labels_path} is corrupt: a label is {int(labels.max())} (expected 0..9)", file=labels_path)
    pad = (IMAGE_SIZE - 28) // 2
    gray = F.pad(pixels.view(-1, 1, 28, 28), (pad, pad, pad, pad))
    return Split(gray.expand(-1, 3, -1, -1).contiguous(), labels.long())


def _load_fashion(dirs: List[str], put_dir: str) -> Dataset:
    for directory in dirs:
        paths = _find_fashion(directory)
        if paths is None:
            continue
        train = _fashion_split(paths[0], paths[1])
        test = _fashion_split(paths[2], paths[3])
        return Dataset(train, test, os.path.dirname(paths[0]))
    names = ", ".join(n + ".gz" for n in FASHION_FILES)
    raise RunError(DATA, f"{FASHION_TITLE} not found: run `regbench data fetch fashion-mnist`, install Debian's "
                         f"dataset-fashion-mnist, or put {names} in {put_dir} (looked in {', '.join(dirs)})",
                   file=os.path.join(put_dir, FASHION_FILES[0] + ".gz"))


# --- subsets and augmentation --------------------------------------------------------------

def select_subset(n: int, size: Optional[int]) -> List[int]:
    """selectSubset of subset.ts: the first `size` entries of the seed-0 permutation, sorted;
    every image when size is None or >= n. Identical indices in both engines."""
    if size is None or size >= n:
        return list(range(n))
    if size < 0:
        raise ValueError(f"subset size must be non-negative, got {size}")
    return sorted(permutation(n, SUBSET_SEED)[:size])


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
