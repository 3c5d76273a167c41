"""Readers for the on-disk dataset formats and the dataset registry."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from .._registry import Registry
from ..exceptions import BenchmarkDataError, ConfigError
from ._dataset import ImageDataset

__all__ = ["DATASETS", "load_dataset", "list_datasets", "resolve_root", "DATA_ENV_VAR", "NORMALIZATION"]

#: Environment variable naming the data directory (holding ``cifar10/``, ``mnist5k/``, ...).
DATA_ENV_VAR = "NASRANK_DATA"

#: Per-channel (mean, std) in 0-1 pixel units. CIFAR / ImageNet16: the NAS-Bench-201 constants;
#: MNIST: the customary ones; digits: computed from the 1,797 scikit-learn images scaled to 0-255.
NORMALIZATION: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "cifar10": (
        (125.3 / 255, 123.0 / 255, 113.9 / 255),
        (63.0 / 255, 62.1 / 255, 66.7 / 255),
    ),
    "cifar100": (
        (129.3 / 255, 124.1 / 255, 112.4 / 255),
        (68.2 / 255, 65.4 / 255, 70.4 / 255),
    ),
    "imagenet16-120": (
        (122.68 / 255, 116.66 / 255, 104.01 / 255),
        (63.22 / 255, 61.26 / 255, 65.09 / 255),
    ),
    "mnist": ((0.1307,), (0.3081,)),
    "digits": ((0.305309,), (0.375886,)),
}

#: ``loader(root, train) -> ImageDataset``; registered per dataset name.
DATASETS: Registry = Registry("dataset")


def resolve_root(root: str | os.PathLike | None, name: str) -> Path:
    """The data directory: ``root`` if given, else ``$NASRANK_DATA``.

    Raises:
        BenchmarkDataError: if neither is set or the directory does not exist.

    Example:
        >>> resolve_root("/tmp", "cifar10")
        PosixPath('/tmp')
    """
    if root is None:
        env = os.environ.get(DATA_ENV_VAR)
        if not env:
            raise BenchmarkDataError(
                f"dataset {name!r} needs files: pass --data-dir DIR (Python: root=DIR) or set {DATA_ENV_VAR} "
                f"(the README's Data section shows the layout; 'digits' needs no files)"
            )
        root = env
    path = Path(root).expanduser()
    if path.exists() and not path.is_dir():
        raise BenchmarkDataError(
            f"data directory {str(path)!r} for dataset {name!r} is a file; pass the directory that holds {name}/"
        )
    if not path.is_dir():
        raise BenchmarkDataError(
            f"data directory {str(path)!r} for dataset {name!r} does not exist; pass an existing --data-dir"
        )
    return path


def _first_dir(root: Path, candidates: list[str], marker: str) -> Path | None:
    for c in candidates:
        d = root / c if c else root
        if (d / marker).exists() or any(d.glob(marker)):
            return d
    return None


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            obj = pickle.load(f, encoding="bytes")
    except Exception as e:  # noqa: BLE001 - any failure means a malformed file
        raise BenchmarkDataError(f"cannot read {str(path)!r}: {type(e).__name__}: {e}") from None
    if not isinstance(obj, dict):
        raise BenchmarkDataError(f"{str(path)!r} is not a pickled dict")
    # python-2 pickles give bytes keys; normalise to str
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _rows_to_images(data: np.ndarray, path: Path, side: int) -> torch.Tensor:
    data = np.asarray(data, dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3 * side * side:
        raise BenchmarkDataError(
            f"{str(path)!r}: 'data' must be N x {3 * side * side} uint8, got shape {data.shape}"
        )
    return torch.from_numpy(data.reshape(-1, 3, side, side).copy())


def _check_labels(labels: np.ndarray, num_classes: int, where: str) -> None:
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise BenchmarkDataError(
            f"{where}: labels outside 0..{num_classes - 1} (min {labels.min()}, max {labels.max()})"
        )


# --- digits -----------------------------------------------------------------------------------
@DATASETS.register("digits")
def _load_digits(root: str | os.PathLike | None, train: bool) -> ImageDataset:
    """scikit-learn's 1,797 8x8 digits (no files needed). Test = every 6th image (i % 6 == 5)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    images = np.rint(d.images * (255.0 / 16.0)).astype(np.uint8)[:, None]  # 0-16 -> 0-255
    labels = d.target.astype(np.int64)
    test = np.arange(len(labels)) % 6 == 5
    keep = ~test if train else test
    mean, std = NORMALIZATION["digits"]
    return ImageDataset(
        torch.from_numpy(images[keep].copy()), torch.from_numpy(labels[keep].copy()),
        num_classes=10, mean=mean, std=std, name="digits", crop_padding=1,
    )


