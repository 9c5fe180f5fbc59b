"""Pairs of moving entities on arrays: closest point of approach, and pair search by
distance without O(N²) memory (shared by the air and water domains)."""

from __future__ import annotations

import numpy as np

from sim.core.geometry import grid_pairs

#: Below this squared relative speed (m²/s²) a pair is treated as not moving relative to
#: each other (its separation is constant).
STILL_V2 = 1e-12
#: Past this many entities the pair search uses the grid index instead of all pairs.
SPATIAL_INDEX_MIN = 300


def cpa(
    sx: np.ndarray, sy: np.ndarray, vx: np.ndarray, vy: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Time and distance of closest horizontal approach of two straight tracks.

    t_CPA = −(s·v)/(v·v) (0 when v = 0), d_CPA = |s + t_CPA·v| (BlueSky ``statebased.py``:
    d_CPA² = d² − t_CPA²·|v|²). t_CPA < 0 means the pair is diverging.
    """
    v2 = vx * vx + vy * vy
    still = v2 < STILL_V2
    t = np.where(still, 0.0, -(sx * vx + sy * vy) / np.where(still, 1.0, v2))
    return t, np.hypot(sx + t * vx, sy + t * vy)


def all_pairs(valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (i < j) of valid indices (the reference path for small fleets)."""
    idx = np.flatnonzero(valid)
    a, b = np.triu_indices(idx.size, k=1)
    return idx[a], idx[b]


def pairs_within(
    x: np.ndarray, y: np.ndarray, valid: np.ndarray, radius: float, *, spatial: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) whose horizontal distance is ≤ ``radius``. ``spatial`` forces the grid
    index (True) or all pairs (False); default by fleet size."""
    if spatial is None:
        spatial = int(valid.sum()) > SPATIAL_INDEX_MIN
    if spatial:
        h = 0.5 * radius
        i, j = grid_pairs(x - h, y - h, x + h, y + h, valid, radius)
    else:
        i, j = all_pairs(valid)
    keep = (x[i] - x[j]) ** 2 + (y[i] - y[j]) ** 2 <= radius * radius
    return i[keep], j[keep]
