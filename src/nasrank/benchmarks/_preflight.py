"""Fail fast: check a training job's data and network before any training starts.

A training run that fails is a recorded outcome (an ``error`` record), which is right for a cell
that cannot be trained. It is wrong for a configuration that can train *nothing*: missing data,
a validation split larger than the dataset, ``C=0`` or a device this machine lacks would otherwise turn a whole search or
benchmark build into a column of error records. :func:`preflight` runs the parts of a
:class:`~nasrank.training.TrainJob` that do not depend on the architecture -- loading the data
split and building one network and passing two examples through it -- and raises the error
instead.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import ConfigError, NasrankError

__all__ = ["preflight"]


def preflight(job: Any) -> None:
    """Raise a one-line :class:`~nasrank.exceptions.NasrankError` if ``job`` cannot train at all.

    Loads ``job.data`` (cached per process, so the real run reuses it), builds ``job.arch``
    with ``job.space_config`` and runs a forward pass on two training examples.

    Example:
        >>> from nasrank.training import TrainJob
        >>> from nasrank.data import DataSpec
        >>> from nasrank.training import TrainConfig
        >>> job = TrainJob("nb201", "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|skip_connect~2|",
        ...                {"C": 0, "N": 1}, DataSpec("digits", val_size=100), TrainConfig(epochs=1))
        >>> preflight(job)
        Traceback (most recent call last):
        ...
        nasrank.exceptions.ConfigError: cannot build nb201 networks with {'C': 0, 'N': 1}: `C` must be an int >= 1, got 0
    """
    import torch

    from ..execution import resolve_device
    from ..spaces import SPACES

    resolve_device(getattr(job, "device", "cpu"))  # --device cuda without CUDA: one line, before any work
    space = SPACES.get(job.space)()
    arch = space.from_str(job.arch)
    train, val, test = job.data.load()  # missing files, sizes that do not fit: NasrankErrors
    if len(train) == 0:
        raise ConfigError(f"the training split of {job.data.dataset} is empty; lower --val-size or raise --train-size")
    batch = getattr(job.train, "batch_size", None)
    if isinstance(batch, int) and batch > len(train):
        raise ConfigError(
            f"batch size {batch} is larger than the {len(train)} training examples of {job.data.dataset}; "
            f"lower --batch-size or raise --train-size"
        )
    kw = dict(job.space_config)
    kw.setdefault("in_channels", train.image_shape[0])
    try:
        with torch.random.fork_rng(devices=[]):
            model = space.build(arch, num_classes=train.num_classes, **kw)
            x = train.images[:2].float()
            model.eval()
            with torch.no_grad():
                out = model(x)
    except NasrankError as exc:
        raise ConfigError(f"cannot build {space.name} networks with {dict(job.space_config)}: {exc}") from None
    except (RuntimeError, ValueError, TypeError) as exc:
        msg = " ".join(str(exc).split())[:300]
        raise ConfigError(
            f"a {space.name} network with {dict(job.space_config)} cannot run on {job.data.dataset} "
            f"images of shape {tuple(train.image_shape)}: {msg}"
        ) from None
    if tuple(out.shape) != (2, train.num_classes):
        raise ConfigError(
            f"a {space.name} network with {dict(job.space_config)} returns shape {tuple(out.shape)} "
            f"for 2 images, expected (2, {train.num_classes})"
        )