# --- CIFAR ------------------------------------------------------------------------------------
@DATASETS.register("cifar10")
def _load_cifar10(root: str | os.PathLike | None, train: bool) -> ImageDataset:
    """CIFAR-10, official python layout: ``data_batch_1..5`` (any subset present), ``test_batch``."""
    base = resolve_root(root, "cifar10")
    d = _first_dir(base, ["cifar10/cifar-10-batches-py", "cifar-10-batches-py", "cifar10", ""], "test_batch")
    if d is None:
        raise BenchmarkDataError(
            f"CIFAR-10 not found under {str(base)!r}: expected cifar10/cifar-10-batches-py/"
            "{data_batch_1..5,test_batch} (the official python version)"
        )
    files = [d / f"data_batch_{i}" for i in range(1, 6)] if train else [d / "test_batch"]
    files = [f for f in files if f.exists()]
    if not files:
        raise BenchmarkDataError(f"no CIFAR-10 training batches (data_batch_*) in {str(d)!r}")
    xs, ys = [], []
    for f in files:
        obj = _unpickle(f)
        if "data" not in obj or "labels" not in obj:
            raise BenchmarkDataError(f"{str(f)!r} lacks the 'data'/'labels' entries of a CIFAR-10 batch")
        xs.append(_rows_to_images(obj["data"], f, 32))
        ys.append(np.asarray(obj["labels"], dtype=np.int64))
    labels = np.concatenate(ys)
    _check_labels(labels, 10, str(d))
    mean, std = NORMALIZATION["cifar10"]
    return ImageDataset(torch.cat(xs), torch.from_numpy(labels), num_classes=10, mean=mean, std=std, name="cifar10")


@DATASETS.register("cifar100")
def _load_cifar100(root: str | os.PathLike | None, train: bool) -> ImageDataset:
    """CIFAR-100, official python layout ``cifar-100-python/{train,test}``, fine labels."""
    base = resolve_root(root, "cifar100")
    fname = "train" if train else "test"
    d = _first_dir(base, ["cifar100/cifar-100-python", "cifar-100-python", "cifar100", ""], fname)
    if d is None:
        raise BenchmarkDataError(
            f"CIFAR-100 not found under {str(base)!r}: expected cifar100/cifar-100-python/{{train,test}}"
        )
    f = d / fname
    obj = _unpickle(f)
    if "data" not in obj or "fine_labels" not in obj:
        raise BenchmarkDataError(f"{str(f)!r} lacks the 'data'/'fine_labels' entries of CIFAR-100")
    labels = np.asarray(obj["fine_labels"], dtype=np.int64)
    _check_labels(labels, 100, str(f))
    mean, std = NORMALIZATION["cifar100"]
    return ImageDataset(
        _rows_to_images(obj["data"], f, 32), torch.from_numpy(labels),
        num_classes=100, mean=mean, std=std, name="cifar100",
    )


# --- ImageNet16-120 ----------------------------------------------------------------------------
@DATASETS.register("imagenet16-120")
def _load_imagenet16(root: str | os.PathLike | None, train: bool) -> ImageDataset:
    """NAS-Bench-201's downsampled ImageNet (16x16), restricted to the first 120 classes.

    Files ``train_data_batch_1..10`` and ``val_data``: pickled dicts with ``'data'`` (N x 768 uint8,
    red plane then green then blue, 16x16 each) and ``'labels'`` (1-based, 1..1000). Images with
    label <= 120 are kept and labels shifted to 0..119.
    """
    base = resolve_root(root, "imagenet16-120")
    d = _first_dir(base, ["imagenet16", "ImageNet16", "imagenet16-120", "ImageNet16-120", ""], "val_data")
    if d is None:
        raise BenchmarkDataError(
            f"ImageNet16 not found under {str(base)!r}: expected imagenet16/{{train_data_batch_1..10,val_data}}"
        )
    files = [d / f"train_data_batch_{i}" for i in range(1, 11)] if train else [d / "val_data"]
    files = [f for f in files if f.exists()]
    if not files:
        raise BenchmarkDataError(f"no ImageNet16 training batches (train_data_batch_*) in {str(d)!r}")
    xs, ys = [], []
    for f in files:
        obj = _unpickle(f)
        if "data" not in obj or "labels" not in obj:
            raise BenchmarkDataError(f"{str(f)!r} lacks the 'data'/'labels' entries of an ImageNet16 batch")
        x = _rows_to_images(obj["data"], f, 16)
        y = np.asarray(obj["labels"], dtype=np.int64)
        if len(y) != len(x):
            raise BenchmarkDataError(f"{str(f)!r}: {len(x)} images but {len(y)} labels")
        if y.size and y.min() < 1:
            raise BenchmarkDataError(f"{str(f)!r}: ImageNet16 labels are 1-based, found {y.min()}")
        keep = y <= 120
        xs.append(x[torch.from_numpy(keep)])
        ys.append(y[keep] - 1)
    mean, std = NORMALIZATION["imagenet16-120"]
    return ImageDataset(
        torch.cat(xs), torch.from_numpy(np.concatenate(ys)),
        num_classes=120, mean=mean, std=std, name="imagenet16-120", crop_padding=2,
    )


