"""Supernet checkpoints: a method's whole state in one safetensors file, no pickle anywhere.

A checkpoint is a `safetensors <https://huggingface.co/docs/safetensors>`_ file. Its tensors are
the tensors of :meth:`SupernetMethod.state_dict() <nasrank.oneshot.SupernetMethod.state_dict>`
(supernet weights and buffers, optimiser state, ...), each named by its path in the nested state
joined with ``/`` (``supernet/stem.0.weight``, ``optimizer/state/3/momentum_buffer``). Its
metadata (string -> string) holds everything else, as JSON:

* ``format`` = ``"nasrank-supernet"``, ``format_version`` = ``"1"``, ``nasrank_version``;
* ``method``: :meth:`SupernetMethod.config` (rebuilds the method with
  :func:`~nasrank.oneshot.create_supernet_method`);
* ``train``: the trainer's record (:func:`~nasrank.oneshot.train_supernet` writes its config,
  ``epochs_done``, per-epoch ``history``, ``diverged`` and the ``data`` key);
* ``state``: the skeleton of the nested state, tensors replaced by ``{"$tensor": name}``;
* ``tensors_sha256``: SHA-256 over every tensor's name, dtype, shape and bytes (in name order),
  checked on load: a file damaged after the header is refused, not silently loaded.

The JSON is strict (no ``NaN``) and keeps python types a plain JSON value would lose, through
one-key tag objects: dicts whose keys are not all plain strings (a torch optimiser's int keys) are
``{"$dict": [[key, value], ...]}``, tuples ``{"$tuple": [...]}``, non-finite floats
``{"$float": "nan"}``, numpy scalars ``{"$np": [dtype, value]}`` and numpy arrays
``{"$ndarray": name}`` (stored as tensors), so everything comes back with the same types.

Reading uses ``safetensors`` and ``json`` only, so loading a checkpoint never runs code. Files are
written atomically (temporary file + rename): an interrupted save leaves the previous checkpoint.
Every problem is a one-line :class:`CheckpointError` (a :class:`~nasrank.exceptions.ConfigError`).

Example:
    >>> import os, tempfile, torch
    >>> from nasrank.oneshot import create_supernet_method
    >>> m = create_supernet_method("spos", "nb201", supernet_config={"C": 2, "N": 1})
    >>> _ = m.step((torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 3])))
    >>> path = os.path.join(tempfile.mkdtemp(), "spos.safetensors")
    >>> save_checkpoint(path, m, {"epochs_done": 1})
    >>> ck = load_checkpoint(path, space="nb201")
    >>> ck.method.steps, ck.epochs_done, ck.info["method"]["name"]
    (1, 1, 'spos')
    >>> load_checkpoint(path, space="darts")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nasrank.oneshot._checkpoint.CheckpointError: checkpoint '...spos.safetensors' holds a nb201 supernet, not darts; give a checkpoint trained on darts
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._validate import atomic_write, output_file
from ..exceptions import ConfigError, NasrankError
from ..spaces.base import SearchSpace
from ._methods import SupernetMethod, create_supernet_method

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_FORMAT_VERSION",
    "Checkpoint",
    "CheckpointError",
    "save_checkpoint",
    "load_checkpoint",
    "read_checkpoint_info",
]

#: Value of the ``format`` metadata entry of a supernet checkpoint.
CHECKPOINT_FORMAT = "nasrank-supernet"
#: Version of the checkpoint layout written (and the newest one read) by this nasrank.
CHECKPOINT_FORMAT_VERSION = 1


class CheckpointError(ConfigError):
    """A supernet checkpoint is missing, unreadable, damaged, foreign or does not fit the request."""


@dataclass
class Checkpoint:
    """A loaded supernet checkpoint.

    Attributes:
        path: The file.
        method: The restored :class:`~nasrank.oneshot.SupernetMethod` (continues exactly where the
            saved one stood).
        train: The trainer's record (``config``, ``epochs_done``, ``history``, ``data``), ``{}``
            when the checkpoint was saved outside :func:`~nasrank.oneshot.train_supernet`.
        epochs_done: Training epochs completed (``train["epochs_done"]``, 0 when absent).
        info: :func:`read_checkpoint_info` of the file.
    """

    path: Path
    method: SupernetMethod
    train: dict[str, Any] = field(default_factory=dict)
    epochs_done: int = 0
    info: dict[str, Any] = field(default_factory=dict)


def _nasrank_version() -> str:
    """The installed distribution's version (the package root is the facade: not imported here)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nasrank")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


# --- the state skeleton: nested python values <-> JSON + named tensors -------------------------

