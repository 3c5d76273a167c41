"""Shared validation of user input: numbers, input paths, output paths, atomic writes.

Bottom layer: imports nothing from nasrank but :mod:`nasrank.exceptions`, so every package (and
the CLI) reports the same problem with the same one-line message. Every check raises a
:class:`~nasrank.exceptions.NasrankError` subclass whose message names the problem *and* the fix;
the CLI prints it as ``Error: ...`` with exit code 2.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .exceptions import BenchmarkDataError, ConfigError

__all__ = [
    "check_int",
    "check_opt_int",
    "check_float",
    "input_file",
    "input_dir",
    "output_file",
    "output_dir",
    "atomic_write",
]


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return type(value).__module__ == "numpy" and hasattr(value, "dtype") and value.dtype.kind in "iu"


def check_int(name: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an ``int`` within ``[minimum, maximum]`` (bools and floats are refused).

    Example:
        >>> check_int("epochs", 5, minimum=1)
        5
        >>> check_int("epochs", 0, minimum=1)
        Traceback (most recent call last):
        ...
        nasrank.exceptions.ConfigError: `epochs` must be an int >= 1, got 0
    """
    ok = _is_int(value)
    if ok and minimum is not None and value < minimum:
        ok = False
    if ok and maximum is not None and value > maximum:
        ok = False
    if not ok:
        if minimum is not None and maximum is not None:
            rng = f" in [{minimum}, {maximum}]"
        elif minimum is not None:
            rng = f" >= {minimum}"
        elif maximum is not None:
            rng = f" <= {maximum}"
        else:
            rng = ""
        raise ConfigError(f"`{name}` must be an int{rng}, got {value!r}")
    return int(value)


def check_opt_int(name: str, value: Any, minimum: int | None = None) -> int | None:
    """Like :func:`check_int`, but ``None`` passes through.

    Example:
        >>> check_opt_int("train_size", None) is None
        True
    """
    if value is None:
        return None
    if not _is_int(value) or (minimum is not None and value < minimum):
        rng = f" >= {minimum}" if minimum is not None else ""
        raise ConfigError(f"`{name}` must be None or an int{rng}, got {value!r}")
    return int(value)


def check_float(
    name: str, value: Any, minimum: float | None = None, maximum: float | None = None,
    *, exclusive_min: bool = False,
) -> float:
    """``value`` as a finite ``float`` within the given bounds.

    Example:
        >>> check_float("lr", 0.1, minimum=0.0, exclusive_min=True)
        0.1
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    bad = isinstance(value, bool) or not math.isfinite(v)
    if not bad and minimum is not None:
        bad = v <= minimum if exclusive_min else v < minimum
    if not bad and maximum is not None:
        bad = v > maximum
    if bad:
        parts = []
        if minimum is not None:
            parts.append(f"{'>' if exclusive_min else '>='} {minimum}")
        if maximum is not None:
            parts.append(f"<= {maximum}")
        rng = (" " + " and ".join(parts)) if parts else ""
        raise ConfigError(f"`{name}` must be a finite number{rng}, got {value!r}")
    return v


def input_file(path: str | os.PathLike, what: str = "file", hint: str = "") -> Path:
    """An existing regular file (a directory or a missing path is a one-line error).

    Example:
        >>> input_file("/")
        Traceback (most recent call last):
        ...
        nasrank.exceptions.BenchmarkDataError: file '/' is a directory, not a file
    """
    p = Path(os.fspath(path)).expanduser()
    fix = f"; {hint}" if hint else ""
    if p.is_dir():
        raise BenchmarkDataError(f"{what} {str(path)!r} is a directory, not a file{fix}")
    if not p.exists():
        raise BenchmarkDataError(f"{what} {str(path)!r} does not exist{fix}")
    if not p.is_file():
        raise BenchmarkDataError(f"{what} {str(path)!r} is not a regular file{fix}")
    return p


def input_dir(path: str | os.PathLike, what: str = "directory", hint: str = "") -> Path:
    """An existing directory (a file or a missing path is a one-line error)."""
    p = Path(os.fspath(path)).expanduser()
    fix = f"; {hint}" if hint else ""
    if p.exists() and not p.is_dir():
        raise BenchmarkDataError(f"{what} {str(path)!r} is a file, not a directory{fix}")
    if not p.exists():
        raise BenchmarkDataError(f"{what} {str(path)!r} does not exist{fix}")
    return p


def output_file(path: str | os.PathLike, what: str = "output file", overwrite: bool = True) -> Path:
    """A path a file can be written to: not a directory, parent directory exists and is writable.

    Nothing is created: call it before any work so that bad paths fail first.

    Example:
        >>> output_file("/nonexistent-dir/x.csv")
        Traceback (most recent call last):
        ...
        nasrank.exceptions.ConfigError: cannot write output file '/nonexistent-dir/x.csv': directory '/nonexistent-dir' does not exist (create it first)
    """
    p = Path(os.fspath(path)).expanduser()
    if p.is_dir():
        raise ConfigError(f"cannot write {what} {str(path)!r}: it is a directory; give a file name")
    if p.exists() and not overwrite:
        raise ConfigError(f"{what} {str(path)!r} already exists; remove it or choose another path")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise ConfigError(f"cannot write {what} {str(path)!r}: directory {str(parent)!r} does not exist (create it first)")
    if not parent.is_dir():
        raise ConfigError(f"cannot write {what} {str(path)!r}: {str(parent)!r} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise ConfigError(f"cannot write {what} {str(path)!r}: permission denied")
    return p


def output_dir(path: str | os.PathLike, what: str = "output directory") -> Path:
    """A directory that exists or can be created (its parent exists); nothing is created here."""
    p = Path(os.fspath(path)).expanduser()
    if p.exists() and not p.is_dir():
        raise ConfigError(f"{what} {str(path)!r} is a file, not a directory; give a directory path")
    if not p.exists():
        parent = p.parent if str(p.parent) else Path(".")
        if not parent.is_dir():
            raise ConfigError(
                f"cannot create {what} {str(path)!r}: directory {str(parent)!r} does not exist (create it first)"
            )
        if not os.access(parent, os.W_OK | os.X_OK):
            raise ConfigError(f"cannot create {what} {str(path)!r}: permission denied")
    elif not os.access(p, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write into {what} {str(path)!r}: permission denied")
    return p


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> None:
    """Write a file through ``write(binary_file)`` to a temporary name, then move it into place.

    A reader never sees a half-written file, and a failure leaves the previous file (or none).

    Example:
        >>> import os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> atomic_write(os.path.join(d, "a.txt"), lambda f: f.write(b"hi"))
        >>> open(os.path.join(d, "a.txt")).read(), os.listdir(d)
        ('hi', ['a.txt'])
    """
    p = Path(os.fspath(path))
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual file mode
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
