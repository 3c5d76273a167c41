"""A small name -> object registry with did-you-mean errors.

One :class:`Registry` instance exists per kind of object (search spaces, estimators, proxies,
strategies, ...). Objects register themselves where they are defined::

    @SPACES.register("nb201")
    class NB201Space(SearchSpace): ...

Registering a name twice raises :class:`~nasrank.exceptions.DuplicateNameError`; looking up an
unknown name raises :class:`~nasrank.exceptions.UnknownNameError` whose message suggests the closest
names and lists every valid one. Lookups ignore case, surrounding blanks and the difference
between ``_`` and ``-`` (one naming policy for every registry; see :class:`Registry`).
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from .exceptions import ConfigError, DuplicateNameError, UnknownNameError

T = TypeVar("T")

__all__ = ["Registry", "normalize_name"]


def normalize_name(name: str) -> str:
    """The form registry names are compared in: lower case, no surrounding blanks, ``_`` as ``-``.

    Example:
        >>> normalize_name(" TSE_EMA "), normalize_name("tse-ema")
        ('tse-ema', 'tse-ema')
    """
    return name.strip().lower().replace("_", "-")


class Registry(Generic[T]):
    """Maps names to registered objects (classes or factory functions).

    Naming policy: a name is registered exactly as written (lower case, e.g. ``"tse-ema"`` or
    ``"grad_norm"``) and listed that way, but every lookup (:meth:`get`, ``in``,
    :meth:`canonical`) compares names by :func:`normalize_name`, so ``"tse_ema"``, ``"TSE-EMA"``
    and ``"tse-ema"`` find the same object. Two names that normalise equal cannot both be
    registered.

    Args:
        kind: What the registry holds, used in error messages ("search space", "proxy", ...).
        name_attr: If given, each registered *class* whose own attribute of that name is unset
            or empty gets the registered name written to it (so a proxy class knows its name).

    Example:
        >>> reg = Registry("widget")
        >>> @reg.register("round_thing")
        ... class Round:
        ...     pass
        >>> reg.get("round_thing") is reg.get("Round-Thing") is Round
        True
        >>> reg.list(), reg.canonical("ROUND-THING")
        (['round_thing'], 'round_thing')
        >>> reg.register("round-thing")(int)
        Traceback (most recent call last):
        ...
        nasrank.exceptions.DuplicateNameError: widget 'round-thing' is already registered as 'round_thing' (names are compared ignoring case and '_' vs '-')
    """

    def __init__(self, kind: str, name_attr: str | None = None) -> None:
        self.kind = kind
        self.name_attr = name_attr
        self._items: dict[str, T] = {}
        self._keys: dict[str, str] = {}  # normalize_name(name) -> registered name

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering the decorated object under ``name`` (lower-case, unique).

        Example:
            >>> reg = Registry("widget")
            >>> reg.register("square")(int) is int
            True
        """
        if not isinstance(name, str) or not name or name != name.strip().lower():
            raise ConfigError(f"{self.kind} names must be non-empty lower-case strings, got {name!r}")

        def decorator(obj: T) -> T:
            key = normalize_name(name)
            if key in self._keys:
                old = self._keys[key]
                if old == name:
                    raise DuplicateNameError(
                        f"{self.kind} {name!r} is already registered (by {self._items[name]!r})"
                    )
                raise DuplicateNameError(
                    f"{self.kind} {name!r} is already registered as {old!r} "
                    "(names are compared ignoring case and '_' vs '-')"
                )
            self._items[name] = obj
            self._keys[key] = name
            if self.name_attr is not None and isinstance(obj, type) and not obj.__dict__.get(self.name_attr):
                setattr(obj, self.name_attr, name)
            return obj

        return decorator

    def canonical(self, name: str) -> str:
        """The registered spelling of ``name`` (raises :class:`UnknownNameError` if unknown).

        Example:
            >>> reg = Registry("widget"); _ = reg.register("tse-ema")(int)
            >>> reg.canonical("TSE_EMA")
            'tse-ema'
        """
        try:
            return self._keys[normalize_name(name)]
        except (KeyError, AttributeError, TypeError):
            raise UnknownNameError(self._unknown_message(name)) from None

    def get(self, name: str) -> T:
        """Return the object registered under ``name`` (see the naming policy above).

        Example:
            >>> reg = Registry("widget"); _ = reg.register("grad_norm")(int)
            >>> reg.get("Grad-Norm")
            <class 'int'>
        """
        return self._items[self.canonical(name)]

    def _unknown_message(self, name: Any) -> str:
        choices = sorted(self._items)
        msg = f"Unknown {self.kind} {name!r}."
        if isinstance(name, str):
            close = difflib.get_close_matches(name.lower(), choices, n=3, cutoff=0.6)
            if close:
                msg += " Did you mean " + " or ".join(repr(c) for c in close) + "?"
        return msg + " Available: " + (", ".join(choices) if choices else "(none)") + "."

    def list(self, pattern: str | None = None) -> list[str]:
        """Sorted registered names, optionally filtered by a shell-style ``pattern``.

        The pattern is matched under the same naming policy as lookups (``"grad-*"`` lists
        ``grad_norm``).

        Example:
            >>> reg = Registry("widget"); _ = reg.register("a_1")(int); _ = reg.register("b1")(int)
            >>> reg.list(), reg.list("A-*")
            (['a_1', 'b1'], ['a_1'])
        """
        names = sorted(self._items)
        if pattern is not None:
            pat = normalize_name(pattern)
            names = [n for n in names if fnmatch.fnmatchcase(normalize_name(n), pat)]
        return names

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalize_name(name) in self._keys

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

