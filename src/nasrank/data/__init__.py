"""Image datasets held in memory as uint8 tensors, with splits and batch-level augmentation.

:func:`load_dataset` returns an :class:`ImageDataset` (``images`` uint8 ``(N, C, H, W)``,
``labels`` int64, ``mean`` / ``std`` / ``num_classes`` / ``name``). ``digits`` (scikit-learn's
embedded 8x8 digits) needs no files; the others read the standard on-disk formats from ``root`` or
the directory named by ``$NASRANK_DATA``. Nothing here downloads anything.

NAS-Bench-201 ImageNet16-120 format: a directory with ``train_data_batch_1`` ..
``train_data_batch_10`` and ``val_data``, each a pickled dict with ``'data'`` (N x 768 uint8
rows: 16x16 red plane, then green, then blue) and ``'labels'`` (ints 1..1000, 1-based). The
120-class variant keeps labels <= 120 and maps them to 0..119.

Example:
    >>> from nasrank.data import load_dataset
    >>> train = load_dataset("digits")
    >>> tr, va = train.split(0.5, seed=0)   # NB201-style: train on half, validate on the other half
    >>> import torch
    >>> x, y = tr.batch(range(8), augment=True, generator=torch.Generator().manual_seed(0))
    >>> x.shape, x.dtype
    (torch.Size([8, 1, 8, 8]), torch.float32)
"""

from __future__ import annotations

import numpy as np

from ._dataset import ImageDataset, augment_batch
from ._loaders import (
    DATA_ENV_VAR,
    DATASETS,
    NORMALIZATION,
    list_datasets,
    load_dataset,
    resolve_root,
)
from ._spec import DataSpec

__all__ = [
    "ImageDataset",
    "DataSpec",
    "load_dataset",
    "list_datasets",
    "train_val_split",
    "augment_batch",
    "resolve_root",
    "DATASETS",
    "DATA_ENV_VAR",
    "NORMALIZATION",
]


def train_val_split(
    dataset: ImageDataset,
    val_fraction: float = 0.5,
    seed: int | np.random.Generator | None = 0,
    stratify: bool = False,
) -> tuple[ImageDataset, ImageDataset]:
    """Deterministic (train, validation) split; see :meth:`ImageDataset.split`.

    Example:
        >>> tr, va = train_val_split(load_dataset("digits"), 0.5, seed=1)
        >>> len(tr) + len(va) == len(load_dataset("digits"))
        True
    """
    return dataset.split(val_fraction, seed=seed, stratify=stratify)
