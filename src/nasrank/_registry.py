"""A small name -> object registry with did-you-mean errors.

One :class:`Registry` instance exists per kind of object (search spaces, estimators, proxies,
strategies, ...). Objects register themselves where they are defined::

    @SPACES.register("nb201")
    class NB201Space(SearchSpace): ...

Registering a name twice raises :class:`~nasrank.exceptions.DuplicateNameError`; looking up an
unknown name raises :class:`~nasrank.exceptions.UnknownNameError` whose message suggests the closest
names and lists every valid one.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from .exceptions import DuplicateNameError, UnknownNameError

T = TypeVar("T")

__all__ = ["Registry"]


class Registry(Generic[T]):
    """Maps names to registered objects (classes or factory functions).

    Args:
        kind: What the registry holds, used in error messages ("search space", "proxy", ...).

    Example:
        >>> reg = Registry("widget")
        >>> @reg.register("round")
        ... class Round:
        ...     pass
        >>> reg.get("round") is Round
        True
        >>> reg.list()
        ['round']
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering the decorated object under ``name`` (lower-case, unique)."""
        if not isinstance(name, str) or not name or name != name.strip().lower():
            raise ValueError(f"{self.kind} names must be non-empty lower-case strings, got {name!r}")

        def decorator(obj: T) -> T:
            if name in self._items:
                raise DuplicateNameError(
                    f"{self.kind} {name!r} is already registered (by {self._items[name]!r})"
                )
            self._items[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        """Return the object registered under ``name`` (case-insensitive)."""
        key = name.strip().lower() if isinstance(name, str) else name
        try:
            return self._items[key]
        except (KeyError, TypeError):
            raise UnknownNameError(self._unknown_message(name)) from None

    def _unknown_message(self, name: Any) -> str:
        choices = sorted(self._items)
        msg = f"Unknown {self.kind} {name!r}."
        if isinstance(name, str):
            close = difflib.get_close_matches(name.lower(), choices, n=3, cutoff=0.6)
            if close:
                msg += " Did you mean " + " or ".join(repr(c) for c in close) + "?"
        return msg + " Available: " + (", ".join(choices) if choices else "(none)") + "."

    def list(self, pattern: str | None = None) -> list[str]:
        """Sorted registered names, optionally filtered by a shell-style ``pattern``."""
        names = sorted(self._items)
        if pattern is not None:
            names = [n for n in names if fnmatch.fnmatch(n, pattern)]
        return names

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.list())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.list()})"


def check_params(kind: str, name: str, factory: Callable[..., Any], params: Mapping[str, Any],
                 skip: tuple[str, ...] = ()) -> None:
    """Refuse keyword ``params`` that ``factory``'s signature does not accept, listing the valid ones.

    ``skip`` names parameters the caller passes itself (e.g. ``space``, ``seed``); they are neither
    required nor listed. A factory taking ``**kwargs`` accepts anything.

    Example:
        >>> def tse_ema(gamma=0.999, epochs=None): ...
        >>> check_params("estimator", "tse-ema", tse_ema, {"gama": 0.5})
        Traceback (most recent call last):
        ...
        nasrank.exceptions.ConfigError: estimator 'tse-ema' has no parameter 'gama'; its parameters: gamma, epochs
    """
    import inspect

    from .exceptions import ConfigError

    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        return
    known = [n for n, p in sig.parameters.items() if p.kind in kinds and n not in skip]
    unknown = [k for k in params if k not in known]
    if unknown:
        s = "s" if len(unknown) > 1 else ""
        raise ConfigError(
            f"{kind} {name!r} has no parameter{s} {', '.join(repr(k) for k in unknown)}; "
            f"its parameters: {', '.join(known) or 'none'}"
        )

