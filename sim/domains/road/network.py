"""The compiled road network: every road's reference line in one set of arrays.

Stations of all roads live on one global axis, ``g = base[road] + s``, so a single
``searchsorted`` locates any number of (road, s) pairs at once. Road r owns vertices
``v0[r] .. v1[r]`` (inclusive) of ``V``; segment k joins vertex k and k + 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from sim.core.geometry import clamp, project_to_segments, wrap_angle
from sim.domains.road.schema import RoadMap

#: Arcs are sampled so that the chord deviates at most this much from the true arc.
CHORD_TOLERANCE_M = 0.01
BASE_GAP_M = 1.0e6
SIGNAL_STATES = {"green": 0, "yellow": 1, "red": 2}
SIGNAL_NAMES = ("green", "yellow", "red", "dark")
SIGNAL_DARK = 3  # switched off (a traffic_light_dark fault)


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(8)


def clothoid_points(
    x: float, y: float, psi: float, k0: float, k1: float, length: float, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points (x, y) and tangent heading at lengths ``u`` (ascending, from 0) along a clothoid
    starting at (x, y, psi) whose curvature goes linearly from ``k0`` to ``k1`` over ``length``.

    The heading is the exact quadratic; positions integrate cos/sin of it with 8-point
    Gauss-Legendre on each interval (exact to ~1e-12 m for steps of metres: the integrand is
    smooth and each interval turns by well under a radian). Fresnel integrals would need
    k0 = 0 or a shifted origin; this works for any start curvature."""
    c = (k1 - k0) / length

    def theta(s: np.ndarray) -> np.ndarray:
        return psi + k0 * s + 0.5 * c * s * s

    a, b = u[:-1], u[1:]
    mid, half = 0.5 * (a + b), 0.5 * (b - a)
    s = mid[:, None] + half[:, None] * _GL_NODES[None, :]
    th = theta(s)
    dx = (np.cos(th) @ _GL_WEIGHTS) * half
    dy = (np.sin(th) @ _GL_WEIGHTS) * half
    xs = x + np.concatenate([[0.0], np.cumsum(dx)])
    ys = y + np.concatenate([[0.0], np.cumsum(dy)])
    return xs, ys, theta(u)


