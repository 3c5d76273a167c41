"""Architecture parameterisations: how the weight matrix of a supernet step is produced.

* :class:`~nasrank.nn.SoftmaxAlpha` — ``softmax(alpha)`` per edge, with the projection state of
  perturbation-based selection (DARTS, DARTS-PT, Zero-Cost-PT). It lives in :mod:`nasrank.nn`
  because every space's supernet owns one over its ``alpha`` parameter (``supernet.arch_param``).
* :class:`DirichletConcentration` — a Dirichlet distribution per edge whose concentration is
  learnt (DrNAS, Chen et al., 2021); each step draws one reparameterised sample.
* :class:`UniformPath` — one architecture of the space drawn uniformly per step (SPOS, Guo et
  al., 2020): a single path.
* :class:`FairPath` — strict fairness (FairNAS, Chu et al., 2021): each step draws ``m`` paths,
  ``m`` the largest number of choices of a position, so that every operation of every edge (every
  value of every position with ``m`` choices) is used exactly once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .._validate import check_float, check_int
from ..exceptions import ConfigError
from ..nn.supernet import SoftmaxAlpha
from ._protocols import Supernet

__all__ = ["SoftmaxAlpha", "DirichletConcentration", "UniformPath", "FairPath"]

Arch = tuple[int, ...]


class DirichletConcentration:
    """Per-edge Dirichlet weights with a learnt concentration (DrNAS).

    The concentration is ``elu(theta) + 1`` (positive, as in DrNAS); :meth:`draw` returns one
    reparameterised sample per step (a tensor differentiable in ``theta``), :meth:`weights` the
    distribution's mean.

    Args:
        num_edges: Rows of the weight matrix.
        num_ops: Columns.
        init: Initial concentration of every entry (1: uniform over the simplex).

    Example:
        >>> import numpy as np
        >>> p = DirichletConcentration(6, 5)
        >>> p.weights()[0].tolist()
        [0.2, 0.2, 0.2, 0.2, 0.2]
        >>> w, = p.draw(np.random.default_rng(0))
        >>> tuple(w.shape), bool(abs(float(w[0].detach().sum()) - 1) < 1e-6), w.requires_grad
        ((6, 5), True, True)
    """

    def __init__(self, num_edges: int, num_ops: int, init: float = 1.0) -> None:
        num_edges = check_int("num_edges", num_edges, 1)
        num_ops = check_int("num_ops", num_ops, 1)
        init = check_float("init", init, minimum=0.0, exclusive_min=True)
        theta = init - 1.0 if init >= 1.0 else math.log(init)  # elu^{-1}(init - 1)
        self.theta = torch.nn.Parameter(torch.full((num_edges, num_ops), float(theta)))

    def concentration(self) -> torch.Tensor:
        """``elu(theta) + 1`` (differentiable).

        Example:
            >>> float(DirichletConcentration(1, 2, init=0.5).concentration().detach()[0, 0])
            0.5
        """
        return F.elu(self.theta) + 1.0

    def weights(self) -> np.ndarray:
        """The mean of the distribution: concentrations normalised per edge (float64).

        Example:
            >>> DirichletConcentration(1, 4).weights().tolist()
            [[0.25, 0.25, 0.25, 0.25]]
        """
        c = self.concentration().detach().double().cpu().numpy()
        return c / c.sum(axis=1, keepdims=True)

    def draw(self, rng: np.random.Generator) -> list[torch.Tensor]:
        """One reparameterised Dirichlet sample per edge, seeded by ``rng``.

        Example:
            >>> import numpy as np
            >>> p = DirichletConcentration(2, 3)
            >>> a, = p.draw(np.random.default_rng(1)); b, = p.draw(np.random.default_rng(1))
            >>> torch.equal(a, b)
            True
        """
        seed = int(rng.integers(2**63 - 1))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            sample = torch.distributions.Dirichlet(self.concentration()).rsample()
        return [sample]

    def parameters(self) -> list[torch.Tensor]:
        """``[theta]``.

        Example:
            >>> [tuple(p.shape) for p in DirichletConcentration(2, 3).parameters()]
            [(2, 3)]
        """
        return [self.theta]

    def state_dict(self) -> dict[str, Any]:
        """``{"theta": tensor}``.

        Example:
            >>> list(DirichletConcentration(2, 3).state_dict())
            ['theta']
        """
        return {"theta": self.theta.detach().clone()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`.

        Example:
            >>> p, q = DirichletConcentration(1, 2, init=3.0), DirichletConcentration(1, 2)
            >>> q.load_state_dict(p.state_dict()); q.concentration().tolist()
            [[3.0, 3.0]]
        """
        with torch.no_grad():
            self.theta.copy_(torch.as_tensor(state["theta"], dtype=self.theta.dtype))

    def __repr__(self) -> str:
        return f"DirichletConcentration(edges={self.theta.shape[0]}, ops={self.theta.shape[1]})"


