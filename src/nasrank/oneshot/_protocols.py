"""The two protocols of the weight-sharing layer: a supernet, and an architecture
parameterisation (how the weight matrix a supernet runs with is produced)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

__all__ = ["Supernet", "ArchParameterization"]


@runtime_checkable
class Supernet(Protocol):
    """A weight-sharing network superposing every architecture of a space.

    Its ``num_edges`` edges each hold the candidate operations :attr:`ops`; ``forward(x, w)``
    runs it under a weight matrix ``w`` of shape ``(num_edges, len(ops))``, which expresses:

    * **a single path** — ``w = supernet.path_weights(arch)`` (one architecture of the space);
    * **a multi-hot set of paths** — ``w = supernet.paths_weights(archs)`` (every operation any of
      them uses runs with weight 1);
    * **a weighted mixture of operations** — any real matrix (e.g. ``softmax(alpha)``; a tensor
      that requires a gradient passes it on to the architecture parameters).

    Operations with weight 0 are not executed. The spaces' supernets
    (``space.supernet(**config)``) implement it by subclassing :class:`nasrank.nn.SupernetBase`.

    Attributes:
        ops: Candidate operation names: the columns of the weight matrix.
        num_edges: Rows of the weight matrix.
        edge_groups: Edges decided together (e.g. the normal and the reduction cell of DARTS).
        space: The :class:`~nasrank.spaces.SearchSpace` whose architectures it superposes.

    Example:
        >>> import torch, nasrank
        >>> space = nasrank.create_space("nb201")
        >>> net = space.supernet(C=2, N=1)
        >>> isinstance(net, Supernet)
        True
        >>> net(torch.randn(2, 3, 8, 8), net.path_weights(space.sample(0))).shape
        torch.Size([2, 10])
    """

    ops: tuple[str, ...]
    num_edges: int
    edge_groups: tuple[tuple[int, ...], ...]

    @property
    def space(self) -> Any: ...

    def forward(self, x: torch.Tensor, weights: Any = None) -> torch.Tensor:
        """Logits under the ``(num_edges, len(ops))`` weight matrix ``weights``."""
        ...

    def path_weights(self, arch: Sequence[int]) -> np.ndarray:
        """The one-hot weight matrix of one architecture of the space."""
        ...

    def paths_weights(self, archs: Sequence[Sequence[int]]) -> np.ndarray:
        """The multi-hot weight matrix of several architectures."""
        ...

    def run_weights(self, arch: Sequence[int]) -> np.ndarray:
        """The weights to train or evaluate one path with: :meth:`path_weights`, optionally
        without operations that cannot change the output (``SupernetBase``'s default: the
        path weights unchanged)."""
        ...

    def arch_from_decisions(self, decided: Mapping[int, int], removed: Collection[int] = ()
                            ) -> tuple[int, ...]:
        """The architecture of ``{edge: column}`` decisions (``removed`` edges unused)."""
        ...

    def topology_nodes(self, removed: Collection[int] | None = None) -> list[list[int]]:
        """Candidate input edges of the nodes that keep only some of them (DARTS: 2)."""
        ...


@runtime_checkable
class ArchParameterization(Protocol):
    """How the architecture weights a supernet runs with are produced.

    Implementations: :class:`~nasrank.nn.SoftmaxAlpha` (``softmax(alpha)``; DARTS,
    Zero-Cost-PT), :class:`DirichletConcentration` (DrNAS), :class:`UniformPath` (SPOS: one
    uniformly drawn architecture per step) and :class:`FairPath` (FairNAS: every step draws as
    many paths as an edge has operations, using each operation of each edge exactly once).

    Example:
        >>> import numpy as np, nasrank
        >>> from nasrank.oneshot import FairPath
        >>> net = nasrank.create_space("nb201").supernet(C=2, N=1)
        >>> p = FairPath(net)
        >>> isinstance(p, ArchParameterization)
        True
        >>> ws = p.draw(np.random.default_rng(0))
        >>> len(ws), sum(w for w in ws).tolist()[0]  # 5 paths: each op of edge 0 once
        (5, [1.0, 1.0, 1.0, 1.0, 1.0])
    """

    def weights(self) -> np.ndarray:
        """The deterministic weight matrix (current, or expected under the sampling)."""
        ...

    def draw(self, rng: np.random.Generator) -> list[Any]:
        """The weight matrices of one training step (one or more; arrays or tensors)."""
        ...

    def parameters(self) -> list[torch.Tensor]:
        """The learnable architecture parameters (empty for the path samplers)."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """The parameterisation's state."""
        ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`."""
        ...
