import io
import os
import tarfile
import tempfile
import unittest

import torch

import data
from errors import RunError
from protocol import DATASET_STATS
from tests.support import cifar_records, write_idx


def transform(seed: int = 0, dataset: str = "cifar10") -> data.BatchTransform:
    return data.BatchTransform(dataset, torch.device("cpu"), torch.Generator().manual_seed(seed))


class AugmentationTest(unittest.TestCase):
    def setUp(self):
        self.images = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(5))

    def test_same_seed_same_batch(self):
        a = transform(1).train_batch(self.images)
        b = transform(1).train_batch(self.images)
        c = transform(2).train_batch(self.images)
        self.assertTrue(torch.equal(a, b))
        self.assertFalse(torch.equal(a, c))

    def test_crop_and_flip_match_a_per_image_reference(self):
        t = transform(3)
        offsets, flips = t.random_params(64)
        self.assertTrue(bool(((offsets >= 0) & (offsets <= 8)).all()))
        out = t.crop_flip(self.images, offsets, flips)
        padded = torch.nn.functional.pad(self.images, (4, 4, 4, 4))
        for i in range(64):
            top, left = int(offsets[i, 0]), int(offsets[i, 1])
            ref = padded[i, :, top:top + 32, left:left + 32]
            if bool(flips[i]):
                ref = ref.flip(2)
            self.assertTrue(torch.equal(out[i], ref), f"image {i}")

    def test_offsets_cover_the_whole_range_and_flips_both_ways(self):
        offsets, flips = transform(4).random_params(4000)
        self.assertEqual(sorted(set(offsets.flatten().tolist())), list(range(9)))
        self.assertTrue(0.4 < flips.float().mean().item() < 0.6)

    def test_padding_is_black_before_normalization(self):
        t = transform(0)
        white = torch.full((1, 3, 32, 32), 255, dtype=torch.uint8)
        out = t.normalize(t.crop_flip(white, torch.tensor([[0, 0]]), torch.tensor([False])))
        mean, std = DATASET_STATS["cifar10"]["mean"], DATASET_STATS["cifar10"]["std"]
        for c in range(3):
            self.assertAlmostEqual(out[0, c, 0, 0].item(), -mean[c] / std[c], places=5)
            self.assertAlmostEqual(out[0, c, 31, 31].item(), (1 - mean[c]) / std[c], places=5)

    def test_eval_batch_is_plain_normalization(self):
        t = transform(0, "fashion-mnist")
        x = self.images[:4]
        ref = (x.float() / 255 - 0.286) / 0.353
        self.assertTrue(torch.allclose(t.eval_batch(x), ref, atol=1e-5))


class SubsetTest(unittest.TestCase):
    def test_matches_the_typescript_permutation(self):
        # permutation(20, 0) of src/engine/data/random.ts begins 2, 7, 9, 11, 6.
        self.assertEqual(data.select_subset(20, 5), [2, 6, 7, 9, 11])
        self.assertEqual(data.select_subset(20, None), list(range(20)))
        self.assertEqual(data.select_subset(20, 30), list(range(20)))

    def test_smaller_subsets_are_contained_in_larger_ones(self):
        small, large = set(data.select_subset(1000, 100)), set(data.select_subset(1000, 300))
        self.assertTrue(small <= large)


class ReaderTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.env = {"XDG_CACHE_HOME": os.path.join(self.dir, "cache")}

    def tearDown(self):
        self.tmp.cleanup()

    def write_cifar10(self, root: str) -> None:
        folder = os.path.join(root, "cifar-10-batches-bin")
        os.makedirs(folder)
        for i in range(1, 6):
            with open(os.path.join(folder, f"data_batch_{i}.bin"), "wb") as f:
                f.write(cifar_records([(i + j) % 10 for j in range(4)], seed=i))
        with open(os.path.join(folder, "test_batch.bin"), "wb") as f:
            f.write(cifar_records([3, 1, 4], seed=9))

    def test_cifar10_folder(self):
        self.write_cifar10(self.dir)
        ds = data.load_dataset("cifar10", self.dir, env=self.env)
        self.assertEqual(tuple(ds.train.images.shape), (20, 3, 32, 32))
        self.assertEqual(ds.train.labels[:4].tolist(), [1, 2, 3, 4])
        self.assertEqual(ds.test.labels.tolist(), [3, 1, 4])
        raw = cifar_records([3], seed=9)
        self.assertEqual(ds.test.images[0, 1, 0, 0].item(), raw[1 + 1024])  # green plane, pixel (0,0)
        self.assertEqual(ds.test.images[0, 0, 1, 2].item(), raw[1 + 32 + 2])

    def test_cifar100_archive_uses_fine_labels(self):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for name, labels in (("train.bin", [5, 99, 0]), ("test.bin", [42])):
                blob = cifar_records(labels, label_bytes=2)
                info = tarfile.TarInfo(f"cifar-100-binary/{name}")
                info.size = len(blob)
                tar.addfile(info, io.BytesIO(blob))
        with open(os.path.join(self.dir, "cifar-100-binary.tar.gz"), "wb") as f:
            f.write(buf.getvalue())
        ds = data.load_dataset("cifar100", None, env={**self.env, "REGBENCH_DATA": self.dir})
        self.assertEqual(ds.train.labels.tolist(), [5, 99, 0])
        self.assertEqual(ds.test.labels.tolist(), [42])

    def test_missing_cifar_names_the_file_and_the_command(self):
        with self.assertRaises(RunError) as ctx:
            data.load_dataset("cifar10", os.path.join(self.dir, "nowhere"), env=self.env)
        err = ctx.exception
        self.assertEqual(err.kind, "data")
        self.assertIn("cifar-10-binary.tar.gz", err.message)
        self.assertIn("regbench data fetch cifar10", err.message)
        self.assertEqual(err.file, os.path.join(self.dir, "nowhere", "cifar-10-binary.tar.gz"))
        self.assertNotIn("\n", err.message)

    def test_corrupt_cifar_file(self):
        self.write_cifar10(self.dir)
        with open(os.path.join(self.dir, "cifar-10-batches-bin", "test_batch.bin"), "ab") as f:
            f.write(b"xx")
        with self.assertRaises(RunError) as ctx:
            data.load_dataset("cifar10", self.dir, env=self.env)
        self.assertIn("test_batch.bin is corrupt", ctx.exception.message)

    def test_cache_dir_is_searched(self):
        cache = os.path.join(self.dir, "cache", "regbench", "datasets")
        self.write_cifar10(cache)
        ds = data.load_dataset("cifar10", None, env=self.env)
        self.assertEqual(ds.source, os.path.join(cache, "cifar-10-batches-bin"))

    def test_fashion_mnist_idx_is_padded_to_32x32_rgb(self):
        folder = os.path.join(self.dir, "fashion-mnist")
        os.makedirs(folder)
        train = torch.randint(1, 256, (6, 28, 28), dtype=torch.uint8)
        write_idx(os.path.join(folder, "train-images-idx3-ubyte.gz"), train)
        write_idx(os.path.join(folder, "train-labels-idx1-ubyte.gz"), torch.tensor([0, 1, 2, 3, 4, 9]))
        write_idx(os.path.join(folder, "t10k-images-idx3-ubyte"), train[:2])
        write_idx(os.path.join(folder, "t10k-labels-idx1-ubyte"), torch.tensor([7, 8]))
        ds = data.load_dataset("fashion-mnist", self.dir, env=self.env, system_dir=None)
        self.assertEqual(tuple(ds.train.images.shape), (6, 3, 32, 32))
        self.assertEqual(ds.train.labels.tolist(), [0, 1, 2, 3, 4, 9])
        img = ds.train.images[2]
        self.assertTrue(torch.equal(img[0, 2:30, 2:30], train[2]))
        self.assertTrue(torch.equal(img[0], img[2]))
        self.assertEqual(int(img[:, :2].sum()) + int(img[:, :, 30:].sum()), 0)

    def test_incomplete_fashion_mnist(self):
        write_idx(os.path.join(self.dir, "train-images-idx3-ubyte.gz"), torch.zeros(1, 28, 28, dtype=torch.uint8))
        with self.assertRaises(RunError) as ctx:
            data.load_dataset("fashion-mnist", self.dir, env=self.env, system_dir=None)
        self.assertIn("train-labels-idx1-ubyte.gz is missing", ctx.exception.message)

    def test_missing_fashion_mnist_mentions_debian_package(self):
        with self.assertRaises(RunError) as ctx:
            data.load_dataset("fashion-mnist", None, env=self.env, system_dir=None)
        self.assertIn("dataset-fashion-mnist", ctx.exception.message)
        self.assertIn("train-images-idx3-ubyte.gz", ctx.exception.message)


if __name__ == "__main__":
    unittest.main()
