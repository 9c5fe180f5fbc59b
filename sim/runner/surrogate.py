"""A Gaussian-process surrogate of robustness over the unit cube (numpy and scipy only):
the model behind Bayesian-optimisation search and the pass/fail boundary of a search.

Squared-exponential kernel with one length scale, chosen from a fixed ladder by the
closed-form leave-one-out error (Rasmussen & Williams 2006, §5.4.2), or one per dimension
(automatic relevance determination: the boundary classifier); targets standardised; a small
nugget for numerical stability. Deterministic: no random restarts.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_factor, cho_solve, solve_triangular

LENGTHS = (0.05, 0.1, 0.2, 0.35, 0.6, 1.0)
#: Per-dimension ladder: a dimension the outcome hardly depends on gets a long length.
ARD_LENGTHS = (*LENGTHS, 2.0, 5.0)
NUGGET = 1e-6
#: Robustness beyond these bounds carries no more information about the boundary (a run
#: that passes by a mile), and an unbounded value would dominate the fit.
CLIP = (-2.0, 2.0)


def _kernel(a: np.ndarray, b: np.ndarray, length: float | np.ndarray) -> np.ndarray:
    """exp(−½ Σ_k ((a_k − b_k)/ℓ_k)²), ℓ one length or one per dimension."""
    ell = np.broadcast_to(np.asarray(length, dtype=float), (a.shape[1],))
    d2 = (((a[:, None, :] - b[None, :, :]) / ell) ** 2).sum(axis=2)
    return np.exp(-0.5 * d2)


class GaussianProcess:
    """GP regression on points ``x`` (n, d) in [0, 1]^d with values ``y`` (n,)."""

    def __init__(
        self, x: np.ndarray, y: np.ndarray, length: float | np.ndarray | None = None
    ) -> None:
        self.x = np.asarray(x, dtype=float)
        y = np.clip(np.asarray(y, dtype=float), *CLIP)
        self.mean0, self.scale = float(y.mean()), float(y.std()) or 1.0
        self.z = (y - self.mean0) / self.scale
        if length is None:
            length = min(LENGTHS, key=lambda ell: self._loo_error(ell))
        self.length = length
        self._fit(length)

    def _fit(self, length: float | np.ndarray) -> None:
        k = _kernel(self.x, self.x, length) + NUGGET * np.eye(len(self.x))
        self.chol = cho_factor(k, lower=True)
        self.alpha = cho_solve(self.chol, self.z)

    def _loo_error(self, length: float | np.ndarray) -> float:
        self._fit(length)
        mean, _ = self._loo_standardised()
        return float(((mean - self.z) ** 2).mean())

    def _loo_standardised(self) -> tuple[np.ndarray, np.ndarray]:
        """Leave-one-out means and variances in one solve: μ_i = z_i − [K⁻¹z]_i / [K⁻¹]_ii,
        σ²_i = 1 / [K⁻¹]_ii."""
        kinv = cho_solve(self.chol, np.eye(len(self.x)))
        d = np.diag(kinv)
        return self.z - self.alpha / d, 1.0 / d

    def loo(self) -> tuple[np.ndarray, np.ndarray]:
        """Leave-one-out predictive mean and standard deviation of each training point."""
        mean, var = self._loo_standardised()
        return self.mean0 + self.scale * mean, self.scale * np.sqrt(np.maximum(var, 0.0))

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation at ``x`` (m, d)."""
        k = _kernel(np.asarray(x, dtype=float), self.x, self.length)
        mean = k @ self.alpha
        v = solve_triangular(self.chol[0], k.T, lower=True)
        var = np.maximum(1.0 + NUGGET - (v * v).sum(axis=0), 1e-12)
        return self.mean0 + self.scale * mean, self.scale * np.sqrt(var)