# --- MNIST ------------------------------------------------------------------------------------
def _read_idx(path: Path) -> np.ndarray:
    opener: Callable = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise BenchmarkDataError(f"{str(path)!r} is too short to be an idx file")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise BenchmarkDataError(f"{str(path)!r} is not an unsigned-byte idx file")
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise BenchmarkDataError(f"{str(path)!r}: header says {dims} but holds {data.size} bytes")
    return data.reshape(dims)


def _find(d: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (d / name).exists():
            return d / name
    return None


@DATASETS.register("mnist")
def _load_mnist(root: str | os.PathLike | None, train: bool) -> ImageDataset:
    """MNIST from the standard idx files, else from ``mnist5k/mnist_5k.csv.gz``.

    idx files (optionally gzipped) are looked for in ``mnist/``, ``mnist/raw``, ``MNIST/raw`` or
    the root itself. The csv (784 pixel columns then the label) has no official split: every 5th
    row (i % 5 == 4) is the test set.
    """
    base = resolve_root(root, "mnist")
    prefix = "train" if train else "t10k"
    for sub in ("mnist", "mnist/raw", "MNIST/raw", ""):
        d = base / sub if sub else base
        xi, yi = _find(d, f"{prefix}-images-idx3-ubyte"), _find(d, f"{prefix}-labels-idx1-ubyte")
        if xi is not None and yi is not None:
            images = _read_idx(xi)
            labels = _read_idx(yi).astype(np.int64)
            if images.ndim != 3 or len(images) != len(labels):
                raise BenchmarkDataError(f"MNIST idx files in {str(d)!r} do not match")
            return _mnist(images[:, None].copy(), labels)
    for sub in ("mnist5k", "mnist", ""):
        csv = base / sub / "mnist_5k.csv.gz" if sub else base / "mnist_5k.csv.gz"
        if csv.exists():
            try:
                arr = np.loadtxt(csv, delimiter=",", dtype=np.int64)
            except ValueError as e:
                raise BenchmarkDataError(f"cannot parse {str(csv)!r}: {e}") from None
            if arr.ndim != 2 or arr.shape[1] != 785:
                raise BenchmarkDataError(f"{str(csv)!r}: expected 785 columns (784 pixels + label)")
            test = np.arange(len(arr)) % 5 == 4
            arr = arr[~test] if train else arr[test]
            return _mnist(arr[:, :784].astype(np.uint8).reshape(-1, 1, 28, 28), arr[:, 784])
    raise BenchmarkDataError(
        f"MNIST not found under {str(base)!r}: expected mnist/{prefix}-images-idx3-ubyte[.gz] + labels, "
        "or mnist5k/mnist_5k.csv.gz"
    )


def _mnist(images: np.ndarray, labels: np.ndarray) -> ImageDataset:
    _check_labels(labels, 10, "MNIST")
    mean, std = NORMALIZATION["mnist"]
    return ImageDataset(
        torch.from_numpy(np.ascontiguousarray(images, dtype=np.uint8)), torch.from_numpy(labels.astype(np.int64)),
        num_classes=10, mean=mean, std=std, name="mnist", crop_padding=2,
    )


# --- public entry point -----------------------------------------------------------------------
def load_dataset(
    name: str,
    root: str | os.PathLike | None = None,
    train: bool = True,
    *,
    size: int | None = None,
    max_samples: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> ImageDataset:
    """Load a dataset into memory as uint8 tensors.

    Args:
        name: ``digits`` (no files), ``cifar10``, ``cifar100``, ``imagenet16-120`` or ``mnist``.
        root: Data directory (default: ``$NASRANK_DATA``). Layout, each part optional::

            <root>/cifar10/cifar-10-batches-py/{data_batch_1..5,test_batch}
            <root>/cifar100/cifar-100-python/{train,test}
            <root>/imagenet16/{train_data_batch_1..10,val_data}
            <root>/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]  or
            <root>/mnist5k/mnist_5k.csv.gz

        train: Training part (``True``) or test part (``False``; ImageNet16: ``val_data``).
        size: Downsample images to ``size x size`` (e.g. 16 for cheap CIFAR experiments).
        max_samples: Keep a seeded random subset of at most this many examples.
        seed: Seed of the ``max_samples`` subset.
        device: Where the uint8 tensors are put (augmentation then runs there).

    Raises:
        UnknownNameError: unknown ``name`` (with suggestions).
        BenchmarkDataError: files missing or malformed.

    Example:
        >>> ds = load_dataset("digits")
        >>> ds.images.dtype, ds.image_shape, ds.num_classes
        (torch.uint8, (1, 8, 8), 10)
    """
    loader = DATASETS.get(name)
    if not isinstance(train, bool):
        raise ConfigError(f"`train` must be True or False, got {train!r}")
    ds: ImageDataset = loader(root, train)
    if max_samples is not None:
        ds = ds.sample(max_samples, seed=seed)
    if size is not None:
        ds = ds.downsample(size)
    return ds.to(device)


def list_datasets(pattern: str | None = None) -> list[str]:
    """Names accepted by :func:`load_dataset`.

    Example:
        >>> list_datasets("cifar*")
        ['cifar10', 'cifar100']
    """
    return DATASETS.list(pattern)
