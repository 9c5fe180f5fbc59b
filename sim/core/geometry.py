"""Domain-agnostic geometry on arrays: oriented boxes, broad phase, narrow phase, polylines.

Shapes are given in every docstring; all inputs are float64 numpy arrays.
"""

from __future__ import annotations

import math

import numpy as np
import shapely


def clamp(x: np.ndarray, lo: np.ndarray | float, hi: np.ndarray | float) -> np.ndarray:
    """Elementwise min(max(x, lo), hi): ``np.clip`` without its per-call dispatch overhead
    (several µs, which dominates on the small arrays of a tick)."""
    return np.minimum(np.maximum(x, lo), hi)


def box_corners(
    cx: np.ndarray, cy: np.ndarray, heading: np.ndarray, length: np.ndarray, width: np.ndarray
) -> np.ndarray:
    """Corners of oriented boxes, counter-clockwise from front-left.

    cx, cy, heading, length, width: (N,). Returns (N, 4, 2).
    """
    c, s = np.cos(heading), np.sin(heading)
    hl, hw = 0.5 * length, 0.5 * width
    # local corners (front-left, rear-left, rear-right, front-right)
    lx = np.stack([hl, -hl, -hl, hl], axis=-1)
    ly = np.stack([hw, hw, -hw, -hw], axis=-1)
    x = cx[:, None] + lx * c[:, None] - ly * s[:, None]
    y = cy[:, None] + lx * s[:, None] + ly * c[:, None]
    return np.stack([x, y], axis=-1)


