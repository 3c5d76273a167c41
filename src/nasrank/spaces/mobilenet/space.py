"""The MobileNet-like (ProxylessNAS) search space class, registered as ``"mobilenet"``."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..._rng import as_generator
from ...exceptions import ConfigError
from .._registries import SPACES
from ..base import SearchSpace
from . import encoding as _enc
from . import profile as _profile
from .encoding import FIRST_OF_STAGE, NUM_BLOCKS, OPS, Arch, block_choices
from .network import MobileNetNetwork
from .supernet import MobileNetSupernet

__all__ = ["MobileNetSpace"]

_BUILD_OPTIONS = "num_classes, C, widths, in_channels, stem_stride, dropout"


@SPACES.register("mobilenet")
class MobileNetSpace(SearchSpace):
    """ProxylessNAS's MobileNet-like space: 21 blocks of MBConv k{3,5,7} x e{3,6} or skip (~2.2e17).

    The MobileNetV2 backbone of ProxylessNAS (Cai et al., ICLR 2019) as used by Zero-Cost-PT
    (seed 004 §5.3): stem, a fixed expansion-1 block, six stages of (4, 4, 4, 4, 4, 1)
    searchable blocks with strides (2, 2, 2, 1, 2, 1), feature-mix 1 x 1 convolution, classifier;
    ReLU6. Each searchable block is one of 6 MBConvs (kernel 3/5/7, expansion 3/6) or, except for
    the first block of a stage, the identity: ``6**6 * 7**15`` architectures. Encoding, string
    format and canonical form: :mod:`~nasrank.spaces.mobilenet.encoding`; channel widths are
    build options (:data:`~nasrank.spaces.mobilenet.WIDTH_PRESETS`, default ProxylessNAS-GPU's,
    the widths of Zero-Cost-PT's supernet); the published networks are in
    :data:`~nasrank.spaces.mobilenet.PUBLISHED`.

    Example:
        >>> import nasrank
        >>> from nasrank.spaces.mobilenet import PUBLISHED
        >>> space = nasrank.create_space("mobilenet")
        >>> gpu = PUBLISHED["proxylessnas-gpu"]
        >>> space.num_params(space.from_str(gpu.arch_str), num_classes=1000, widths=gpu.widths)
        7119848
        >>> space.size == 6**6 * 7**15
        True
    """

    name = "mobilenet"
    tiny_build_config = {"C": 4}
    build_configs = {"search": {"C": 8}, "standard": {"widths": "gpu"}, "supernet": {"C": 40}}
    tiny_input_shape = (3, 16, 16)
    width_option = "C"
    depth_option = None  # the depth is fixed (21 blocks; skips shorten it)
    ops = OPS
    #: What :meth:`flops` counts (shown by ``nasrank spaces show``).
    flops_convention = _profile.FLOPS_CONVENTION

    # --- encoding ---------------------------------------------------------------------------
    def validate(self, arch: Any) -> Arch:
        """``arch`` as a tuple of 21 op indices in 0..6, no skip (0) at a stage's first block.

        Example:
            >>> MobileNetSpace().validate([1] * 21)[:2]
            (1, 1)
        """
        return _enc.validate(arch)

    def to_str(self, arch: Sequence[int]) -> str:
        """Stages separated by ``|``, blocks by ``,`` (see the encoding module).

        Example:
            >>> MobileNetSpace().to_str((2,) * 21).split("|")[-1]
            'MB6_3x3'
        """
        return _enc.to_str(arch)

    def from_str(self, text: str) -> Arch:
        """Parse the string format (ProxylessNAS block names and ``zero`` accepted too).

        Example:
            >>> MobileNetSpace().from_str(",".join(["7x7_MBConv6"] * 21))[:2]
            (6, 6)
        """
        return _enc.from_str(text)

    def encode(self, arch: Sequence[int]) -> np.ndarray:
        """One-hot per block, ``21 * 7`` floats.

        Example:
            >>> MobileNetSpace().encode((1,) * 21).shape
            (147,)
        """
        return _enc.one_hot(arch).reshape(-1)

    # --- sampling ---------------------------------------------------------------------------
    def choices(self) -> tuple[tuple[int, ...], ...]:
        """``(1..6)`` at the first block of a stage, ``(0..6)`` elsewhere (no constraints between
        positions, so :meth:`project` is the identity on every draw).

        Example:
            >>> [len(c) for c in MobileNetSpace().choices()][:5]
            [6, 7, 7, 7, 6]
        """
        return tuple(block_choices(i) for i in range(NUM_BLOCKS))

    def sample(self, rng: int | np.random.Generator | None = None) -> Arch:
        """Each block uniformly among its candidates (hence uniform over the space).

        Example:
            >>> MobileNetSpace().sample(0) == MobileNetSpace().sample(0)
            True
        """
        gen = as_generator(rng)
        return tuple(int(c[int(gen.integers(len(c)))]) for c in self.choices())

    def neighbours(self, arch: Sequence[int]) -> list[Arch]:
        """The 120 architectures that differ from ``arch`` in one block.

        Example:
            >>> len(MobileNetSpace().neighbours((1,) * 21))
            120
        """
        a = self.validate(arch)
        return [a[:i] + (o,) + a[i + 1 :] for i in range(NUM_BLOCKS) for o in block_choices(i) if o != a[i]]

    def mutate(self, arch: Sequence[int], rng: int | np.random.Generator | None = None) -> Arch:
        """Change one uniformly chosen block to a uniformly chosen other candidate.

        Example:
            >>> s = MobileNetSpace()
            >>> s.mutate((1,) * 21, 0) in s.neighbours((1,) * 21)
            True
        """
        a = self.validate(arch)
        gen = as_generator(rng)
        i = int(gen.integers(NUM_BLOCKS))
        others = [o for o in block_choices(i) if o != a[i]]
        return a[:i] + (others[int(gen.integers(len(others)))],) + a[i + 1 :]

    def all_archs(self) -> Iterator[Arch]:
        """Every architecture, lazily, in lexicographic order (``size`` is ~2.2e17: do not exhaust).

        Example:
            >>> next(MobileNetSpace().all_archs())[:5]
            (1, 0, 0, 0, 1)
        """
        return iter(itertools.product(*self.choices()))

    @property
    def size(self) -> int:
        """``6**6 * 7**15`` = 221,502,229,807,900,608 (exact).

        Example:
            >>> MobileNetSpace().size
            221502229807900608
        """
        n_first = sum(FIRST_OF_STAGE)
        return (len(OPS) - 1) ** n_first * len(OPS) ** (NUM_BLOCKS - n_first)

    # --- structure --------------------------------------------------------------------------
    def canonical(self, arch: Sequence[int]) -> Arch:
        """Skips moved behind the MBConvs of their stage (the same sequence of blocks).

        Example:
            >>> MobileNetSpace().canonical((1, 0, 2, 0) + (1,) * 17)[:4]
            (1, 2, 0, 0)
        """
        return _enc.canonical(arch)

    def canonical_key(self, arch: Sequence[int]) -> Arch:
        """:meth:`canonical`: two architectures compute the same function family iff every stage
        has the same MBConvs in the same order.

        Example:
            >>> s = MobileNetSpace()
            >>> s.canonical_key((1, 0, 2, 0) + (1,) * 17) == s.canonical_key((1, 2, 0, 0) + (1,) * 17)
            True
        """
        return _enc.canonical(arch)

    # --- models -----------------------------------------------------------------------------
    def _arch(self, arch: Sequence[int] | str) -> Arch:
        return self.from_str(arch) if isinstance(arch, str) else self.validate(arch)

    def build(self, arch: Sequence[int] | str, num_classes: int = 10, C: int | None = None,
              widths: str | Sequence[int] = "gpu", in_channels: int = 3, stem_stride: int = 2,
              dropout: float = 0.0, **config: Any) -> MobileNetNetwork:
        """The network of ``arch``; see :class:`~nasrank.spaces.mobilenet.MobileNetNetwork`.

        Args:
            arch: 21 op indices or an architecture string.
            num_classes: Classifier outputs (1000 for the published ImageNet networks).
            C: Stem width rescaling every width; ``None`` keeps ``widths``.
            widths: Width preset (``gpu``, ``cpu``, ``mobile``, ``mobile14``, ``backbone``,
                ``mobilenetv2``) or nine ints (stem, first block, 6 stages, feature mix).
            in_channels: Image channels.
            stem_stride: Stride of the stem convolution (ProxylessNAS: 2).
            dropout: Dropout before the classifier.

        Example:
            >>> import torch
            >>> net = MobileNetSpace().build((4,) * 21, C=4)
            >>> net(torch.randn(2, 3, 16, 16)).shape
            torch.Size([2, 10])
        """
        if config:
            raise ConfigError(f"unknown mobilenet build option(s) {sorted(config)}; valid: {_BUILD_OPTIONS}")
        return MobileNetNetwork(self._arch(arch), num_classes=num_classes, C=C, widths=widths,
                                in_channels=in_channels, stem_stride=stem_stride, dropout=dropout)

    def num_params(self, arch: Sequence[int] | str, num_classes: int = 10, C: int | None = None,
                   widths: str | Sequence[int] = "gpu", in_channels: int = 3, stem_stride: int = 2,
                   dropout: float = 0.0, **config: Any) -> int:
        """Parameter count of :meth:`build`, in closed form (no model is built).

        Example:
            >>> s = MobileNetSpace()
            >>> a = s.sample(3)
            >>> s.num_params(a, C=8) == sum(p.numel() for p in s.build(a, C=8).parameters())
            True
        """
        if config:
            raise ConfigError(f"unknown mobilenet build option(s) {sorted(config)}; valid: {_BUILD_OPTIONS}")
        return _profile.num_params(self._arch(arch), num_classes=num_classes, C=C, widths=widths,
                                   in_channels=in_channels)

    def flops(self, arch: Sequence[int] | str, input_size: tuple[int, int, int] = (3, 32, 32),
              num_classes: int = 10, C: int | None = None, widths: str | Sequence[int] = "gpu",
              stem_stride: int = 2) -> int:
        """Multiply-accumulates of one forward pass for one image (:attr:`flops_convention`).

        Example:
            >>> from nasrank.spaces.mobilenet import PUBLISHED
            >>> m = PUBLISHED["proxylessnas-mobile"]
            >>> round(MobileNetSpace().flops(m.arch, (3, 224, 224), 1000, widths=m.widths) / 1e6, 1)
            320.4
        """
        return _profile.flops(self._arch(arch), input_size=input_size, num_classes=num_classes, C=C,
                              widths=widths, stem_stride=stem_stride)

    # --- weight sharing -----------------------------------------------------------------------
    def supernet(self, C: int | None = None, widths: str | Sequence[int] = "gpu", num_classes: int = 10,
                 in_channels: int = 3, stem_stride: int = 2, dropout: float = 0.0) -> MobileNetSupernet:
        """The weight-sharing supernet (Zero-Cost-PT's MobileNet-like search model at ``C=40``);
        see :class:`~nasrank.spaces.mobilenet.MobileNetSupernet`.

        Example:
            >>> MobileNetSpace().supernet(C=4).ops[2]
            'MB6_3x3'
        """
        return MobileNetSupernet(C=C, widths=widths, num_classes=num_classes, in_channels=in_channels,
                                 stem_stride=stem_stride, dropout=dropout)
