"""Where and how tensors are computed: device choice, mixed precision, compilation, out-of-memory.

Everything here is opt-in and local: nothing sets a global torch flag on import, nothing picks a
GPU unless asked (``"auto"`` asks). A pool worker of
:class:`~nasrank.execution.ProcessExecutor` can be *assigned* a device; ``"auto"`` (and a bare
``"cuda"``) then resolve to that device, so one evaluation function runs unchanged on a CPU, on
one GPU or spread over several.
"""

from __future__ import annotations

import contextlib
import gc
import platform
import warnings
from collections.abc import Callable
from typing import Any

from ..exceptions import ConfigError

__all__ = [
    "DEVICE_HELP", "PRECISIONS", "check_device_name", "placement", "resolve_device", "device_info", "visible_devices", "assigned_device",
    "resolve_precision", "autocast", "grad_scaler", "compile_model", "CompiledForward",
    "is_out_of_memory", "release_memory",
]

#: What ``device`` accepts, for help texts and error messages.
DEVICE_HELP = "auto, cpu, cuda, cuda:N or mps"
#: Canonical precision names: float32, bfloat16 autocast, float16 autocast with loss scaling.
PRECISIONS = ("32", "bf16", "16")
_PRECISION_ALIASES = {
    "32": "32", "fp32": "32", "float32": "32", "full": "32",
    "bf16": "bf16", "bfloat16": "bf16",
    "16": "16", "fp16": "16", "float16": "16", "half": "16",
}

# The device this process was assigned by the executor that started it (None: not a pool worker,
# or no devices were given). Set once in the worker's initializer, read by resolve_device.
_ASSIGNED: str | None = None


def _assign(device: str | None) -> None:
    """Make ``device`` the target of ``"auto"`` in this process (called in pool workers)."""
    global _ASSIGNED
    _ASSIGNED = device


def assigned_device() -> Any:
    """The device an executor assigned to this worker process, or ``None``.

    Example:
        >>> assigned_device() is None  # the main process has no assignment
        True
    """
    import torch

    return None if _ASSIGNED is None else torch.device(_ASSIGNED)


def visible_devices() -> list[str]:
    """The CUDA devices this process can use (``["cuda:0", ...]``); empty without CUDA.

    Example:
        >>> isinstance(visible_devices(), list)
        True
    """
    import torch

    if not torch.cuda.is_available():
        return []
    return [f"cuda:{i}" for i in range(torch.cuda.device_count())]


def _no_cuda_hint() -> str:
    import torch

    if torch.version.cuda is None:
        return f"this PyTorch ({torch.__version__}) is a CPU-only build"
    return "torch.cuda.is_available() is False (no GPU visible: check the driver and CUDA_VISIBLE_DEVICES)"


def resolve_device(device: Any = "auto") -> Any:
    """The :class:`torch.device` that ``device`` names, checked to exist here.

    ``"auto"`` (or ``None``) is the device assigned to this worker by the executor if any, else the
    first CUDA device if one is visible, else the CPU. ``"cuda"`` is the assigned CUDA device or
    ``cuda:0``; ``"cuda:N"`` and ``"mps"`` must exist. Anything else, or a device this machine does
    not have, is a one-line :class:`~nasrank.exceptions.ConfigError` naming the fix.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
        >>> resolve_device("gpu")
        Traceback (most recent call last):
        ...
        nasrank.exceptions.ConfigError: unknown device 'gpu': use auto, cpu, cuda, cuda:N or mps
    """
    import torch

    if device is None:
        device = "auto"
    if isinstance(device, torch.device):
        text = str(device)
    elif isinstance(device, str):
        text = device.strip().lower()
    else:
        raise ConfigError(f"device must be a string ({DEVICE_HELP}) or a torch.device, got {type(device).__name__}")
    if text == "auto":
        if _ASSIGNED is not None:
            return torch.device(_ASSIGNED)
        return torch.device("cuda:0") if torch.cuda.is_available() else torch.device("cpu")
    if text == "cpu":
        return torch.device("cpu")
    if text == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ConfigError("device 'mps' is not available on this machine: use --device cpu (or auto)")
        return torch.device("mps")
    if text == "cuda" or text.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {text!r} needs CUDA, but {_no_cuda_hint()}: use --device cpu (or auto)")
        if text == "cuda":
            if _ASSIGNED is not None and _ASSIGNED.startswith("cuda"):
                return torch.device(_ASSIGNED)
            return torch.device("cuda:0")
        idx = text[5:]
        if not idx.isdigit():
            raise ConfigError(f"unknown device {device!r}: use {DEVICE_HELP} (N a GPU index such as 0)")
        n = torch.cuda.device_count()
        if int(idx) >= n:
            raise ConfigError(f"device {text!r} does not exist: {n} CUDA device(s) visible (cuda:0 to cuda:{n - 1})")
        return torch.device(text)
    raise ConfigError(f"unknown device {device!r}: use {DEVICE_HELP}")


