"""In-memory image datasets stored as uint8 tensors, with seeded splits and batch augmentation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .._rng import as_generator
from .._validate import check_int
from ..exceptions import ConfigError

__all__ = ["ImageDataset", "augment_batch"]

IndexLike = "torch.Tensor | np.ndarray | Sequence[int] | slice"


def augment_batch(
    x: torch.Tensor,
    padding: int = 4,
    flip: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Random crop with zero padding and random horizontal flip of a whole batch at once.

    Equivalent, image by image, to ``RandomCrop(H, padding)`` followed by
    ``RandomHorizontalFlip()``: each image is zero-padded by ``padding`` pixels on every side, a
    window of the original size is cut at an offset drawn uniformly from ``0..2*padding`` in each
    direction, and the result is mirrored with probability 1/2. Implemented with one gather, no
    per-image Python loop, on ``x``'s device.

    Args:
        x: Batch of shape ``(B, C, H, W)`` (any floating or integer dtype). Pad *before*
            normalising to reproduce torchvision's zero padding of raw images.
        padding: Pixels of zero padding per side (0 disables cropping).
        flip: Whether to apply random horizontal flips.
        generator: Random generator on ``x``'s device (``None`` uses torch's global one).

    Returns:
        A new tensor of the same shape and dtype.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> augment_batch(torch.ones(2, 3, 8, 8), padding=2, generator=g).shape
        torch.Size([2, 3, 8, 8])
    """
    if x.dim() != 4:
        raise ConfigError(f"augment_batch expects a (B, C, H, W) tensor, got shape {tuple(x.shape)}")
    padding = check_int("padding", padding, 0)
    B, _, H, W = x.shape
    dev = x.device
    if padding > 0:
        xp = F.pad(x, (padding, padding, padding, padding))
        oy = torch.randint(0, 2 * padding + 1, (B,), device=dev, generator=generator)
        ox = torch.randint(0, 2 * padding + 1, (B,), device=dev, generator=generator)
        rows = oy[:, None] + torch.arange(H, device=dev)  # (B, H)
        cols = ox[:, None] + torch.arange(W, device=dev)  # (B, W)
        if flip:
            f = torch.rand(B, device=dev, generator=generator) < 0.5
            cols = torch.where(f[:, None], cols.flip(1), cols)
        bidx = torch.arange(B, device=dev)[:, None, None]
        # advanced indexing on dims 0, 2, 3 -> (B, H, W, C)
        out = xp.permute(0, 2, 3, 1)[bidx, rows[:, :, None], cols[:, None, :]]
        return out.permute(0, 3, 1, 2).contiguous()
    if flip:
        f = torch.rand(B, device=dev, generator=generator) < 0.5
        return torch.where(f[:, None, None, None], x.flip(3), x)
    return x.clone()