class _PathSampler:
    """Shared part of the single-path samplers: paths are architectures of the supernet's space."""

    def __init__(self, supernet: Supernet) -> None:
        if not isinstance(supernet, Supernet):
            raise ConfigError(f"expected a supernet (see nasrank.oneshot.Supernet), got {type(supernet).__name__}")
        self.supernet = supernet
        self.space = supernet.space

    def sample_archs(self, rng: np.random.Generator) -> list[Arch]:
        raise NotImplementedError

    def draw(self, rng: np.random.Generator) -> list[np.ndarray]:
        """The one-hot weight matrices of the paths of one step."""
        return [self.supernet.path_weights(a) for a in self.sample_archs(rng)]

    def weights(self) -> np.ndarray:
        """The uniform mixture (``1 / len(ops)`` everywhere): the deterministic counterpart."""
        n_ops = len(self.supernet.ops)
        return np.full((self.supernet.num_edges, n_ops), 1.0 / n_ops)

    def parameters(self) -> list[torch.Tensor]:
        """No learnable parameters."""
        return []

    def state_dict(self) -> dict[str, Any]:
        """Stateless (the caller's generator carries the randomness): ``{}``."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Nothing to restore."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({type(self.supernet).__name__})"


class UniformPath(_PathSampler):
    """Single-path uniform sampling (SPOS): each step trains one architecture drawn uniformly
    from the supernet's space (``space.sample``).

    Args:
        supernet: The supernet whose paths are drawn.

    Example:
        >>> import numpy as np, nasrank
        >>> net = nasrank.create_space("nb201").supernet(C=2, N=1)
        >>> p = UniformPath(net)
        >>> p.sample_archs(np.random.default_rng(0))
        [(4, 3, 2, 1, 1, 0)]
        >>> w, = p.draw(np.random.default_rng(0)); w.sum(1).tolist()
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """

    def sample_archs(self, rng: np.random.Generator) -> list[Arch]:
        """``[space.sample(rng)]``."""
        return [self.space.sample(rng)]


class FairPath(_PathSampler):
    """Strict-fairness sampling (FairNAS): ``m`` paths per step that use every value of every
    position exactly once.

    ``m`` is the largest number of choices of a position of ``space.choices()``; each position
    takes a random permutation of its choices across the ``m`` paths (a position with fewer
    choices repeats fresh permutations), and ``space.project`` repairs each path (e.g. DARTS
    redraws a node's duplicate input; its operations stay fair). In NAS-Bench-201 every edge's
    5 operations are each used once per step, as in FairNAS.

    Args:
        supernet: The supernet whose paths are drawn.

    Example:
        >>> import numpy as np, nasrank
        >>> net = nasrank.create_space("nb201").supernet(C=2, N=1)
        >>> paths = FairPath(net).sample_archs(np.random.default_rng(0))
        >>> len(paths), sorted(p[0] for p in paths)
        (5, [0, 1, 2, 3, 4])
    """

    def __init__(self, supernet: Supernet) -> None:
        super().__init__(supernet)
        self.choices = tuple(tuple(int(v) for v in c) for c in self.space.choices())
        if not self.choices or not all(self.choices):
            raise ConfigError(f"space {self.space.name!r} declares no choices per position")
        self.m = max(len(c) for c in self.choices)

    def sample_archs(self, rng: np.random.Generator) -> list[Arch]:
        """The ``m`` paths of one step."""
        columns = []
        for c in self.choices:
            reps = -(-self.m // len(c))
            seq = np.concatenate([rng.permutation(np.asarray(c)) for _ in range(reps)])[: self.m]
            columns.append(seq)
        return [self.space.project(tuple(int(col[i]) for col in columns), rng) for i in range(self.m)]