def check_device_name(device: Any, name: str = "device") -> str:
    """``device`` as the lower-case string a worker resolves (``"auto"``, ``"cpu"``, ``"cuda"``,
    ``"cuda:N"`` or ``"mps"``); a misspelt one is a one-line :class:`ConfigError`.

    Only the spelling is checked: whether the device exists is checked where it is used
    (:func:`resolve_device`, in the process that computes), so a job for remote GPU workers can
    be described on a machine without one.

    Example:
        >>> check_device_name("CUDA:1"), check_device_name("auto")
        ('cuda:1', 'auto')
        >>> check_device_name("gpu")
        Traceback (most recent call last):
        ...
        nasrank.exceptions.ConfigError: unknown device 'gpu': use auto, cpu, cuda, cuda:N or mps
    """
    import torch

    text = str(device) if isinstance(device, torch.device) else device
    if not isinstance(text, str):
        raise ConfigError(f"`{name}` must be a string ({DEVICE_HELP}), got {type(device).__name__}")
    text = text.strip().lower()
    if text in ("auto", "cpu", "cuda", "mps") or (text.startswith("cuda:") and text[5:].isdigit()):
        return text
    raise ConfigError(f"unknown device {device!r}: use {DEVICE_HELP}")


def placement(executor: str, device: Any, workers_per_device: int | None = None,
              gpus_per_task: float = 0.0) -> dict[str, Any]:
    """Keyword arguments of :func:`~nasrank.execution.create_executor` that put evaluations on ``device``.

    With the ``processes`` executor, ``"auto"`` and ``"cuda"`` spread the workers round-robin over
    every visible GPU (none visible: no assignment, the workers use the CPU), ``"cuda:N"`` puts
    them all on that GPU, ``workers_per_device`` sets the workers per GPU; with ``ray``,
    ``gpus_per_task`` is the GPU share each task requests. Each option given to the wrong
    executor is a one-line :class:`ConfigError`.

    Example:
        >>> placement("processes", "auto", 2)
        {'devices': 'auto', 'workers_per_device': 2}
        >>> placement("processes", "cuda:1"), placement("processes", "cpu"), placement("serial", "auto")
        ({'devices': ['cuda:1']}, {}, {})
        >>> placement("ray", "auto", gpus_per_task=0.5)
        {'gpus_per_task': 0.5}
    """
    from .._validate import check_float, check_opt_int

    check_opt_int("workers_per_device", workers_per_device, 1)
    gpus = check_float("gpus_per_task", gpus_per_task, minimum=0.0)
    if workers_per_device is not None and executor != "processes":
        raise ConfigError("--workers-per-device applies to --executor processes (with ray, use --gpus-per-task)")
    if gpus > 0 and executor != "ray":
        raise ConfigError("--gpus-per-task applies to --executor ray (with processes, use --workers-per-device)")
    if executor == "ray":
        return {"gpus_per_task": gpus} if gpus > 0 else {}
    if executor != "processes":
        return {}
    dev = check_device_name(device)
    out: dict[str, Any] = {}
    if dev in ("auto", "cuda"):
        out["devices"] = "auto"
    elif dev.startswith("cuda:"):
        out["devices"] = [dev]
    if workers_per_device is not None:
        if "devices" not in out:
            raise ConfigError(f"--workers-per-device spreads workers over GPUs, but the device is {dev}: "
                              "use --workers (or --device auto / cuda)")
        out["workers_per_device"] = workers_per_device
    return out


def device_info(device: Any) -> dict[str, str]:
    """``{"device": "cuda:0", "device_name": "NVIDIA ..."}`` for records and metadata.

    Example:
        >>> device_info("cpu")["device"]
        'cpu'
    """
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        name = torch.cuda.get_device_name(dev.index if dev.index is not None else 0)
    elif dev.type == "mps":
        name = "Apple MPS"
    else:
        name = platform.processor() or platform.machine() or "cpu"
    return {"device": str(dev), "device_name": name}


