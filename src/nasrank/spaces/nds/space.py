"""The space classes of the NDS design spaces, registered as ``nds-resnet``, ``nds-resnext-a`` and
``nds-resnext-b``; see :mod:`nasrank.spaces.nds`."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import numpy as np

from ..._rng import as_generator
from ..._validate import check_int
from ...exceptions import ConfigError
from .._registries import SPACES
from ..base import SearchSpace
from . import profile as _profile
from .encoding import RESNET, RESNEXT_A, RESNEXT_B, Arch, NDSFamily
from .network import NDSNetwork

__all__ = ["NDSSpace", "NDSResNetSpace", "NDSResNeXtASpace", "NDSResNeXtBSpace"]

_BUILD_OPTIONS = ("num_classes", "width_mult", "stem_width", "in_channels")


class NDSSpace(SearchSpace):
    """Base class of the three NDS families (not registered itself): an architecture is the
    per-stage depth, width (and for ResNeXt bottleneck ratio and groups) of a 3-stage residual
    network, each a grid index (:mod:`~nasrank.spaces.nds.encoding`).

    Build options: ``width_mult`` (scales every width; 1 = the paper's networks), ``stem_width``
    (16), ``in_channels``. Two different architectures always build different networks, so
    :meth:`canonical` is the identity.

    Example:
        >>> import nasrank
        >>> sp = nasrank.create_space("nds-resnext-a")
        >>> a = sp.from_str("d=1,2,4|w=16,32,64|r=1,2,4|g=1,2,4")
        >>> a, sp.to_str(a) == "d=1,2,4|w=16,32,64|r=1,2,4|g=1,2,4"
        ((0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2), True)
    """

    family: ClassVar[NDSFamily]
    tiny_input_shape = (3, 8, 8)
    width_option = None  # no supernet; the width is the float ``width_mult``
    depth_option = None  # the depths are part of the architecture
    #: What :meth:`flops` counts (shown by ``nasrank spaces show``).
    flops_convention = ("multiply-accumulates per image of every convolution and of the classifier "
                        "(plus its biases); BatchNorm, ReLU, pooling and additions free (pycls counter)")

    # --- encoding ---------------------------------------------------------------------------
    def validate(self, arch: Any) -> Arch:
        """``arch`` as a tuple of grid indices (``InvalidArchitectureError`` otherwise).

        Example:
            >>> NDSResNetSpace().validate([11, 0, 0, 8, 0, 0])
            (11, 0, 0, 8, 0, 0)
        """
        return self.family.validate(arch)

    def to_str(self, arch: Sequence[int]) -> str:
        """``"d=..|w=..[|r=..|g=..]"``: the per-stage values of each parameter.

        Example:
            >>> NDSResNetSpace().to_str((11, 0, 0, 8, 0, 0))
            'd=24,1,1|w=256,16,16'
        """
        return self.family.to_str(arch)

    def from_str(self, text: str) -> Arch:
        """Parse :meth:`to_str`'s format; a value outside its grid is a one-line error.

        Example:
            >>> NDSResNetSpace().from_str("d=24,1,1|w=256,16,16")
            (11, 0, 0, 8, 0, 0)
        """
        return self.family.from_str(text)

    def values(self, arch: Sequence[int]) -> dict[str, tuple[int, ...]]:
        """The per-stage values of each parameter.

        Example:
            >>> NDSResNetSpace().values((0, 0, 0, 0, 0, 8))
            {'d': (1, 1, 1), 'w': (16, 16, 256)}
        """
        return self.family.values(arch)

    def encode(self, arch: Sequence[int]) -> np.ndarray:
        """Each position's grid index scaled to [0, 1] (the grids are about log-spaced).

        Example:
            >>> NDSResNetSpace().encode((0, 11, 0, 0, 0, 8)).tolist()
            [0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        """
        a = self.validate(arch)
        den = [max(1, len(g) - 1) for g in self.family.position_grids]
        return np.asarray([v / d for v, d in zip(a, den, strict=True)], dtype=np.float32)

    # --- sampling ---------------------------------------------------------------------------
    def choices(self) -> tuple[tuple[int, ...], ...]:
        """Grid indices allowed at each position (every combination is an architecture).

        Example:
            >>> [len(c) for c in NDSResNeXtBSpace().choices()]
            [5, 5, 5, 5, 5, 5, 3, 3, 3, 5, 5, 5]
        """
        return tuple(tuple(range(len(g))) for g in self.family.position_grids)

    def sample(self, rng: int | np.random.Generator | None = None) -> Arch:
        """Uniform over the grid: every position independently uniform over its values.

        Example:
            >>> sp = NDSResNetSpace()
            >>> sp.sample(0) == sp.sample(0)
            True
        """
        gen = as_generator(rng)
        return tuple(int(gen.integers(len(g))) for g in self.family.position_grids)

    def neighbours(self, arch: Sequence[int]) -> list[Arch]:
        """The architectures that change one parameter of one stage by one grid step.

        Example:
            >>> len(NDSResNetSpace().neighbours((0, 5, 11, 0, 4, 8)))  # 2 at inner grid values, 1 at the ends
            8
        """
        a = self.validate(arch)
        out = []
        for i, g in enumerate(self.family.position_grids):
            for step in (-1, 1):
                v = a[i] + step
                if 0 <= v < len(g):
                    out.append(a[:i] + (v,) + a[i + 1 :])
        return out

    def all_archs(self) -> Iterator[Arch]:
        """Every architecture, in lexicographic order of the encodings (over a million: lazily).

        Example:
            >>> next(NDSResNetSpace().all_archs())
            (0, 0, 0, 0, 0, 0)
        """
        return iter(itertools.product(*(range(len(g)) for g in self.family.position_grids)))

    @property
    def size(self) -> int:
        """Number of architectures (equal to seed 000 Tab. 3's N_total)."""
        return self.family.size

    @property
    def published_size(self) -> int:
        """Seed 000 Tab. 3's N_total (which :attr:`size` reproduces)."""
        return {"nds-resnet": 1_259_712, "nds-resnext-a": 11_390_625, "nds-resnext-b": 52_734_375}[self.name]

    # --- models -----------------------------------------------------------------------------
    def _plan(self, arch: Sequence[int] | str, config: dict[str, Any]) -> tuple[_profile.NetworkPlan, int, int]:
        unknown = sorted(set(config) - set(_BUILD_OPTIONS))
        if unknown:
            raise ConfigError(f"unknown {self.name} build option(s) {unknown}; valid: {', '.join(_BUILD_OPTIONS)}")
        a = self.from_str(arch) if isinstance(arch, str) else self.validate(arch)
        p = _profile.plan(self.family, a, config.get("width_mult", 1.0), config.get("stem_width", 16))
        return (p, check_int("num_classes", config.get("num_classes", 10), 1),
                check_int("in_channels", config.get("in_channels", 3), 1))

    def build(self, arch: Sequence[int] | str, num_classes: int = 10, **config: Any) -> NDSNetwork:
        """The network of ``arch``; options ``width_mult`` (1.0), ``stem_width`` (16), ``in_channels`` (3).

        Example:
            >>> import torch
            >>> net = NDSResNetSpace().build("d=1,1,2|w=16,32,64", width_mult=0.25)
            >>> net(torch.randn(2, 3, 8, 8)).shape
            torch.Size([2, 10])
        """
        p, nc, cin = self._plan(arch, {**config, "num_classes": num_classes})
        return NDSNetwork(p.depths, p.widths, p.bottlenecks, p.stem_width, num_classes=nc, in_channels=cin)

    def num_params(self, arch: Sequence[int], num_classes: int = 10, **config: Any) -> int:
        """Parameters of ``build(arch, num_classes, **config)``, in closed form.

        Example:
            >>> NDSResNetSpace().num_params("d=1,1,1|w=16,32,64")
            78042
        """
        p, nc, cin = self._plan(arch, {**config, "num_classes": num_classes})
        return _profile.num_params(p, num_classes=nc, in_channels=cin)

    def flops(self, arch: Sequence[int], input_size: tuple[int, int, int] = (3, 32, 32),
              num_classes: int = 10, **config: Any) -> int:
        """Multiply-accumulates of one forward pass per image (:attr:`flops_convention`).

        Example:
            >>> NDSResNetSpace().flops("d=1,1,1|w=16,32,64")
            12501642
        """
        p, nc, _ = self._plan(arch, {**config, "num_classes": num_classes})
        return _profile.flops(p, input_size=input_size, num_classes=nc)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@SPACES.register("nds-resnet")
class NDSResNetSpace(NDSSpace):
    """NDS ResNet: 3 stages of basic residual blocks, depth and width per stage (1,259,712 networks).

    Example:
        >>> NDSResNetSpace().size
        1259712
    """

    name = "nds-resnet"
    family = RESNET
    tiny_build_config = {"width_mult": 0.125}
    build_configs = {"search": {"width_mult": 0.25}, "standard": {"width_mult": 1.0}}


@SPACES.register("nds-resnext-a")
class NDSResNeXtASpace(NDSSpace):
    """NDS ResNeXt-A: 3 stages of grouped bottleneck blocks, depth, width 16-256, ratio, groups 1-4
    per stage (11,390,625 networks).

    Example:
        >>> NDSResNeXtASpace().size
        11390625
    """

    name = "nds-resnext-a"
    family = RESNEXT_A
    tiny_build_config = {"width_mult": 0.125}
    build_configs = {"search": {"width_mult": 0.25}, "standard": {"width_mult": 1.0}}


@SPACES.register("nds-resnext-b")
class NDSResNeXtBSpace(NDSSpace):
    """NDS ResNeXt-B: 3 stages of grouped bottleneck blocks, depth, width 64-1024, ratio, groups 1-16
    per stage (52,734,375 networks).

    Example:
        >>> NDSResNeXtBSpace().size
        52734375
    """

    name = "nds-resnext-b"
    family = RESNEXT_B
    tiny_build_config = {"width_mult": 0.03125}
    build_configs = {"search": {"width_mult": 0.0625}, "standard": {"width_mult": 1.0}}