_TAGS = ("$tensor", "$dict", "$tuple", "$float", "$np", "$ndarray")


class _Flattener:
    """Turns a nested state into a JSON-able skeleton and a flat ``name -> tensor`` dict."""

    def __init__(self) -> None:
        self.tensors: dict[str, torch.Tensor] = {}
        self._storages: set[tuple[int, int]] = set()

    def _name(self, path: tuple[str, ...]) -> str:
        base = "/".join(path) or "tensor"
        name, i = base, 1
        while name in self.tensors:  # e.g. keys 1 and "1" of one dict
            name, i = f"{base}#{i}", i + 1
        return name

    def _add(self, path: tuple[str, ...], t: torch.Tensor) -> str:
        t = t.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        storage = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
        # safetensors refuses tensors sharing memory and non-contiguous views: copy those
        if (not t.is_contiguous() or storage in self._storages
                or t.untyped_storage().nbytes() != t.numel() * t.element_size()):
            t = t.contiguous().clone()
        else:
            self._storages.add(storage)
        name = self._name(path)
        self.tensors[name] = t
        return name

    def encode(self, value: Any, path: tuple[str, ...] = ()) -> Any:
        if isinstance(value, torch.Tensor):
            return {"$tensor": self._add(path, value)}
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                raise CheckpointError(f"cannot store a numpy object array ({'/'.join(path)}) in "
                                      "a checkpoint; use numbers or tensors")
            return {"$ndarray": self._add(path, torch.from_numpy(np.ascontiguousarray(value)))}
        if isinstance(value, np.generic):
            return {"$np": [value.dtype.str, self.encode(value.item(), path)]}
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"$float": repr(value)}
        if isinstance(value, tuple):
            return {"$tuple": [self.encode(v, (*path, str(i))) for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self.encode(v, (*path, str(i))) for i, v in enumerate(value)]
        if isinstance(value, Mapping):
            keys = list(value)
            if all(isinstance(k, str) and not k.startswith("$") for k in keys):
                return {k: self.encode(value[k], (*path, k)) for k in keys}
            for k in keys:
                if not (k is None or isinstance(k, (bool, int, float, str))):
                    raise CheckpointError(f"cannot store a dict key of type {type(k).__name__} "
                                          f"({'/'.join(path)}) in a checkpoint")
            return {"$dict": [[k, self.encode(value[k], (*path, str(k)))] for k in keys]}
        raise CheckpointError(f"cannot store a value of type {type(value).__name__} "
                              f"({'/'.join(path) or 'state'}) in a checkpoint; state values must be "
                              "tensors, numbers, strings, None, lists, tuples or dicts")


def _decode(value: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (tag, inner), = value.items()
        if tag == "$tensor":
            return tensors[inner]
        if tag == "$ndarray":
            return tensors[inner].numpy()
        if tag == "$tuple":
            return tuple(_decode(v, tensors) for v in inner)
        if tag == "$dict":
            return {k: _decode(v, tensors) for k, v in inner}
        if tag == "$float":
            return float(inner)
        if tag == "$np":
            return np.dtype(inner[0]).type(_decode(inner[1], tensors))
    return {k: _decode(v, tensors) for k, v in value.items()}


def _tensor_refs(value: Any, out: set[str]) -> set[str]:
    if isinstance(value, list):
        for v in value:
            _tensor_refs(v, out)
    elif isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in ("$tensor", "$ndarray"):
            out.add(next(iter(value.values())))
        elif len(value) == 1 and next(iter(value)) == "$dict":
            for _, v in next(iter(value.values())):
                _tensor_refs(v, out)
        else:
            for v in value.values():
                _tensor_refs(v, out)
    return out


def _digest(tensors: Mapping[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name]
        h.update(json.dumps([name, str(t.dtype), list(t.shape)]).encode())
        if t.numel():
            h.update(memoryview(t.contiguous().reshape(-1).view(torch.uint8).numpy()))
    return h.hexdigest()


def _dumps(value: Any, what: str) -> str:
    """Strict JSON of a tensor-free value (same tags as the state skeleton)."""
    flat = _Flattener()
    encoded = flat.encode(value)
    if flat.tensors:
        raise CheckpointError(f"cannot store tensors in {what} of a checkpoint; use numbers")
    return json.dumps(encoded, allow_nan=False)


# --- save / load ------------------------------------------------------------------------------

def save_checkpoint(path: str | os.PathLike, method: SupernetMethod,
                    train: Mapping[str, Any] | None = None) -> None:
    """Write ``method``'s whole state (and the trainer's record ``train``) to ``path``.

    The file is replaced atomically; see the module docstring for the layout.

    Args:
        path: Checkpoint file (``.safetensors`` by convention); its directory must exist.
        method: The supernet method to save.
        train: JSON-able record of the training so far (``epochs_done``, ``history``, ...).

    Example:
        >>> import os, tempfile
        >>> from safetensors import safe_open
        >>> from nasrank.oneshot import create_supernet_method
        >>> m = create_supernet_method("spos", "nb201", supernet_config={"C": 2, "N": 1})
        >>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
        >>> save_checkpoint(path, m, {"epochs_done": 0})
        >>> with safe_open(path, "pt") as f:
        ...     sorted(f.metadata())[:3], "supernet/stem.0.weight" in f.keys()
        (['format', 'format_version', 'method'], True)
    """
    from safetensors.torch import save

    p = output_file(path, "checkpoint")
    flat = _Flattener()
    skeleton = flat.encode(method.state_dict())
    metadata = {
        "format": CHECKPOINT_FORMAT,
        "format_version": str(CHECKPOINT_FORMAT_VERSION),
        "nasrank_version": _nasrank_version(),
        "method": _dumps(method.config(), "the method config"),
        "train": _dumps(dict(train or {}), "the training record"),
        "state": json.dumps(skeleton, allow_nan=False),
        "tensors_sha256": _digest(flat.tensors),
    }
    data = save(flat.tensors, metadata=metadata)
    atomic_write(p, lambda f: f.write(data))


def _file(path: str | os.PathLike) -> Path:
    p = Path(os.fspath(path)).expanduser()
    if p.is_dir():
        raise CheckpointError(f"checkpoint {str(path)!r} is a directory, not a file; give the "
                              "checkpoint file")
    if not p.exists():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist; give the path of a file "
                              "written by `nasrank oneshot train` (train_supernet)")
    return p


def _open_metadata(p: Path) -> dict[str, str]:
    """The metadata of a nasrank supernet checkpoint (checked), without reading any tensor."""
    from safetensors import safe_open

    try:
        with safe_open(str(p), "pt") as f:
            meta = f.metadata() or {}
    except Exception as e:  # SafetensorError, OSError, ...: the header is not readable
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"checkpoint {str(p)!r} is not a readable safetensors file "
                              f"(truncated or corrupted?): {detail}") from None
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"file {str(p)!r} is a safetensors file but not a nasrank supernet "
                              f"checkpoint (no format={CHECKPOINT_FORMAT!r} metadata)")
    try:
        version = int(meta.get("format_version", ""))
    except ValueError:
        raise CheckpointError(f"checkpoint {str(p)!r} has an invalid format_version "
                              f"{meta.get('format_version')!r}; the file is corrupted") from None
    if version > CHECKPOINT_FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {str(p)!r} has format version {version}, newer than this nasrank "
            f"({_nasrank_version()}) reads (<= {CHECKPOINT_FORMAT_VERSION}); upgrade nasrank")
    for key in ("method", "train", "state", "tensors_sha256"):
        if key not in meta:
            raise CheckpointError(f"checkpoint {str(p)!r} lacks its {key!r} metadata; the file is "
                                  "corrupted or was not written by nasrank")
    return meta