def aabb_half_extents(
    heading: np.ndarray, length: np.ndarray, width: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Half sizes (hx, hy) of the axis-aligned box around each oriented box. Shapes (N,)."""
    c, s = np.abs(np.cos(heading)), np.abs(np.sin(heading))
    return 0.5 * (length * c + width * s), 0.5 * (length * s + width * c)


def candidate_pairs(
    cx: np.ndarray,
    cy: np.ndarray,
    hx: np.ndarray,
    hy: np.ndarray,
    valid: np.ndarray,
    *,
    margin: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Broad phase: index pairs (i < j) whose axis-aligned boxes (grown by ``margin``) overlap.

    Sweep and prune on x in one vectorised pass: sort by x; each box's partners can only lie
    up to ``hx_i + max(hx)`` further along x (one ``searchsorted``); those index ranges are
    expanded with ``repeat``/``arange`` and filtered by the exact AABB test. Cost grows with
    how many boxes share an x-interval, not with N².
    cx, cy, hx, hy, valid: (N,). Returns two (P,) int arrays.
    """
    idx = np.flatnonzero(valid)
    if idx.size < 2:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty
    order = idx[np.argsort(cx[idx], kind="stable")]
    x, y = cx[order], cy[order]
    ex, ey = hx[order] + margin, hy[order] + margin
    stop = np.searchsorted(x, x + ex + ex.max(), side="right")
    start = np.arange(1, x.size + 1)
    count = np.maximum(stop - start, 0)
    total = int(count.sum())
    if total == 0:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty
    a = np.repeat(np.arange(x.size), count)
    b = a + 1 + np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    hit = (x[b] - x[a] <= ex[a] + ex[b]) & (np.abs(y[b] - y[a]) <= ey[a] + ey[b])
    a, b = order[a[hit]], order[b[hit]]
    return np.minimum(a, b), np.maximum(a, b)


def boxes_intersect(corners_a: np.ndarray, corners_b: np.ndarray) -> np.ndarray:
    """Narrow phase with shapely 2: do oriented boxes a[k] and b[k] touch or overlap?

    corners_a, corners_b: (P, 4, 2). Returns (P,) bool.
    """
    if corners_a.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    pa = shapely.polygons(corners_a)
    pb = shapely.polygons(corners_b)
    return shapely.intersects(pa, pb)


def boxes_distance(corners_a: np.ndarray, corners_b: np.ndarray) -> np.ndarray:
    """Free-space distance between oriented boxes a[k] and b[k] (0 when they touch). (P,)."""
    if corners_a.shape[0] == 0:
        return np.zeros(0)
    return shapely.distance(shapely.polygons(corners_a), shapely.polygons(corners_b))


def sweep_gap_x(corners_a: np.ndarray, corners_b: np.ndarray) -> np.ndarray:
    """How far convex polygon a[k] can move along +x before it touches b[k]: 0 when they
    already touch or overlap, inf when a would pass beside b (or b is behind it). (P,).

    First contact of two convex polygons in translation is a vertex of one meeting an edge
    of the other: the smallest non-negative x-distance from a's vertices forward to b's
    edges and from b's vertices backward to a's edges. corners: (P, V, 2).
    """
    if corners_a.shape[0] == 0:
        return np.zeros(0)

    def ray(p: np.ndarray, q: np.ndarray, sign: float) -> np.ndarray:
        """Smallest sign·(x_hit − x_p) ≥ 0 over rays from p's vertices to q's edges."""
        px, py = p[:, :, None, 0], p[:, :, None, 1]
        q1 = np.roll(q, -1, axis=1)
        x0, y0 = q[:, None, :, 0], q[:, None, :, 1]
        x1, y1 = q1[:, None, :, 0], q1[:, None, :, 1]
        dy = y1 - y0
        ok = (np.minimum(y0, y1) <= py) & (py <= np.maximum(y0, y1)) & (np.abs(dy) > 1e-12)
        lam = (py - y0) / np.where(ok, dy, 1.0)
        t = sign * (x0 + lam * (x1 - x0) - px)
        return np.where(ok & (t >= 0.0), t, np.inf).min(axis=(1, 2))

    gap = np.minimum(ray(corners_a, corners_b, 1.0), ray(corners_b, corners_a, -1.0))
    return np.where(boxes_intersect(corners_a, corners_b), 0.0, gap)


def wrap_angle(a: np.ndarray | float) -> np.ndarray | float:
    """Angle(s) wrapped to [-pi, pi)."""
    return (np.asarray(a) + np.pi) % (2.0 * np.pi) - np.pi


def crab_heading(
    track: np.ndarray, speed: np.ndarray, drift_e: np.ndarray | float, drift_n: np.ndarray | float
) -> np.ndarray:
    """Heading (bearing) that makes good the ground track ``track`` at ``speed`` through the
    air or water when the medium drifts by (drift_e, drift_n): ψ = χ + asin(−w⊥ / V), w⊥ the
    drift component to the right of the track (clamped when the drift exceeds the speed)."""
    cross = np.asarray(drift_e) * np.cos(track) - np.asarray(drift_n) * np.sin(track)
    ratio = clamp(-cross / np.maximum(speed, 1e-6), -1.0, 1.0)
    return track + np.arcsin(ratio)


def project_to_segments(
    px: np.ndarray, py: np.ndarray, ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest point of each point on each candidate segment.

    px, py: (N,); ax..by: (N, K) segment ends per point. Returns (frac (N,K) in [0, 1],
    squared distance (N,K), signed cross product (N,K): > 0 when the point is left of a->b).
    """
    dx, dy = bx - ax, by - ay
    len2 = dx * dx + dy * dy
    rx, ry = px[:, None] - ax, py[:, None] - ay
    frac = clamp((rx * dx + ry * dy) / np.maximum(len2, 1e-300), 0.0, 1.0)
    qx, qy = rx - frac * dx, ry - frac * dy
    return frac, qx * qx + qy * qy, dx * ry - dy * rx


def grid_pairs(
    xmin: np.ndarray,
    ymin: np.ndarray,
    xmax: np.ndarray,
    ymax: np.ndarray,
    valid: np.ndarray,
    cell: float,
    *,
    zmin: np.ndarray | None = None,
    zmax: np.ndarray | None = None,
    zcell: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Broad phase on a uniform grid: index pairs (i < j) whose axis-aligned boxes overlap.

    Each box is registered in every cell (side ``cell``; ``zcell`` vertically when z bounds
    are given) it touches; pairs sharing a cell are tested exactly and reported once, in the
    cell that holds the lower corner (max of the mins) of their overlap. Memory and time grow
    with the boxes per cell, not with N² nor with the spread of box sizes along one axis (the
    weakness of a 1-D sweep); best with cells about the typical box size. All inputs (N,).
    Returns two (P,) int arrays.
    """
    idx = np.flatnonzero(valid)
    empty = np.empty(0, dtype=np.intp)
    if idx.size < 2:
        return empty, empty
    lo = [xmin[idx], ymin[idx]]
    hi = [xmax[idx], ymax[idx]]
    size = [cell, cell]
    if zmin is not None and zmax is not None:
        lo.append(zmin[idx])
        hi.append(zmax[idx])
        size.append(zcell)
    # Cells far smaller than the boxes (or a world too wide for int64 cell keys) would
    # register each box in millions of cells: coarsen until each box touches a few cells
    # and every key fits. The cell size changes only the cost, never the pairs found.
    budget = 16 * idx.size + 1024
    while True:
        c0 = [np.floor(a / s).astype(np.int64) for a, s in zip(lo, size, strict=True)]
        c1 = [np.floor(a / s).astype(np.int64) for a, s in zip(hi, size, strict=True)]
        base = [int(c.min()) for c in c0]
        span = [int(c.max()) - b + 1 for c, b in zip(c1, base, strict=True)]
        extent = [b - a + 1 for a, b in zip(c0, c1, strict=True)]
        cells = np.prod([e.astype(float) for e in extent], axis=0)  # float: no wrap-around
        if cells.sum() <= budget and math.prod(span) < 2**62:
            count = cells.astype(np.int64)
            break
        size = [2.0 * s for s in size]
    owner = np.repeat(np.arange(idx.size), count)
    k = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    key = np.zeros(k.size, dtype=np.int64)
    for d in range(len(lo)):
        e = extent[d][owner]
        key = key * span[d] + (c0[d][owner] + k % e - base[d])
        k = k // e
    order = np.argsort(key, kind="stable")
    key, owner = key[order], owner[order]
    # runs of equal cells: every (p, q) with p < q inside a run is a candidate
    stop = np.searchsorted(key, key, side="right")
    pos = np.arange(key.size)
    cnt = stop - pos - 1
    total = int(cnt.sum())
    if total == 0:
        return empty, empty
    p = np.repeat(pos, cnt)
    q = p + 1 + np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    a, b = owner[p], owner[q]
    hit = np.ones(a.size, dtype=bool)
    corner = np.zeros(a.size, dtype=np.int64)
    for d in range(len(lo)):
        hit &= (lo[d][a] <= hi[d][b]) & (lo[d][b] <= hi[d][a])
        cd = np.floor(np.maximum(lo[d][a], lo[d][b]) / size[d]).astype(np.int64) - base[d]
        corner = corner * span[d] + cd
    # report each pair only in the cell holding its overlap's lower corner
    own = hit & (corner == key[p])
    a, b = idx[a[own]], idx[b[own]]
    return np.minimum(a, b), np.maximum(a, b)