def resolve_precision(precision: Any = "32") -> str:
    """The canonical name (``"32"``, ``"bf16"`` or ``"16"``) of a precision setting.

    ``"bf16"`` trains under bfloat16 autocast; ``"16"`` under float16 autocast with dynamic loss
    scaling (:func:`grad_scaler`). Parameters, optimiser state and every recorded statistic stay
    float32 either way.

    Example:
        >>> resolve_precision("bfloat16"), resolve_precision(16), resolve_precision("fp32")
        ('bf16', '16', '32')
    """
    key = str(precision).strip().lower() if isinstance(precision, (str, int)) and not isinstance(precision, bool) else None
    if key not in _PRECISION_ALIASES:
        raise ConfigError(f"unknown precision {precision!r}: use 32, bf16 or 16")
    return _PRECISION_ALIASES[key]


def autocast(device: Any, precision: str = "32") -> contextlib.AbstractContextManager:
    """A context computing the forward pass in ``precision`` on ``device`` (no-op for ``"32"``).

    Example:
        >>> import torch
        >>> with autocast("cpu", "bf16"):
        ...     y = torch.nn.Linear(4, 2)(torch.ones(1, 4))
        >>> y.dtype
        torch.bfloat16
    """
    import torch

    precision = resolve_precision(precision)
    if precision == "32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)


def grad_scaler(device: Any, precision: str = "32") -> Any:
    """A ``torch.amp.GradScaler`` for float16 training on ``device``; ``None`` otherwise.

    Example:
        >>> grad_scaler("cpu", "bf16") is None
        True
    """
    import torch

    if resolve_precision(precision) != "16":
        return None
    dev = torch.device(device)
    amp_scaler = getattr(torch.amp, "GradScaler", None)
    if amp_scaler is not None:
        return amp_scaler(dev.type)
    if dev.type != "cuda":  # torch < 2.3 has loss scaling for CUDA only
        raise ConfigError(f"precision 16 on {dev.type} needs torch >= 2.3: use precision bf16 or 32")
    return torch.cuda.amp.GradScaler()


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is a device (or host allocator) out-of-memory error.

    Example:
        >>> is_out_of_memory(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")), is_out_of_memory(ValueError("x"))
        (True, False)
    """
    import torch

    oom = getattr(torch.cuda, "OutOfMemoryError", None)
    if oom is not None and isinstance(exc, oom):
        return True
    return isinstance(exc, (RuntimeError, MemoryError)) and (
        isinstance(exc, MemoryError) or "out of memory" in str(exc).lower())


def release_memory(device: Any = None) -> None:
    """Free what a failed evaluation left allocated, so that the next one starts clean.

    Example:
        >>> release_memory("cpu")
    """
    import torch

    gc.collect()
    dev = torch.device(device) if device is not None else None
    if torch.cuda.is_available() and (dev is None or dev.type == "cuda"):
        torch.cuda.empty_cache()


class CompiledForward:
    """``torch.compile(model)`` that falls back to the plain model when compilation fails.

    Compilation happens at the first call, so that is where a missing backend (no C compiler,
    no Triton) shows: the failure is reported once as a warning, :attr:`fallback` records why,
    and the call is repeated on the uncompiled model. Out-of-memory errors are not caught.

    Example:
        >>> import torch
        >>> net = torch.nn.Linear(3, 2)
        >>> fwd = CompiledForward(net, enabled=False)
        >>> fwd(torch.ones(1, 3)).shape, fwd.compiled
        (torch.Size([1, 2]), False)
    """

    def __init__(self, model: Any, enabled: bool = True) -> None:
        self.model = model
        self.fallback: str | None = None
        self._fn: Callable[..., Any] = model
        if enabled:
            import torch

            try:
                self._fn = torch.compile(model)
            except Exception as exc:  # noqa: BLE001  (e.g. torch.compile unsupported on this Python)
                self._fall_back(exc)

    @property
    def compiled(self) -> bool:
        """Whether calls go through the compiled model."""
        return self._fn is not self.model

    def _fall_back(self, exc: BaseException) -> None:
        self.fallback = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        self._fn = self.model
        warnings.warn(f"torch.compile is not usable here ({self.fallback}); running uncompiled", stacklevel=3)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._fn is self.model:
            return self.model(*args, **kwargs)
        try:
            return self._fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            if is_out_of_memory(exc):
                raise
            self._fall_back(exc)
            return self.model(*args, **kwargs)


def compile_model(model: Any, enabled: bool = True) -> CompiledForward:
    """Shorthand for :class:`CompiledForward` (``enabled=False``: the model itself is called).

    Example:
        >>> import torch
        >>> compile_model(torch.nn.Identity(), enabled=False).compiled
        False
    """
    return CompiledForward(model, enabled)

