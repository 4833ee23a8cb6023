import os
import tempfile
import unittest

import torch

import data
import data_cache
from errors import RunError
from protocol import DATASET_STATS


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


class DataCacheTest(unittest.TestCase):
    """The files of src/engine/data/tensor-files.ts: n labels, then n NHWC images."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        g = torch.Generator().manual_seed(1)
        self.nhwc = torch.randint(0, 256, (5, 32, 32, 3), dtype=torch.uint8, generator=g)
        self.labels = torch.tensor([3, 1, 4, 1, 5], dtype=torch.uint8)
        self.path = os.path.join(self.tmp.name, "cifar10-train-5-0123456789abcdef.u8")
        with open(self.path, "wb") as f:
            f.write(bytes(self.labels.tolist()) + bytes(self.nhwc.flatten().tolist()))

    def test_reads_labels_and_images_as_nchw(self):
        split = data_cache.load_split(self.path, 5)
        self.assertEqual(split.labels.tolist(), [3, 1, 4, 1, 5])
        self.assertEqual(split.labels.dtype, torch.long)
        self.assertEqual(tuple(split.images.shape), (5, 3, 32, 32))
        self.assertTrue(torch.equal(split.images, self.nhwc.permute(0, 3, 1, 2)))
        self.assertTrue(split.images.is_contiguous())

    def test_run_data_from_the_spec(self):
        spec = {"tensors": {"train": {"path": self.path, "n": 5}, "test": {"path": self.path, "n": 5}, "source": "x"}}
        train, test = data_cache.load_run_data(spec, torch.device("cpu"))
        self.assertEqual((len(train), len(test)), (5, 5))

    def test_a_wrong_size_or_missing_file_is_a_data_error_naming_it(self):
        with self.assertRaises(RunError) as ctx:
            data_cache.load_split(self.path, 6)
        self.assertEqual((ctx.exception.kind, ctx.exception.file), ("data", self.path))
        missing = os.path.join(self.tmp.name, "nowhere.u8")
        with self.assertRaises(RunError) as ctx:
            data_cache.load_split(missing, 5)
        self.assertEqual((ctx.exception.kind, ctx.exception.file), ("data", missing))

    def test_a_spec_without_tensors_is_a_usage_error(self):
        with self.assertRaises(RunError) as ctx:
            data_cache.load_run_data({"dataset": "cifar10"}, torch.device("cpu"))
        self.assertEqual(ctx.exception.kind, "usage")
        self.assertIn("regbench run", ctx.exception.message)


if __name__ == "__main__":
    unittest.main()
