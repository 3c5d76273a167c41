"""A plain, hashable description of a train / validation / test split of a dataset."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .._validate import check_int, check_opt_int
from ..exceptions import ConfigError
from ._dataset import ImageDataset
from ._loaders import DATASETS, load_dataset

__all__ = ["DataSpec"]

_CACHE: dict[tuple, tuple[ImageDataset, ImageDataset, ImageDataset | None]] = {}


@dataclass(frozen=True)
class DataSpec:
    """Which examples a training run uses: reproducible from these fields alone.

    The validation part is drawn from the dataset's *training* part (disjoint from the training
    examples, like NB201's ``cifar10-valid``); the test part from its test part.

    Attributes:
        dataset: Dataset name (see :func:`~nasrank.data.list_datasets`).
        root: Data directory (not part of :meth:`key`: moving the files keeps the identity).
        image_size: Downsample to ``image_size x image_size`` (``None``: native).
        train_size: Training examples (``None``: every example not used for validation).
        val_size: Validation examples taken from the training part (``0``: no validation set).
        test_size: Test examples (``None``: the whole test part; ``0``: no test set).
        seed: Seed of the subsets.

    Example:
        >>> tr, va, te = DataSpec("digits", val_size=300, test_size=100).load()
        >>> len(va), len(te), len(tr) + len(va)
        (300, 100, 1498)
    """

    dataset: str = "digits"
    root: str | None = None
    image_size: int | None = None
    train_size: int | None = None
    val_size: int = 0
    test_size: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        DATASETS.get(self.dataset)  # unknown names fail here, with suggestions
        check_opt_int("image_size", self.image_size, 1)
        check_opt_int("train_size", self.train_size, 1)
        check_int("val_size", self.val_size, 0)
        check_int("seed", self.seed, 0)
        check_opt_int("test_size", self.test_size, 0)
        if self.root is not None:
            object.__setattr__(self, "root", os.fspath(self.root))

    def key(self) -> dict[str, Any]:
        """The fields that define the examples (everything but ``root``)."""
        d = asdict(self)
        d.pop("root")
        return d

    def load(self) -> tuple[ImageDataset, ImageDataset | None, ImageDataset | None]:
        """``(train, val, test)``; ``val`` / ``test`` are ``None`` when their size is 0.

        Loaded sets are cached per process (worker processes load each spec once).
        """
        k = (tuple(sorted(self.key().items())), self.root)
        if k not in _CACHE:
            _CACHE[k] = self._load()
        return _CACHE[k]

    def _load(self) -> tuple[ImageDataset, ImageDataset | None, ImageDataset | None]:
        pool = load_dataset(self.dataset, root=self.root, train=True)
        rng = np.random.default_rng(self.seed)
        perm = rng.permutation(len(pool))
        need = self.val_size + (self.train_size or 0)
        if need > len(pool) or self.val_size >= len(pool):
            raise ConfigError(
                f"{self.dataset} has {len(pool)} training examples; train_size={self.train_size} + "
                f"val_size={self.val_size} do not fit: lower the validation size (--val-size) or the "
                f"training size (--train-size)"
            )
        va_idx = np.sort(perm[: self.val_size])
        rest = perm[self.val_size :]
        tr_idx = np.sort(rest if self.train_size is None else rest[: self.train_size])
        train = pool.subset(tr_idx)
        val = pool.subset(va_idx) if self.val_size else None
        test = None
        if self.test_size != 0:
            test = load_dataset(self.dataset, root=self.root, train=False)
            if self.test_size is not None:
                test = test.sample(self.test_size, seed=self.seed)
        if self.image_size is not None:
            train = train.downsample(self.image_size)
            val = None if val is None else val.downsample(self.image_size)
            test = None if test is None else test.downsample(self.image_size)
        return train, val, test