def road_reference(spec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_sample_reference` of a road: lane 0's centre, in the direction of travel."""
    return _sample_reference(
        spec,
        offset=spec.reference_offset,
        reverse=spec.reverse,
        tolerance=spec.chord_tolerance,
    )


def _sample_reference(
    spec, *, offset: float = 0.0, reverse: bool = False, tolerance: float = CHORD_TOLERANCE_M
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices (n, 2), exact tangent heading at each vertex (n,) and per-segment curvature
    (n-1,) of a road's reference line. Tangents are exact for lines, arcs and clothoids (so
    lanes offset from the reference stay smooth through joins); for ``points`` they average
    the neighbouring chords. ``offset`` moves the line sideways (+ left) along the exact
    normals (the offset of an arc is an arc: its vertices stay on it); ``reverse`` then runs
    it from its end to its start."""
    x, y, psi = spec.start.x, spec.start.y, spec.start.heading
    pts = [(x, y)]
    tangents = [psi]
    kappa: list[float] = []
    for seg in spec.geometry:
        if seg.line is not None:
            x, y = x + seg.line * math.cos(psi), y + seg.line * math.sin(psi)
            pts.append((x, y))
            tangents[-1] = psi if len(pts) == 2 else tangents[-1]
            tangents.append(psi)
            kappa.append(0.0)
        elif seg.arc is not None:
            r = float(seg.radius)
            step = math.sqrt(8.0 * abs(r - offset) * tolerance)
            n = max(2, math.ceil(seg.arc / step))
            cx, cy = x - r * math.sin(psi), y + r * math.cos(psi)
            for k in range(1, n + 1):
                ang = psi + (seg.arc * k / n) / r
                pts.append((cx + r * math.sin(ang), cy - r * math.cos(ang)))
                tangents.append(ang)
                kappa.append(1.0 / r)
            psi = psi + seg.arc / r
            x, y = pts[-1]
        elif seg.clothoid is not None:
            k0, k1 = (float(k) for k in seg.curvature)
            length = float(seg.clothoid)
            # the sharpest end of the (offset) curve sets the step: chord error ~ k·h²/8
            k_max = max(abs(k / (1.0 - k * offset)) for k in (k0, k1))
            n = max(1, math.ceil(length / math.sqrt(8.0 * tolerance / k_max))) if k_max else 1
            u = length * np.arange(n + 1) / n
            xs, ys, th = clothoid_points(x, y, psi, k0, k1, length, u)
            pts.extend(zip(xs[1:].tolist(), ys[1:].tolist(), strict=True))
            tangents.extend(th[1:].tolist())
            um = 0.5 * (u[:-1] + u[1:])
            kappa.extend((k0 + (k1 - k0) * um / length).tolist())
            x, y, psi = float(xs[-1]), float(ys[-1]), float(th[-1])
        else:
            for px, py in seg.points:
                if math.hypot(px - x, py - y) > 1e-9:
                    new_psi = math.atan2(py - y, px - x)
                    tangents[-1] = tangents[-1] + 0.5 * float(wrap_angle(new_psi - tangents[-1]))
                    psi, x, y = new_psi, px, py
                    pts.append((x, y))
                    tangents.append(psi)
                    kappa.append(0.0)
    P, T, K = np.asarray(pts, dtype=float), np.asarray(tangents), np.asarray(kappa, dtype=float)
    if offset:
        P = P + offset * np.stack([-np.sin(T), np.cos(T)], axis=1)
        K = K / (1.0 - K * offset)
    if reverse:
        P, T, K = P[::-1].copy(), wrap_angle(T[::-1] + math.pi), -K[::-1]
    return P, T, K


@dataclass
class RoadNetwork:
    """Arrays of the whole network; built once per run by :meth:`build`."""

    ids: tuple[str, ...]
    V: np.ndarray  # (M, 2) vertices of all reference lines
    G: np.ndarray  # (M,) global station of each vertex
    seg_heading: np.ndarray  # (M,) heading of segment k (last vertex of a road: copy)
    vtx_heading: np.ndarray  # (M,) smoothed heading at each vertex
    seg_kappa: np.ndarray  # (M,) curvature of segment k
    v0: np.ndarray  # (R,) first vertex of each road
    v1: np.ndarray  # (R,) last vertex of each road
    base: np.ndarray  # (R,) global station of each road's start
    length: np.ndarray  # (R,) road length
    closed: np.ndarray  # (R,) bool
    successor: np.ndarray  # (R,) road index or -1
    lanes: np.ndarray  # (R,) lane count
    lane_width: np.ndarray  # (R,)
    speed_limit: np.ndarray  # (R, max_lanes)
    markings: list[list[str]]
    drivable: shapely.Geometry
    # signals, sorted by global station
    sig_ids: tuple[str, ...]
    sig_road: np.ndarray
    sig_s: np.ndarray
    sig_g: np.ndarray
    sig_cum: list[np.ndarray]  # cumulative phase ends per signal
    sig_states: list[np.ndarray]
    sig_offset: np.ndarray

    @classmethod
    def build(cls, spec: RoadMap) -> RoadNetwork:
        ids = tuple(r.id for r in spec.roads)
        index = {r: i for i, r in enumerate(ids)}
        verts, kappas, tangents, v0, v1, base, length = [], [], [], [], [], [], []
        offset, g_start = 0, 0.0
        for r in spec.roads:
            pts, tan, kap = road_reference(r)
            tangents.append(tan)
            if r.closed:
                pts[-1] = pts[0]  # close exactly (the check allows a small gap)
            seglen = np.hypot(*np.diff(pts, axis=0).T)
            s = np.concatenate([[0.0], np.cumsum(seglen)])
            verts.append((pts, g_start + s))
            kappas.append(np.concatenate([kap, [kap[-1] if kap.size else 0.0]]))
            v0.append(offset)
            v1.append(offset + len(pts) - 1)
            base.append(g_start)
            length.append(float(s[-1]))
            offset += len(pts)
            g_start += float(s[-1]) + BASE_GAP_M
        V = np.concatenate([p for p, _ in verts])
        G = np.concatenate([g for _, g in verts])
        v0a, v1a = np.asarray(v0), np.asarray(v1)
        d = np.diff(V, axis=0, append=V[-1:])
        seg_heading = np.arctan2(d[:, 1], d[:, 0])
        seg_heading[v1a] = seg_heading[v1a - 1]
        vtx_heading = np.concatenate(tangents)
        for a, b, r in zip(v0a, v1a, spec.roads, strict=True):
            if r.closed:  # the loop's end and its start share one tangent
                joined = vtx_heading[b] + 0.5 * wrap_angle(vtx_heading[a] - vtx_heading[b])
                vtx_heading[a] = vtx_heading[b] = joined
        max_lanes = max(r.lanes for r in spec.roads)
        limit = np.zeros((len(ids), max_lanes))
        markings = []
        for i, r in enumerate(spec.roads):
            limit[i, :] = r.speed_limit
            if r.lane_speed_limits:
                limit[i, : r.lanes] = r.lane_speed_limits
            markings.append(
                list(r.markings)
                if r.markings
                else ["solid"] + ["dashed"] * (r.lanes - 1) + ["solid"]
            )
        net = cls(
            ids=ids,
            V=V,
            G=G,
            seg_heading=seg_heading,
            vtx_heading=vtx_heading,
            seg_kappa=np.concatenate(kappas),
            v0=v0a,
            v1=v1a,
            base=np.asarray(base),
            length=np.asarray(length),
            closed=np.array([r.closed for r in spec.roads]),
            successor=np.array(
                [index.get(r.successor, -1) if r.successor else -1 for r in spec.roads]
            ),
            lanes=np.array([r.lanes for r in spec.roads]),
            lane_width=np.array([r.lane_width for r in spec.roads]),
            speed_limit=limit,
            markings=markings,
            drivable=shapely.Point(0, 0),
            sig_ids=(),
            sig_road=np.zeros(0, int),
            sig_s=np.zeros(0),
            sig_g=np.zeros(0),
            sig_cum=[],
            sig_states=[],
            sig_offset=np.zeros(0),
        )
        net.drivable = net._drivable_area()
        shapely.prepare(net.drivable)
        sigs = sorted(spec.signals, key=lambda s: net.base[index[s.road]] + s.s)
        net.sig_ids = tuple(s.id for s in sigs)
        net.sig_road = np.array([index[s.road] for s in sigs], dtype=int)
        net.sig_s = np.array([s.s for s in sigs], dtype=float)
        net.sig_g = net.base[net.sig_road] + net.sig_s if sigs else np.zeros(0)
        net.sig_cum = [np.cumsum([p.duration for p in s.phases]) for s in sigs]
        net.sig_states = [np.array([SIGNAL_STATES[p.state] for p in s.phases]) for s in sigs]
        net.sig_offset = np.array([s.offset for s in sigs], dtype=float)
        return net

    # ---------------------------------------------------------------- geometry
    def boundary(self, road: int, t: float) -> np.ndarray:
        """Polyline (n, 2) at lateral offset ``t`` from road ``road``'s reference line."""
        a, b = self.v0[road], self.v1[road]
        h = self.vtx_heading[a : b + 1]
        return self.V[a : b + 1] + t * np.stack([-np.sin(h), np.cos(h)], axis=1)

    def _drivable_area(self) -> shapely.Geometry:
        quads = []
        for r in range(len(self.ids)):
            w = self.lane_width[r]
            right = self.boundary(r, -0.5 * w)
            left = self.boundary(r, (self.lanes[r] - 0.5) * w)
            q = np.stack([right[:-1], right[1:], left[1:], left[:-1]], axis=1)
            quads.append(q)
        polys = shapely.polygons(np.concatenate(quads))
        return shapely.union_all(shapely.make_valid(polys))

    def locate(self, road: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Segment index (N,) and fraction along it (N,) of stations ``s`` on ``road``."""
        g = self.base[road] + s
        k = np.searchsorted(self.G, g, side="right") - 1
        k = clamp(k, self.v0[road], self.v1[road] - 1)
        seg = self.G[k + 1] - self.G[k]
        frac = clamp((g - self.G[k]) / np.where(seg > 0, seg, 1.0), 0.0, 1.0)
        return k, frac

    def pose(
        self, road: np.ndarray, s: np.ndarray, t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """World x, y, road heading and curvature at (road, s, t). All (N,)."""
        x, y, h, k = self.pose_seg(road, s, t)
        return x, y, h, self.seg_kappa[k]

    def pose_seg(
        self, road: np.ndarray, s: np.ndarray, t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """As :meth:`pose`, returning the segment index instead of the curvature."""
        k, f = self.locate(road, s)
        a = self.V[k]
        p = a + f[:, None] * (self.V[k + 1] - a)
        h0 = self.vtx_heading[k]
        h = h0 + f * wrap_angle(self.vtx_heading[k + 1] - h0)
        return p[:, 0] - t * np.sin(h), p[:, 1] + t * np.cos(h), h, k

    def project(
        self,
        road: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        seg_hint: np.ndarray | None = None,
        *,
        window: int = 3,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Station s, lateral offset t and segment of world points on their ``road``.

        With ``seg_hint`` only ``window`` segments either side of the hint are searched (the
        tick-to-tick case); without it every segment of the road is (at placement).
        Returns three (N,) arrays.
        """
        n = road.shape[0]
        if n == 0:
            return np.zeros(0), np.zeros(0), np.zeros(0, dtype=int)
        nseg = self.v1[road] - self.v0[road]
        if seg_hint is None:
            width = int(nseg.max())
            local = np.broadcast_to(np.arange(width), (n, width))
            ok = local < nseg[:, None]
        else:
            offs = np.arange(-window, window + 1)
            local = (seg_hint - self.v0[road])[:, None] + offs
            closed = self.closed[road][:, None]
            wrapped = np.mod(local, nseg[:, None])
            local = np.where(closed, wrapped, clamp(local, 0, nseg[:, None] - 1))
            ok = np.ones(local.shape, dtype=bool)
        k = self.v0[road][:, None] + np.minimum(local, nseg[:, None] - 1)
        a, b = self.V[k], self.V[k + 1]
        frac, d2, _ = project_to_segments(x, y, a[..., 0], a[..., 1], b[..., 0], b[..., 1])
        d2 = np.where(ok, d2, np.inf)
        j = np.argmin(d2, axis=1)
        rows = np.arange(n)
        kk = k[rows, j]
        fr = frac[rows, j]
        # refine: pose() offsets along normals interpolated between vertex tangents, so the
        # inverse is the f where the offset from the chord point is normal to h(f)
        a, d = self.V[kk], self.V[kk + 1] - self.V[kk]
        h0, dh = self.vtx_heading[kk], wrap_angle(self.vtx_heading[kk + 1] - self.vtx_heading[kk])
        qx, qy = x - a[:, 0], y - a[:, 1]
        for _ in range(3):
            h = h0 + fr * dh
            c, sn = np.cos(h), np.sin(h)
            fr = clamp((qx * c + qy * sn) / (d[:, 0] * c + d[:, 1] * sn), 0.0, 1.0)
        h = h0 + fr * dh
        t = -(qx - fr * d[:, 0]) * np.sin(h) + (qy - fr * d[:, 1]) * np.cos(h)
        s = self.G[kk] + fr * (self.G[kk + 1] - self.G[kk]) - self.base[road]
        return s, t, kk

    def lane_of(self, road: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Lane index containing lateral offset ``t`` (clipped to the road's lanes)."""
        w = self.lane_width[road]
        return clamp(np.rint(t / w), 0, self.lanes[road] - 1).astype(np.int32)

    # ---------------------------------------------------------------- signals
    def signal_states(self, time_s: float) -> np.ndarray:
        """State code (0 green, 1 yellow, 2 red) of every signal at ``time_s``. (S,)."""
        out = np.zeros(len(self.sig_ids), dtype=np.int8)
        for i, (cum, st) in enumerate(zip(self.sig_cum, self.sig_states, strict=True)):
            tc = (time_s + self.sig_offset[i]) % cum[-1]
            out[i] = st[np.searchsorted(cum, tc, side="right")]
        return out

    def next_signal(self, road: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Index of the first signal at or ahead of station ``s`` on the same road, or -1."""
        if not self.sig_ids:
            return np.full(road.shape, -1)
        g = self.base[road] + s
        k = np.searchsorted(self.sig_g, g, side="left")
        kc = np.minimum(k, len(self.sig_ids) - 1)
        ok = (k < len(self.sig_ids)) & (self.sig_road[kc] == road)
        return np.where(ok, kc, -1)
