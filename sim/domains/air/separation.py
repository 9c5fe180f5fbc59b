"""Pairwise separation geometry on arrays: CPA/TCPA, state-based conflict intervals,
DO-365 well clear (modified tau), and candidate-pair search without O(N²) memory.

Every function takes per-pair relative states: horizontal relative position (sx, sy) and
velocity (vx, vy) of the intruder with respect to the ownship (intruder − ownship), vertical
relative position sz and rate vz. Shapes (P,).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.core.geometry import grid_pairs
from sim.core.pairs import SPATIAL_INDEX_MIN, STILL_V2, all_pairs, cpa


def taumod(
    sx: np.ndarray, sy: np.ndarray, vx: np.ndarray, vy: np.ndarray, dmod: float | np.ndarray
) -> np.ndarray:
    """Modified tau (DAIDALUS ``WCV_TAUMOD``): τ_mod = (DMOD² − s·s)/(s·v) when s·v < 0
    (closing), else −1."""
    sv = sx * vx + sy * vy
    closing = sv < 0
    return np.where(closing, (dmod**2 - (sx * sx + sy * sy)) / np.where(closing, sv, -1.0), -1.0)


def horizontal_wcv(
    sx: np.ndarray,
    sy: np.ndarray,
    vx: np.ndarray,
    vy: np.ndarray,
    dthr: float | np.ndarray,
    tthr: float | np.ndarray,
) -> np.ndarray:
    """Horizontal well-clear violation now (DO-365, HMD = DTHR): |s| ≤ DTHR, or
    d_CPA ≤ DTHR and 0 ≤ τ_mod ≤ TTHR."""
    near = sx * sx + sy * sy <= dthr**2
    _, dcpa = cpa(sx, sy, vx, vy)
    tm = taumod(sx, sy, vx, vy, dthr)
    return near | ((dcpa <= dthr) & (tm >= 0) & (tm <= tthr))


def _vertical_interval(
    sz: np.ndarray, vz: np.ndarray, h: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Interval of t where |sz + vz·t| < h (−inf/inf when level and inside, empty as
    (inf, −inf) when level and outside)."""
    level = np.abs(vz) < 1e-9
    safe = np.where(level, 1.0, vz)
    a, b = (-h - sz) / safe, (h - sz) / safe
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    inside = np.abs(sz) < h
    lo = np.where(level, np.where(inside, -np.inf, np.inf), lo)
    hi = np.where(level, np.where(inside, np.inf, -np.inf), hi)
    return lo, hi


