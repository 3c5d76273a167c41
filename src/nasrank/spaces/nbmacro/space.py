"""The NAS-Bench-Macro search space class, registered as ``"nb-macro"``."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..._rng import as_generator
from ..._validate import check_int as _check_int
from ...exceptions import ConfigError
from .._registries import SPACES
from ..base import SearchSpace
from . import encoding as _enc
from . import profile as _profile
from .encoding import NUM_LAYERS, OPS, Arch
from .network import NBMacroNetwork
from .supernet import NBMacroSupernet

__all__ = ["NBMacroSpace", "HEAD_PER_C"]

#: Default head width per stem channel: the benchmark's 1280 head channels at ``C = 32``.
HEAD_PER_C = 40


def _head(C: int, head_channels: int | None) -> int:
    return HEAD_PER_C * C if head_channels is None else _check_int("head_channels", head_channels, 1)


@SPACES.register("nb-macro")
class NBMacroSpace(SearchSpace):
    """NAS-Bench-Macro: 8 layers, each identity / MB3_K3 / MB6_K5, 6,561 architectures (3,969 distinct).

    The macro search space of Su et al., "Prioritized Architecture Sampling with Monte-Carlo Tree
    Search" (CVPR 2021), whose 6,561 CIFAR-10 networks were trained in the NAS-Bench-Macro
    benchmark (:class:`nasrank.benchmarks.NBMacroBenchmark`). An architecture is a tuple of 8
    candidate indices written as the benchmark's 8 digits (``"02012100"``; see
    :mod:`nasrank.spaces.nbmacro`). :meth:`build` gives the published network (stem width ``C =
    32``, stages of 64/128/256 channels, 1280-channel head), whose parameters and FLOPs equal the
    published ones for every architecture (``validation/nb_macro.py``).

    Example:
        >>> import nasrank
        >>> space = nasrank.create_space("nb-macro")
        >>> arch = space.from_str("02012100")
        >>> space.num_params(arch), space.flops(arch)  # the published params and FLOPs
        (890666, 47327744)
        >>> space.to_str(space.canonical(space.from_str("00102001")))  # stride-1 identities last
        '00120010'
    """

    name = "nb-macro"
    tiny_build_config = {"C": 4}
    build_configs = {"search": {"C": 8}, "standard": {"C": 32}, "supernet": {"C": 32}}
    tiny_input_shape = (3, 16, 16)
    width_option = "C"
    depth_option = None  # the 8 layers are the encoding: no depth option
    ops = OPS
    #: What :meth:`flops` counts (shown by ``nasrank spaces show``).
    flops_convention = ("multiply-accumulates of the convolutions and the classifier per image (no BN, "
                        "ReLU, pooling, additions or biases); NAS-Bench-Macro's count_FLOPs")

    # --- encoding ---------------------------------------------------------------------------
    def validate(self, arch: Any) -> Arch:
        """``arch`` as a tuple of 8 candidate indices in 0..2 (``InvalidArchitectureError`` otherwise).

        Example:
            >>> NBMacroSpace().validate([0, 2, 0, 1, 2, 1, 0, 0])
            (0, 2, 0, 1, 2, 1, 0, 0)
        """
        return _enc.validate(arch)

    def to_str(self, arch: Sequence[int]) -> str:
        """The benchmark's 8-digit string.

        Example:
            >>> NBMacroSpace().to_str((1, 1, 1, 1, 1, 2, 2, 1))
            '11111221'
        """
        return _enc.to_str(arch)

    def from_str(self, text: str) -> Arch:
        """Parse the benchmark's 8-digit string.

        Example:
            >>> NBMacroSpace().from_str("11111221")
            (1, 1, 1, 1, 1, 2, 2, 1)
        """
        return _enc.from_str(text)

    def encode(self, arch: Sequence[int]) -> np.ndarray:
        """One-hot encoding, shape ``(24,)``: layer-major blocks of 3 candidates.

        Example:
            >>> NBMacroSpace().encode((0, 1, 2, 0, 0, 0, 0, 0)).reshape(8, 3).argmax(1).tolist()
            [0, 1, 2, 0, 0, 0, 0, 0]
        """
        return _enc.one_hot(arch).reshape(-1)

    # --- sampling ---------------------------------------------------------------------------
    def choices(self) -> tuple[tuple[int, ...], ...]:
        """Every layer takes any of the 3 candidates (no constraints between layers).

        Example:
            >>> NBMacroSpace().choices()[0]
            (0, 1, 2)
        """
        return (tuple(range(len(OPS))),) * NUM_LAYERS

    def sample(self, rng: int | np.random.Generator | None = None) -> Arch:
        """A uniform draw from the 6,561 encodings.

        Example:
            >>> NBMacroSpace().sample(0) == NBMacroSpace().sample(0)
            True
        """
        gen = as_generator(rng)
        return tuple(int(v) for v in gen.integers(0, len(OPS), size=NUM_LAYERS))

    def neighbours(self, arch: Sequence[int]) -> list[Arch]:
        """The 16 architectures that differ from ``arch`` in exactly one layer.

        Example:
            >>> len(NBMacroSpace().neighbours((0,) * 8))
            16
        """
        a = self.validate(arch)
        return [a[:e] + (o,) + a[e + 1 :] for e in range(NUM_LAYERS) for o in range(len(OPS)) if o != a[e]]

    def mutate(self, arch: Sequence[int], rng: int | np.random.Generator | None = None) -> Arch:
        """Change one uniformly chosen layer to a uniformly chosen different candidate.

        Example:
            >>> NBMacroSpace().mutate((0,) * 8, 0) in NBMacroSpace().neighbours((0,) * 8)
            True
        """
        a = self.validate(arch)
        gen = as_generator(rng)
        e = int(gen.integers(NUM_LAYERS))
        o = int(gen.integers(len(OPS) - 1))
        o += o >= a[e]
        return a[:e] + (o,) + a[e + 1 :]

    def all_archs(self) -> Iterator[Arch]:
        """All 6,561 encodings in lexicographic order (the benchmark's ``itertools.product`` order).

        Example:
            >>> next(NBMacroSpace().all_archs())
            (0, 0, 0, 0, 0, 0, 0, 0)
        """
        return iter(itertools.product(range(len(OPS)), repeat=NUM_LAYERS))

    @property
    def size(self) -> int:
        """``3 ** 8 = 6,561`` encodings, the benchmark's count (3,969 distinct networks, see
        :meth:`canonical`)."""
        return len(OPS) ** NUM_LAYERS

    # --- structure --------------------------------------------------------------------------
    def canonical_key(self, arch: Sequence[int]) -> str:
        """The 8-digit string of :meth:`canonical` (the benchmark's ``get_real_arch`` key).

        Example:
            >>> s = NBMacroSpace()
            >>> s.canonical_key(s.from_str("01001010")) == s.canonical_key(s.from_str("01010010"))
            True
        """
        return _enc.to_str(_enc.canonical(arch))

    def canonical(self, arch: Sequence[int]) -> Arch:
        """The representative of ``arch``'s class: in every stage the stride-1 identity layers
        moved after the other layers (they compute the identity, so the network's function and
        parameters are unchanged). Every architecture's output depends on its input, so
        :meth:`is_valid` is always true.

        Example:
            >>> NBMacroSpace().canonical((2, 0, 1, 0, 2, 0, 0, 1))
            (2, 0, 1, 2, 0, 0, 1, 0)
        """
        return _enc.canonical(arch)

    # --- models -----------------------------------------------------------------------------
    def _options(self, num_classes: int, C: int, head_channels: int | None, in_channels: int
                 ) -> tuple[int, int, int, int]:
        C = _check_int("C", C, 1)
        return (_check_int("num_classes", num_classes, 1), C, _head(C, head_channels),
                _check_int("in_channels", in_channels, 1))

    def build(
        self,
        arch: Sequence[int] | str,
        num_classes: int = 10,
        C: int = 32,
        head_channels: int | None = None,
        in_channels: int = 3,
        **config: Any,
    ) -> NBMacroNetwork:
        """The benchmark network of ``arch``.

        Args:
            arch: 8 candidate indices or the 8-digit string.
            num_classes: Classifier outputs.
            C: Stem channels (benchmark: 32); stages have ``2C``, ``4C``, ``8C`` channels.
            head_channels: Channels of the head's 1x1 convolution; default ``40 * C`` (the
                benchmark's 1280 at ``C = 32``).
            in_channels: Image channels.

        Returns:
            An :class:`~nasrank.spaces.nbmacro.NBMacroNetwork` whose ``forward`` returns logits.

        Example:
            >>> import torch
            >>> net = NBMacroSpace().build("02012100", C=4)
            >>> net(torch.randn(2, 3, 16, 16)).shape
            torch.Size([2, 10])
        """
        if config:
            raise ConfigError(f"unknown nb-macro build option(s) {sorted(config)}; "
                              "valid: num_classes, C, head_channels, in_channels")
        a = self.from_str(arch) if isinstance(arch, str) else self.validate(arch)
        n, C, head, cin = self._options(num_classes, C, head_channels, in_channels)
        return NBMacroNetwork(a, C=C, head_channels=head, num_classes=n, in_channels=cin)

    def num_params(self, arch: Sequence[int] | str, num_classes: int = 10, C: int = 32,
                   head_channels: int | None = None, in_channels: int = 3) -> int:
        """Parameter count of :meth:`build` in closed form (no model is built).

        Example:
            >>> s = NBMacroSpace()
            >>> a = (2, 1, 0, 2, 1, 0, 2, 1)
            >>> s.num_params(a, C=4) == sum(p.numel() for p in s.build(a, C=4).parameters())
            True
        """
        a = self.from_str(arch) if isinstance(arch, str) else self.validate(arch)
        n, C, head, cin = self._options(num_classes, C, head_channels, in_channels)
        return _profile.num_params(a, num_classes=n, C=C, head_channels=head, in_channels=cin)

    def flops(self, arch: Sequence[int] | str, input_size: tuple[int, int, int] = (3, 32, 32),
              num_classes: int = 10, C: int = 32, head_channels: int | None = None) -> int:
        """Multiply-accumulates of one forward pass for one image in the benchmark's convention
        (:attr:`flops_convention`; see :mod:`nasrank.spaces.nbmacro.profile`).

        Example:
            >>> NBMacroSpace().flops("00000000")  # the published FLOPs of the smallest network
            7713280
        """
        a = self.from_str(arch) if isinstance(arch, str) else self.validate(arch)
        n, C, head, _ = self._options(num_classes, C, head_channels, 3)
        return _profile.flops(a, input_size=tuple(input_size), num_classes=n, C=C, head_channels=head)

    # --- weight sharing -----------------------------------------------------------------------
    def supernet(self, C: int = 32, head_channels: int | None = None, num_classes: int = 10,
                 in_channels: int = 3, affine: bool = False) -> NBMacroSupernet:
        """The weight-sharing supernet (every layer holds its 3 candidates); see
        :class:`~nasrank.spaces.nbmacro.NBMacroSupernet`.

        Example:
            >>> NBMacroSpace().supernet(C=2).ops
            ('identity', 'mb3_k3', 'mb6_k5')
        """
        n, C, head, cin = self._options(num_classes, C, head_channels, in_channels)
        return NBMacroSupernet(C=C, head_channels=head, num_classes=n, in_channels=cin, affine=bool(affine))

    def __repr__(self) -> str:
        return "NBMacroSpace()"
