"""Statistics for reports: binomial and Poisson bounds (regulatory.md §10).

- Clopper–Pearson exact interval for k failures in n runs: p_L = B(α/2; k, n−k+1),
  p_U = B(1−α/2; k+1, n−k) (B: the Beta quantile; p_L = 0 when k = 0, p_U = 1 when k = n).
  Clopper & Pearson, Biometrika 26 (1934) 404–413.
- Zero failures in n runs: one-sided upper bound 1 − α^(1/n) (≈ 3/n at 95 %, "rule of three").
- Events in an exposure T (km or hours): λ_U = χ²_{1−α/2}(2k+2) / (2T),
  λ_L = χ²_{α/2}(2k) / (2T) (two-sided), Garwood 1936; the one-sided 95 % upper bound is the
  high end of the two-sided 90 % interval (k = 0: 2.996 / T).
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import beta, chi2


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    confidence: float


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> Interval:
    """Two-sided exact interval of a proportion with ``k`` successes out of ``n``."""
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n > 0, got k={k}, n={n}")
    a = 1.0 - confidence
    low = 0.0 if k == 0 else float(beta.ppf(a / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - a / 2, k + 1, n - k))
    return Interval(k / n, low, high, confidence)


def zero_failure_upper(n: int, confidence: float = 0.95) -> float:
    """Upper bound on the failure probability after ``n`` runs without failure: 1 − α^(1/n)."""
    if n <= 0:
        raise ValueError(f"need n > 0, got {n}")
    return 1.0 - (1.0 - confidence) ** (1.0 / n)


def poisson_rate(k: int, exposure: float, confidence: float = 0.95) -> Interval:
    """Rate of ``k`` events over ``exposure`` with its exact (Garwood) two-sided interval."""
    if exposure <= 0 or k < 0:
        raise ValueError(f"need k >= 0 and exposure > 0, got k={k}, exposure={exposure}")
    a = 1.0 - confidence
    low = 0.0 if k == 0 else float(chi2.ppf(a / 2, 2 * k)) / (2 * exposure)
    high = float(chi2.ppf(1 - a / 2, 2 * k + 2)) / (2 * exposure)
    return Interval(k / exposure, low, high, confidence)