@dataclass(eq=False)
class ImageDataset:
    """An image classification dataset held in memory.

    ``images`` is a ``uint8`` tensor ``(N, C, H, W)`` with values 0-255 and ``labels`` an ``int64``
    tensor ``(N,)`` with values in ``0..num_classes-1``. ``mean`` / ``std`` are the per-channel
    normalisation constants (in units of 0-1 pixel values) of the dataset's standard pipeline.
    Indexing (``ds[i]``) returns a normalised float image and its label, like a
    :class:`torch.utils.data.TensorDataset`; training code should rather use :meth:`batch` /
    :meth:`batches`, which work on whole batches on the target device.

    Example:
        >>> ds = ImageDataset(torch.zeros(4, 1, 8, 8, dtype=torch.uint8), torch.arange(4) % 2,
        ...                   num_classes=2, mean=(0.5,), std=(0.25,), name="toy")
        >>> x, y = ds.batch([0, 1])
        >>> x.shape, float(x[0, 0, 0, 0]), y.tolist()
        (torch.Size([2, 1, 8, 8]), -2.0, [0, 1])
    """

    images: torch.Tensor
    labels: torch.Tensor
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    name: str = "dataset"
    #: zero padding of the random crop used by ``augment=True`` (NB201: 4 for 32x32, 2 for 16x16)
    crop_padding: int = 4
    _norm_cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.images, torch.Tensor) or self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ConfigError("`images` must be a uint8 tensor of shape (N, C, H, W)")
        if not isinstance(self.labels, torch.Tensor) or self.labels.dim() != 1:
            raise ConfigError("`labels` must be a 1-D tensor")
        self.labels = self.labels.to(torch.int64)
        if len(self.labels) != len(self.images):
            raise ConfigError(
                f"images and labels differ in length ({len(self.images)} vs {len(self.labels)})"
            )
        C = self.images.shape[1]
        self.mean = tuple(float(m) for m in self.mean)
        self.std = tuple(float(s) for s in self.std)
        if len(self.mean) != C or len(self.std) != C:
            raise ConfigError(f"mean/std need {C} values (one per channel), got {self.mean} / {self.std}")

    # --- basic container protocol ---------------------------------------------------------
    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.batch([i])
        return x[0], y[0]

    def __repr__(self) -> str:
        shape = "x".join(str(s) for s in self.images.shape[1:])
        return (
            f"ImageDataset(name={self.name!r}, n={len(self)}, shape={shape}, "
            f"num_classes={self.num_classes}, device={self.device})"
        )

    @property
    def device(self) -> torch.device:
        """Device the images live on."""
        return self.images.device

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def _replace(self, images: torch.Tensor, labels: torch.Tensor, **kw: object) -> ImageDataset:
        params = dict(
            num_classes=self.num_classes, mean=self.mean, std=self.std, name=self.name,
            crop_padding=self.crop_padding,
        )
        params.update(kw)
        return ImageDataset(images, labels, **params)  # type: ignore[arg-type]

    def to(self, device: str | torch.device) -> ImageDataset:
        """Copy of the dataset with its (uint8) tensors on ``device``; ``self`` if already there.

        Example:
            >>> toy = ImageDataset(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.zeros(2),
            ...                    num_classes=1, mean=(0.0,), std=(1.0,))
            >>> toy.to("cpu") is toy
            True
        """
        device = torch.device(device)
        if self.images.device == device:
            return self
        return self._replace(self.images.to(device), self.labels.to(device))

    # --- subsets and splits -----------------------------------------------------------------
    def subset(self, indices: IndexLike) -> ImageDataset:  # type: ignore[valid-type]
        """The examples at ``indices`` (in that order) as a new dataset.

        Example:
            >>> toy = ImageDataset(torch.zeros(5, 1, 4, 4, dtype=torch.uint8), torch.arange(5),
            ...                    num_classes=5, mean=(0.0,), std=(1.0,))
            >>> toy.subset([4, 0]).labels.tolist()
            [4, 0]
        """
        idx = self._as_index(indices)
        return self._replace(self.images[idx], self.labels[idx])

    def _as_index(self, indices: IndexLike) -> torch.Tensor | slice:  # type: ignore[valid-type]
        if isinstance(indices, slice):
            return indices
        idx = torch.as_tensor(np.asarray(indices) if not isinstance(indices, torch.Tensor) else indices)
        if idx.dtype == torch.bool:
            return idx.to(self.device)
        if idx.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8, torch.int8):
            raise ConfigError(f"indices must be integers, got dtype {idx.dtype}")
        idx = idx.to(device=self.device, dtype=torch.int64)
        if idx.numel() and (int(idx.max()) >= len(self) or int(idx.min()) < -len(self)):
            raise ConfigError(f"index out of range for a dataset of {len(self)} examples")
        return idx

    def split(
        self,
        val_fraction: float = 0.5,
        seed: int | np.random.Generator | None = 0,
        stratify: bool = False,
    ) -> tuple[ImageDataset, ImageDataset]:
        """Deterministic random (train, validation) split.

        With the default ``val_fraction=0.5`` this is the NAS-Bench-201 ``cifar10-valid`` style
        protocol: train on one half of the training set, validate on the other half. The
        permutation depends only on ``seed`` (NB201's own split file came from Python's
        ``random.seed(1021)``; this split is seeded through NumPy and is not index-identical).

        Args:
            val_fraction: Fraction of examples (rounded down) put in the validation part, in (0, 1).
            seed: Seed or Generator for the permutation.
            stratify: Split every class separately so both parts keep the class proportions.

        Example:
            >>> toy = ImageDataset(torch.zeros(10, 1, 4, 4, dtype=torch.uint8), torch.arange(10) % 2,
            ...                    num_classes=2, mean=(0.0,), std=(1.0,))
            >>> tr, va = toy.split(0.5, seed=0)
            >>> len(tr), len(va)
            (5, 5)
        """
        if not isinstance(val_fraction, (int, float)) or not 0.0 < float(val_fraction) < 1.0:
            raise ConfigError(f"`val_fraction` must be a float in (0, 1), got {val_fraction!r}")
        rng = as_generator(seed)
        n = len(self)
        if stratify:
            labels = self.labels.cpu().numpy()
            tr_parts, va_parts = [], []
            for c in np.unique(labels):
                idx = np.flatnonzero(labels == c)
                idx = idx[rng.permutation(len(idx))]
                k = int(len(idx) * val_fraction)
                va_parts.append(idx[:k])
                tr_parts.append(idx[k:])
            tr_idx = np.sort(np.concatenate(tr_parts))
            va_idx = np.sort(np.concatenate(va_parts))
        else:
            perm = rng.permutation(n)
            k = int(n * val_fraction)
            va_idx, tr_idx = np.sort(perm[:k]), np.sort(perm[k:])
        if len(tr_idx) == 0 or len(va_idx) == 0:
            raise ConfigError(
                f"split of {n} examples with val_fraction={val_fraction} leaves an empty part"
            )
        return self.subset(tr_idx), self.subset(va_idx)

    def proxy_batch(self, size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """The zero-cost proxy protocol's minibatch: the first ``size`` examples of a
        ``torch.randperm(len(self))`` seeded with ``seed``, normalised as ``(u8 / 255 - mean) / std``.

        The batch is on the dataset's device; the draw is made on the CPU, so it is the same on
        every device. Every proxy of one protocol reads a prefix of the same draw, so a proxy
        published at batch 64 and one at 128 see the same first 64 images (``nasrank proxies``, the proxy tables and
        :class:`~nasrank.search.ProxyScorer` all use it).

        Example:
            >>> toy = ImageDataset(torch.arange(4, dtype=torch.uint8).view(4, 1, 1, 1).expand(4, 1, 2, 2),
            ...                    torch.arange(4), num_classes=4, mean=(0.0,), std=(1.0,))
            >>> x, y = toy.proxy_batch(3, seed=0)
            >>> torch.equal(x[:, 0, 0, 0] * 255, y.float()), len(y)
            (True, 3)
        """
        size = check_int("size", size, 1)
        if size > len(self):
            raise ConfigError(f"a batch of {size} needs more than the {len(self)} examples of {self.name}")
        g = torch.Generator().manual_seed(check_int("seed", seed, 0))
        idx = torch.randperm(len(self), generator=g)[:size].to(self.images.device)  # same draw on any device
        c = self.images.shape[1]
        mean = torch.tensor(self.mean, dtype=torch.float32, device=self.images.device).view(1, c, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32, device=self.images.device).view(1, c, 1, 1)
        return (self.images[idx].float() / 255.0 - mean) / std, self.labels[idx]

    def sample(self, n: int, seed: int | np.random.Generator | None = 0) -> ImageDataset:
        """A seeded random subset of ``n`` examples (all of them if ``n >= len(self)``).

        Example:
            >>> toy = ImageDataset(torch.zeros(10, 1, 4, 4, dtype=torch.uint8), torch.arange(10),
            ...                    num_classes=10, mean=(0.0,), std=(1.0,))
            >>> len(toy.sample(3, seed=1))
            3
        """
        n = check_int("n", n, 1)
        if n >= len(self):
            return self
        idx = np.sort(as_generator(seed).permutation(len(self))[:n])
        return self.subset(idx)

    # --- transforms -------------------------------------------------------------------------
    def downsample(self, size: int) -> ImageDataset:
        """Resize every image to ``size x size`` (area averaging; antialiased bilinear otherwise).

        Also scales :attr:`crop_padding` (e.g. 4 at 32x32 -> 2 at 16x16, NB201's ImageNet16 value).

        Example:
            >>> toy = ImageDataset(torch.full((2, 3, 32, 32), 7, dtype=torch.uint8), torch.zeros(2),
            ...                    num_classes=1, mean=(0.0,) * 3, std=(1.0,) * 3)
            >>> small = toy.downsample(16)
            >>> small.images.shape, int(small.images.max()), small.crop_padding
            (torch.Size([2, 3, 16, 16]), 7, 2)
        """
        size = check_int("size", size, 1)
        _, _, H, W = self.images.shape
        if (H, W) == (size, size):
            return self
        out = []
        for chunk in torch.split(self.images, 4096):
            x = chunk.float()
            if H % size == 0 and W % size == 0:
                y = F.adaptive_avg_pool2d(x, size)
            else:
                y = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
            out.append(y.round_().clamp_(0, 255).to(torch.uint8))
        pad = max(0, int(round(self.crop_padding * size / max(H, W))))
        return self._replace(torch.cat(out), self.labels, crop_padding=pad)

    def _norm(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        key = str(device)
        if key not in self._norm_cache:
            mean = torch.tensor(self.mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
            std = torch.tensor(self.std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
            # x_norm = (u8 / 255 - mean) / std = u8 * scale + shift
            self._norm_cache[key] = (1.0 / (255.0 * std), -mean / std)
        return self._norm_cache[key]

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """Map uint8 (or 0-255 float) images to normalised float32 on their device.

        Example:
            >>> toy = ImageDataset(torch.zeros(1, 1, 2, 2, dtype=torch.uint8), torch.zeros(1),
            ...                    num_classes=1, mean=(0.5,), std=(0.5,))
            >>> toy.normalize(torch.full((1, 1, 2, 2), 255, dtype=torch.uint8)).flatten().tolist()
            [1.0, 1.0, 1.0, 1.0]
        """
        scale, shift = self._norm(images.device)
        return images.to(torch.float32) * scale + shift

    def batch(
        self,
        indices: IndexLike,  # type: ignore[valid-type]
        device: str | torch.device | None = None,
        augment: bool = False,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A normalised float32 batch ``(x, y)`` of the examples at ``indices``.

        Indexing, augmentation and normalisation happen on ``device`` (default: where the images
        are). Move the dataset once with :meth:`to` to avoid a host-to-device copy per batch.

        Args:
            indices: Integer indices (tensor, array, list) or a slice.
            device: Device of the returned tensors.
            augment: Random crop (padding :attr:`crop_padding`) + horizontal flip.
            generator: torch Generator on ``device`` driving the augmentation.

        Example:
            >>> toy = ImageDataset(torch.zeros(4, 1, 8, 8, dtype=torch.uint8), torch.arange(4),
            ...                    num_classes=4, mean=(0.0,), std=(1.0,))
            >>> x, y = toy.batch(slice(0, 3), augment=True, generator=torch.Generator().manual_seed(0))
            >>> x.dtype, x.shape, y.tolist()
            (torch.float32, torch.Size([3, 1, 8, 8]), [0, 1, 2])
        """
        return self._gather(self._as_index(indices), device, augment, generator)

    def _gather(
        self,
        idx: torch.Tensor | slice,
        device: str | torch.device | None,
        augment: bool,
        generator: torch.Generator | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # no validation here: called per training step with trusted indices (no host sync)
        u8 = self.images[idx]
        y = self.labels[idx]
        if device is not None:
            u8 = u8.to(device, non_blocking=True)
            y = y.to(device, non_blocking=True)
        if augment:
            # pad/crop in raw pixel space (zeros = black), then normalise: matches torchvision
            u8 = augment_batch(u8, padding=self.crop_padding, flip=True, generator=generator)
        return self.normalize(u8), y

    def batches(
        self,
        batch_size: int,
        shuffle: bool = False,
        seed: int | np.random.Generator | None = 0,
        device: str | torch.device | None = None,
        augment: bool = False,
        drop_last: bool = False,
        generator: torch.Generator | None = None,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Iterate over the dataset in batches (one pass = one epoch).

        Args:
            batch_size: Examples per batch.
            shuffle: Visit the examples in a random order drawn from ``seed``.
            seed: Seed or numpy Generator of the order (pass one Generator for a new order each epoch).
            device: Device of the returned tensors.
            augment: Batch-level random crop + flip (see :meth:`batch`).
            drop_last: Skip the final incomplete batch.
            generator: torch Generator on ``device`` for the augmentation.

        Example:
            >>> toy = ImageDataset(torch.zeros(5, 1, 4, 4, dtype=torch.uint8), torch.arange(5),
            ...                    num_classes=5, mean=(0.0,), std=(1.0,))
            >>> [y.tolist() for _, y in toy.batches(2)]
            [[0, 1], [2, 3], [4]]
        """
        batch_size = check_int("batch_size", batch_size, 1)
        n = len(self)
        order = (
            torch.from_numpy(as_generator(seed).permutation(n)).to(self.device)
            if shuffle
            else torch.arange(n, device=self.device)
        )
        stop = n - n % batch_size if drop_last else n
        for start in range(0, stop, batch_size):
            yield self._gather(order[start : start + batch_size], device, augment, generator)

    def channel_stats(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel mean and std of the pixels (in 0-1 units), computed from the data.

        Example:
            >>> toy = ImageDataset(torch.full((2, 1, 2, 2), 51, dtype=torch.uint8), torch.zeros(2),
            ...                    num_classes=1, mean=(0.0,), std=(1.0,))
            >>> toy.channel_stats()
            ((0.2,), (0.0,))
        """
        x = self.images.to(torch.float64).div_(255.0)
        mean = x.mean(dim=(0, 2, 3))
        std = x.std(dim=(0, 2, 3), unbiased=False)
        return tuple(round(float(v), 6) for v in mean), tuple(round(float(v), 6) for v in std)