def cylinder_interval(
    sx: np.ndarray,
    sy: np.ndarray,
    sz: np.ndarray,
    vx: np.ndarray,
    vy: np.ndarray,
    vz: np.ndarray,
    r: float | np.ndarray,
    h: float | np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Interval [t_in, t_out] (straight tracks) in which the pair is inside the protected
    zone d < R and |Δh| < H (BlueSky ``statebased.py``): t_in,h/t_out,h = t_CPA ∓
    √(R² − d_CPA²)/|v|, the vertical slab from (±H − sz)/vz; t_in = max, t_out = min.
    Empty intervals have t_in > t_out."""
    tcpa, dcpa = cpa(sx, sy, vx, vy)
    v2 = vx * vx + vy * vy
    still = v2 < STILL_V2
    half = np.sqrt(np.maximum(r**2 - dcpa**2, 0.0) / np.where(still, 1.0, v2))
    hit = dcpa < r
    h_in = np.where(still, np.where(hit, -np.inf, np.inf), np.where(hit, tcpa - half, np.inf))
    h_out = np.where(still, np.where(hit, np.inf, -np.inf), np.where(hit, tcpa + half, -np.inf))
    v_in, v_out = _vertical_interval(sz, vz, h)
    return np.maximum(h_in, v_in), np.minimum(h_out, v_out)


def wcv_interval(
    sx: np.ndarray,
    sy: np.ndarray,
    sz: np.ndarray,
    vx: np.ndarray,
    vy: np.ndarray,
    vz: np.ndarray,
    dthr: float | np.ndarray,
    zthr: float | np.ndarray,
    tthr: float | np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Interval [t_in, t_out] of DO-365 well-clear violation for straight tracks.

    Horizontally (HMD = DTHR) the τ_mod condition holds where q(t) = a·t² + b·t + c ≤ 0 with
    a = v·v, b = 2·s·v + TTHR·v·v, c = s·s + TTHR·s·v − DTHR² (DAIDALUS ``WCV_TAUMOD``); it
    starts at the smaller root and, with |s(t)| ≤ DTHR, lasts until t_CPA + √(DTHR² −
    d_CPA²)/|v|; no violation when d_CPA > DTHR. Vertically |sz + vz·t| ≤ ZTHR (TCOA = 0).
    """
    tcpa, dcpa = cpa(sx, sy, vx, vy)
    a = vx * vx + vy * vy
    still = a < STILL_V2
    sa = np.where(still, 1.0, a)
    sv = sx * vx + sy * vy
    b = 2.0 * sv + tthr * a
    c = sx * sx + sy * sy + tthr * sv - dthr**2
    disc = np.maximum(b * b - 4.0 * a * c, 0.0)
    h_in = (-b - np.sqrt(disc)) / (2.0 * sa)
    h_out = tcpa + np.sqrt(np.maximum(dthr**2 - dcpa**2, 0.0) / sa)
    hit = dcpa <= dthr
    inside_now = sx * sx + sy * sy <= dthr**2
    h_in = np.where(still, np.where(inside_now, -np.inf, np.inf), np.where(hit, h_in, np.inf))
    h_out = np.where(still, np.where(inside_now, np.inf, -np.inf), np.where(hit, h_out, -np.inf))
    v_in, v_out = _vertical_interval(sz, vz, zthr * (1 + 1e-12))
    return np.maximum(h_in, v_in), np.minimum(h_out, v_out)


def swept_pairs(
    x: np.ndarray,
    y: np.ndarray,
    ve: np.ndarray,
    vn: np.ndarray,
    valid: np.ndarray,
    lookahead: float,
    radius: float,
    *,
    z: np.ndarray | None = None,
    vz: np.ndarray | None = None,
    height: float = 0.0,
    spatial: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs that may come within ``radius`` (and ``height`` vertically, when ``z`` is
    given) of each other within ``lookahead`` on straight tracks (a superset of the
    conflicts; exact tests follow); all pairs for small fleets.

    The lookahead is cut into slices short enough that each aircraft's track over a slice is
    about four ``radius`` long; in each slice the boxes around the track pieces, grown by R/2, go
    through the grid index; the union of the slices' pairs is returned. Thin slices keep the
    boxes small, so the candidates stay close to the true near pairs even for 300 s tracks.
    """
    if spatial is None:
        spatial = int(valid.sum()) > SPATIAL_INDEX_MIN
    if not spatial:
        return all_pairs(valid)
    speed = np.hypot(ve, vn)
    vmax = float(speed[valid].max(initial=0.0))
    # measured (benchmarks/bench_air.py traffic): pieces ~4 R long are the fastest balance
    # between grid passes and candidates per pass
    slices = max(1, min(64, int(np.ceil(vmax * lookahead / (4.0 * max(radius, 1.0))))))
    cell = radius + vmax * lookahead / slices
    keys = []
    n = np.int64(x.size)
    for k in range(slices):
        t0, t1 = lookahead * k / slices, lookahead * (k + 1) / slices
        ax, ay = x + ve * t0, y + vn * t0
        bx, by = x + ve * t1, y + vn * t1
        h = 0.5 * radius
        zb: dict[str, Any] = {}
        if z is not None and vz is not None:
            za, zb_ = z + vz * t0, z + vz * t1
            zb = {
                "zmin": np.minimum(za, zb_) - 0.5 * height,
                "zmax": np.maximum(za, zb_) + 0.5 * height,
                "zcell": 4.0 * height,
            }
        i, j = grid_pairs(
            np.minimum(ax, bx) - h,
            np.minimum(ay, by) - h,
            np.maximum(ax, bx) + h,
            np.maximum(ay, by) + h,
            valid,
            cell,
            **zb,
        )
        keys.append(i.astype(np.int64) * n + j)
    key = np.unique(np.concatenate(keys))
    return key // n, key % n