def _json(p: Path, meta: Mapping[str, str], key: str) -> Any:
    try:
        value = json.loads(meta[key])
        return value if key == "state" else _decode(value, {})
    except (ValueError, KeyError, TypeError, IndexError):
        raise CheckpointError(f"checkpoint {str(p)!r} has corrupted {key!r} metadata (not JSON)"
                              ) from None


def _info(p: Path, meta: Mapping[str, str]) -> dict[str, Any]:
    method = _json(p, meta, "method")
    train = _json(p, meta, "train")
    if not isinstance(method, dict) or not isinstance(method.get("name"), str) \
            or not isinstance(method.get("space"), str) or not isinstance(train, dict):
        raise CheckpointError(f"checkpoint {str(p)!r} has corrupted method/train metadata")
    return {
        "path": str(p),
        "format_version": int(meta["format_version"]),
        "nasrank_version": meta.get("nasrank_version", "unknown"),
        "method": method,
        "space": method["space"],
        "train": train,
        "epochs_done": int(train.get("epochs_done", 0)),
        "bytes": p.stat().st_size,
    }


def read_checkpoint_info(path: str | os.PathLike) -> dict[str, Any]:
    """What a checkpoint holds, from its header alone (no tensor is read).

    Returns:
        ``{"path", "format_version", "nasrank_version", "method" (config dict), "space",
        "train" (trainer record), "epochs_done", "bytes"}``.

    Example:
        >>> import os, tempfile
        >>> from nasrank.oneshot import create_supernet_method
        >>> m = create_supernet_method("spos", "nb201", supernet_config={"C": 2, "N": 1})
        >>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
        >>> save_checkpoint(path, m, {"epochs_done": 3})
        >>> info = read_checkpoint_info(path)
        >>> info["space"], info["epochs_done"], info["method"]["supernet_config"]
        ('nb201', 3, {'C': 2, 'N': 1})
    """
    p = _file(path)
    return _info(p, _open_metadata(p))


