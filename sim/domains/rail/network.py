"""The compiled track network and per-train path profiles (piecewise-constant functions of
the path coordinate, evaluated for all trains at once)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.domains.rail.schema import RailMap
from sim.domains.road.network import _sample_reference


@dataclass
class Network:
    ids: list[str]
    index: dict[str, int]
    length: np.ndarray  # (T,)
    pts: list[np.ndarray]  # per track (n, 2) polyline
    cum: list[np.ndarray]  # per track (n,) arc length at vertices

    @classmethod
    def build(cls, rmap: RailMap) -> Network:
        pts, cum = [], []
        for t in rmap.tracks:
            p, _, _ = _sample_reference(t)
            c = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(p, axis=0).T))])
            pts.append(p)
            cum.append(c)
        net = cls(
            ids=[t.id for t in rmap.tracks],
            index={t.id: i for i, t in enumerate(rmap.tracks)},
            length=np.array([c[-1] for c in cum]),
            pts=pts,
            cum=cum,
        )
        # all tracks in one station array, 1 m apart so that their ends never coincide
        net.base = np.concatenate([[0.0], np.cumsum(net.length + 1.0)])[:-1]
        net.g_cum = np.concatenate([c + b for c, b in zip(cum, net.base, strict=True)])
        net.g_pts = np.concatenate(pts)
        sizes = np.array([len(c) for c in cum])
        net.first = np.concatenate([[0], np.cumsum(sizes)])[:-1]
        net.last = net.first + sizes - 1
        return net

    base: np.ndarray = None  # type: ignore[assignment]
    g_cum: np.ndarray = None  # type: ignore[assignment]
    g_pts: np.ndarray = None  # type: ignore[assignment]
    first: np.ndarray = None  # type: ignore[assignment]
    last: np.ndarray = None  # type: ignore[assignment]

    def pose_many(
        self, track: np.ndarray, s: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """World (x, y, heading) at ``s`` along ``track`` for many points at once."""
        s = np.clip(s, 0.0, self.length[track])
        g = self.base[track] + s
        k = np.searchsorted(self.g_cum, g, side="right") - 1
        k = np.clip(k, self.first[track], self.last[track] - 1)
        c0, c1 = self.g_cum[k], self.g_cum[k + 1]
        f = (g - c0) / np.maximum(c1 - c0, 1e-12)
        d = self.g_pts[k + 1] - self.g_pts[k]
        return (
            self.g_pts[k, 0] + f * d[:, 0],
            self.g_pts[k, 1] + f * d[:, 1],
            np.arctan2(d[:, 1], d[:, 0]),
        )

    def pose(self, track: int, s: float) -> tuple[float, float, float]:
        """World (x, y, heading) at ``s`` metres along ``track`` (clamped to its ends)."""
        p, c = self.pts[track], self.cum[track]
        s = min(max(s, 0.0), c[-1])
        k = int(np.clip(np.searchsorted(c, s, side="right") - 1, 0, len(c) - 2))
        f = (s - c[k]) / max(c[k + 1] - c[k], 1e-12)
        d = p[k + 1] - p[k]
        return float(p[k, 0] + f * d[0]), float(p[k, 1] + f * d[1]), float(np.arctan2(d[1], d[0]))


class RowProfile:
    """Per-row piecewise-constant functions: row r has breakpoints ``bp[r]`` (ascending,
    +inf padded) and the value ``val[r, k]`` holding from ``bp[r, k]`` on. ``at`` evaluates
    every row at its own coordinate in one ``searchsorted`` (rows offset by a stride)."""

    def __init__(self, rows: list[list[tuple[float, float]]], default: float) -> None:
        n = len(rows)
        k = max([len(r) for r in rows] + [1]) + 1
        self.bp = np.full((n, k), np.inf)
        self.val = np.full((n, k), default)
        self.bp[:, 0] = -np.inf
        for i, r in enumerate(rows):
            for j, (b, v) in enumerate(sorted(r)):
                self.bp[i, j + 1] = b
                self.val[i, j + 1] = v
        finite = self.bp[np.isfinite(self.bp)]
        self.stride = float(np.abs(finite).max(initial=0.0)) * 2 + 1e6
        off = np.arange(n)[:, None] * self.stride
        flat = np.clip(self.bp, -self.stride / 2.5, self.stride / 2.5) + off
        self.flat = flat.ravel()
        self.k = k

    def index(self, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
        q = np.clip(x, -self.stride / 2.5, self.stride / 2.5) + rows * self.stride
        return np.searchsorted(self.flat, q, side="right") - 1 - rows * self.k

    def at(self, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.val[rows, self.index(rows, x)]

    def min_over(self, rows: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Smallest value on [a, b] of each row (a ≤ b)."""
        ia, ib = self.index(rows, a), self.index(rows, b)
        cols = np.arange(self.k)[None, :]
        inside = (cols >= ia[:, None]) & (cols <= ib[:, None])
        return np.where(inside, self.val[rows], np.inf).min(axis=1)

    def ahead(self, row: int, x: float, horizon: float) -> tuple[np.ndarray, np.ndarray]:
        """Breakpoints of ``row`` in (x, x + horizon] as distances from x, and their values."""
        b = self.bp[row]
        m = (b > x) & (b <= x + horizon)
        return b[m] - x, self.val[row][m]
