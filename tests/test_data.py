"""Tests of nasrank.data: loaders (with generated fixtures), splits, downsampling, augmentation."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from nasrank.data import ImageDataset, augment_batch, list_datasets, load_dataset, train_val_split
from nasrank.exceptions import BenchmarkDataError, ConfigError, UnknownNameError

SHARED_DATA = Path(os.environ.get("NASRANK_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")


# --- fixtures in the official formats --------------------------------------------------------
def _write_pickle(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(obj, f)


@pytest.fixture
def cifar10_root(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    d = tmp_path / "cifar10" / "cifar-10-batches-py"
    for name, n in (("data_batch_1", 30), ("data_batch_3", 20), ("test_batch", 10)):
        # bytes keys, as the official python-2 pickles have
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        data[:, :1024] = 200  # red plane constant -> checkable channel mean
        _write_pickle(d / name, {b"data": data, b"labels": list(rng.integers(0, 10, n)), b"batch_label": b"x"})
    return tmp_path


def test_list_datasets() -> None:
    assert list_datasets() == ["cifar10", "cifar100", "digits", "imagenet16-120", "mnist"]


def test_digits_offline() -> None:
    tr, te = load_dataset("digits"), load_dataset("digits", train=False)
    assert len(tr) + len(te) == 1797 and len(te) == 299
    assert tr.images.dtype == torch.uint8 and tr.image_shape == (1, 8, 8)
    assert tr.labels.dtype == torch.int64 and set(tr.labels.tolist()) == set(range(10))
    assert int(tr.images.max()) == 255  # 16 scaled to 255
    (m,), (s,) = tr.channel_stats()
    assert abs(m - tr.mean[0]) < 0.01 and abs(s - tr.std[0]) < 0.01
    x, _ = tr.batch(slice(None))
    assert abs(float(x.mean())) < 0.05 and abs(float(x.std()) - 1) < 0.05


def test_cifar10_fixture(cifar10_root: Path) -> None:
    tr = load_dataset("cifar10", root=cifar10_root)
    te = load_dataset("cifar10", root=cifar10_root, train=False)
    assert len(tr) == 50 and len(te) == 10  # reads whichever data_batch_* exist
    assert tr.images.shape == (50, 3, 32, 32) and tr.images.dtype == torch.uint8
    assert tr.num_classes == 10 and 0 <= int(tr.labels.min()) and int(tr.labels.max()) <= 9
    mean, _ = tr.channel_stats()
    assert mean[0] == pytest.approx(200 / 255, abs=1e-6)
    assert mean[1] == pytest.approx(127.5 / 255, abs=0.05)
    assert tr.mean == pytest.approx((125.3 / 255, 123.0 / 255, 113.9 / 255))
    assert tr.std == pytest.approx((63.0 / 255, 62.1 / 255, 66.7 / 255))


def test_cifar10_root_from_env(cifar10_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NASRANK_DATA", str(cifar10_root))
    assert len(load_dataset("cifar10")) == 50


def test_missing_files_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NASRANK_DATA", raising=False)
    with pytest.raises(BenchmarkDataError, match="NASRANK_DATA"):
        load_dataset("cifar10")
    for name in ("cifar10", "cifar100", "imagenet16-120", "mnist"):
        with pytest.raises(BenchmarkDataError, match="not found") as e:
            load_dataset(name, root=tmp_path)
        assert "\n" not in str(e.value)
    with pytest.raises(BenchmarkDataError, match="does not exist"):
        load_dataset("cifar10", root=tmp_path / "nope")
    with pytest.raises(UnknownNameError, match="Did you mean 'cifar10'"):
        load_dataset("cifr10")


def test_malformed_batch(tmp_path: Path) -> None:
    d = tmp_path / "cifar10" / "cifar-10-batches-py"
    _write_pickle(d / "test_batch", {b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]})
    with pytest.raises(BenchmarkDataError, match="3072"):
        load_dataset("cifar10", root=tmp_path, train=False)


def test_cifar100_fixture(tmp_path: Path) -> None:
    d = tmp_path / "cifar100" / "cifar-100-python"
    _write_pickle(d / "train", {b"data": np.ones((7, 3072), np.uint8), b"fine_labels": [0, 99, 5, 5, 5, 5, 1]})
    ds = load_dataset("cifar100", root=tmp_path)
    assert ds.num_classes == 100 and ds.labels.tolist() == [0, 99, 5, 5, 5, 5, 1]


def test_imagenet16_fixture(tmp_path: Path) -> None:
    d = tmp_path / "imagenet16"
    rng = np.random.default_rng(1)
    labels = [1, 120, 121, 1000, 60]  # 1-based; 121 and 1000 are outside the 120-class variant
    data = rng.integers(0, 256, size=(5, 768), dtype=np.uint8)
    _write_pickle(d / "train_data_batch_1", {"data": data, "labels": labels, "mean": np.zeros(768)})
    _write_pickle(d / "train_data_batch_2", {"data": data[:1], "labels": [7]})
    _write_pickle(d / "val_data", {"data": data[:2], "labels": [2, 500]})
    tr = load_dataset("imagenet16-120", root=tmp_path)
    assert tr.image_shape == (3, 16, 16) and tr.num_classes == 120
    assert tr.labels.tolist() == [0, 119, 59, 6]
    # plane layout: first 256 bytes are the red 16x16 plane of image 0
    assert torch.equal(tr.images[0, 0].flatten(), torch.from_numpy(data[0, :256]))
    assert tr.crop_padding == 2
    te = load_dataset("imagenet16-120", root=tmp_path, train=False)
    assert te.labels.tolist() == [1]


def _write_idx(path: Path, arr: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def test_mnist_idx_and_csv(tmp_path: Path) -> None:
    d = tmp_path / "mnist"
    d.mkdir()
    imgs = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    _write_idx(d / "train-images-idx3-ubyte.gz", imgs)
    _write_idx(d / "train-labels-idx1-ubyte.gz", np.array([3, 1, 4]))
    ds = load_dataset("mnist", root=tmp_path)
    assert ds.image_shape == (1, 28, 28) and ds.labels.tolist() == [3, 1, 4]
    assert torch.equal(ds.images[:, 0], torch.from_numpy(imgs.astype(np.uint8)))

    other = tmp_path / "other" / "mnist5k"
    other.mkdir(parents=True)
    rows = np.concatenate([np.full((10, 784), 9), np.arange(10)[:, None]], axis=1)
    with gzip.open(other / "mnist_5k.csv.gz", "wt") as f:
        np.savetxt(f, rows, fmt="%d", delimiter=",")
    tr = load_dataset("mnist", root=tmp_path / "other")
    te = load_dataset("mnist", root=tmp_path / "other", train=False)
    assert tr.labels.tolist() == [0, 1, 2, 3, 5, 6, 7, 8] and te.labels.tolist() == [4, 9]
    assert int(tr.images.max()) == 9


def test_split_deterministic_and_disjoint() -> None:
    ds = load_dataset("digits")
    ds.labels = torch.arange(len(ds))  # make examples identifiable
    a_tr, a_va = ds.split(0.5, seed=3)
    b_tr, b_va = train_val_split(ds, 0.5, seed=3)
    c_tr, _ = ds.split(0.5, seed=4)
    assert torch.equal(a_tr.labels, b_tr.labels) and torch.equal(a_va.labels, b_va.labels)
    assert not torch.equal(a_tr.labels, c_tr.labels)
    assert len(a_va) == len(ds) // 2
    assert set(a_tr.labels.tolist()).isdisjoint(a_va.labels.tolist())
    assert len(a_tr) + len(a_va) == len(ds)
    with pytest.raises(ConfigError, match="val_fraction"):
        ds.split(1.0)


def test_stratified_split_keeps_proportions() -> None:
    ds = load_dataset("digits")
    tr, va = ds.split(0.5, seed=0, stratify=True)
    counts_tr, counts_va = tr.labels.bincount(), va.labels.bincount()
    assert int((counts_tr - counts_va).abs().max()) <= 1


def test_downsample_area_average() -> None:
    img = torch.zeros(1, 3, 4, 4, dtype=torch.uint8)
    img[0, :, :2, :2] = 100  # top-left 2x2 block
    ds = ImageDataset(img, torch.zeros(1), num_classes=1, mean=(0, 0, 0), std=(1, 1, 1), crop_padding=4)
    small = ds.downsample(2)
    assert small.images[0, 0].tolist() == [[100, 0], [0, 0]]
    assert small.images.dtype == torch.uint8 and small.crop_padding == 2
    assert load_dataset("digits", size=4).image_shape == (1, 4, 4)


def test_augment_matches_per_image_reference() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (64, 3, 6, 6), dtype=torch.uint8)
    out = augment_batch(x, padding=2, flip=True, generator=g)
    # every output must equal one of the 5*5*2 padded crops/flips of its input
    xp = torch.nn.functional.pad(x, (2, 2, 2, 2))
    flips = 0
    for i in range(len(x)):
        cands = []
        for oy in range(5):
            for ox in range(5):
                crop = xp[i, :, oy : oy + 6, ox : ox + 6]
                cands += [(crop, False), (crop.flip(2), True)]
        hits = [f for c, f in cands if torch.equal(c, out[i])]
        assert hits, f"image {i} is not a padded crop/flip"
        flips += hits[0]
    assert 15 < flips < 49  # about half flipped
    # deterministic given the generator
    again = augment_batch(x, padding=2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    # offsets are diverse (not one shift for the whole batch)
    assert len({tuple(out[i].flatten()[:5].tolist()) for i in range(64)}) > 10


def test_batch_normalisation_and_augment_padding_is_black() -> None:
    ds = ImageDataset(
        torch.full((8, 1, 4, 4), 255, dtype=torch.uint8), torch.zeros(8),
        num_classes=1, mean=(0.5,), std=(0.25,), crop_padding=4,
    )
    x, _ = ds.batch(slice(None))
    assert torch.allclose(x, torch.full_like(x, 2.0))
    xa, _ = ds.batch(slice(None), augment=True, generator=torch.Generator().manual_seed(1))
    vals = set(torch.unique(xa).tolist())
    assert vals <= {2.0, -2.0} and -2.0 in vals  # padded zeros normalise to -mean/std


def test_batches_shuffle_and_drop_last() -> None:
    ds = ImageDataset(torch.zeros(10, 1, 2, 2, dtype=torch.uint8), torch.arange(10),
                      num_classes=10, mean=(0.0,), std=(1.0,))
    ys = [y for _, y in ds.batches(4, shuffle=True, seed=0)]
    assert [len(y) for y in ys] == [4, 4, 2]
    assert sorted(torch.cat(ys).tolist()) == list(range(10))
    assert [len(y) for _, y in ds.batches(4, drop_last=True)] == [4, 4]
    ys2 = [y for _, y in ds.batches(4, shuffle=True, seed=0)]
    assert all(torch.equal(a, b) for a, b in zip(ys, ys2, strict=True))


def test_bad_inputs() -> None:
    with pytest.raises(ConfigError, match="uint8"):
        ImageDataset(torch.zeros(2, 1, 2, 2), torch.zeros(2), num_classes=1, mean=(0,), std=(1,))
    ds = load_dataset("digits")
    with pytest.raises(ConfigError, match="out of range"):
        ds.batch([len(ds)])
    with pytest.raises(ConfigError, match="batch_size"):
        next(ds.batches(0))
    with pytest.raises(ConfigError, match="train"):
        load_dataset("digits", train="yes")  # type: ignore[arg-type]


def test_shared_cifar10() -> None:
    root = SHARED_DATA
    if not (root / "cifar10" / "cifar-10-batches-py" / "test_batch").exists():
        pytest.skip(f"shared CIFAR-10 not found under {root} (set NASRANK_DATA to run this test)")
    tr = load_dataset("cifar10", root=root)
    assert tr.images.shape == (20000, 3, 32, 32) and tr.images.dtype == torch.uint8
    assert tr.labels.min() == 0 and tr.labels.max() == 9
    mean, _ = tr.channel_stats()
    assert mean == pytest.approx((0.492, 0.483, 0.446), abs=0.003)
    te = load_dataset("cifar10", root=root, train=False, size=16)
    assert te.images.shape == (10000, 3, 16, 16)