def _space_name(space: str | SearchSpace) -> str:
    if isinstance(space, SearchSpace):
        return space.name
    if isinstance(space, str):
        return space
    raise ConfigError(f"`space` must be a space name or a SearchSpace, got {type(space).__name__}")


def _read_state(path: str | os.PathLike, space: str | SearchSpace | None = None
                ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(info, state)`` of a checkpoint, every stored tensor checked against the checksum."""
    from safetensors import safe_open

    p = _file(path)
    meta = _open_metadata(p)
    info = _info(p, meta)
    if space is not None and _space_name(space) != info["space"]:
        raise CheckpointError(f"checkpoint {str(path)!r} holds a {info['space']} supernet, not "
                              f"{_space_name(space)}; give a checkpoint trained on "
                              f"{_space_name(space)}")
    skeleton = _json(p, meta, "state")
    try:
        with safe_open(str(p), "pt") as f:
            names = set(f.keys())
            tensors = {k: f.get_tensor(k) for k in sorted(names)}
    except Exception as e:
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"checkpoint {str(path)!r} is truncated or corrupted: {detail}"
                              ) from None
    if _digest(tensors) != meta["tensors_sha256"]:
        raise CheckpointError(f"checkpoint {str(path)!r} is corrupted: its tensors do not match "
                              "their checksum; use an intact copy or train again")
    missing = _tensor_refs(skeleton, set()) - names
    if missing:
        raise CheckpointError(f"checkpoint {str(path)!r} is corrupted: tensor "
                              f"{sorted(missing)[0]!r} is missing")
    state = _decode(skeleton, tensors)
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {str(path)!r} has corrupted 'state' metadata")
    return info, state


def _restore(path: str | os.PathLike, method: SupernetMethod, state: Mapping[str, Any]) -> None:
    """Load ``state`` into ``method``; a state that does not fit is a :class:`CheckpointError`."""
    try:
        method.load_state_dict(state)
    except (NasrankError, RuntimeError, KeyError, ValueError, TypeError, IndexError) as e:
        detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"checkpoint {str(path)!r} holds a state that does not fit its "
                              f"{method.name} method: {detail}") from None


def _to_device(method: SupernetMethod, device: torch.device) -> None:
    """Move ``method`` (supernet, architecture parameters, optimiser state) to ``device``."""
    first = next(iter(method.supernet.parameters()), None)
    if first is None or first.device == device:
        return
    method.to(device)  # SupernetMethod.to, or a method's own (device-bound state of its own)


def load_checkpoint(path: str | os.PathLike, *, space: str | SearchSpace | None = None,
                    device: str | torch.device = "cpu") -> Checkpoint:
    """Load a checkpoint: rebuild its method from the stored config and restore its state.

    The file holds CPU tensors whatever device it was trained on, so it loads anywhere.

    Args:
        path: A file written by :func:`save_checkpoint`.
        space: The space the caller expects (name or instance); a checkpoint of another space is
            refused. A :class:`~nasrank.spaces.base.SearchSpace` instance is also used to build
            the method (e.g. a space with custom settings).
        device: Where the restored method lives (``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``
            or ``"auto"``; see :func:`nasrank.execution.resolve_device`).

    Raises:
        CheckpointError: missing / unreadable / damaged / foreign file, newer format, other space,
            or a state that does not fit the method its config builds.
    """
    from ..execution import resolve_device

    dev = resolve_device(device)  # an unavailable device fails before anything is read
    info, state = _read_state(path, space)
    cfg = dict(info["method"])
    name = cfg.pop("name")
    space_arg: str | SearchSpace = space if isinstance(space, SearchSpace) else cfg["space"]
    cfg.pop("space")
    seed = cfg.pop("seed", 0)
    try:
        method = create_supernet_method(name, space_arg, seed=seed, **cfg)
    except NasrankError as e:
        raise CheckpointError(f"checkpoint {str(path)!r} cannot be restored by this nasrank: "
                              f"{e}") from None
    _restore(path, method, state)
    _to_device(method, dev)
    return Checkpoint(path=Path(info["path"]), method=method, train=info["train"],
                      epochs_done=info["epochs_done"], info=info)
