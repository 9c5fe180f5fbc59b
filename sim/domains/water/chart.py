"""The compiled chart: land, depth areas, currents, channels and TSS lanes as prepared
shapely geometry, with vectorised look-ups for many ships at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from sim.domains.geo import to_local
from sim.domains.water.schema import WaterMap


def _poly(points: Any, origin: Any) -> shapely.Polygon:
    poly = shapely.Polygon([to_local(p, origin) for p in points])
    if not poly.is_valid:
        poly = poly.buffer(0)
    shapely.prepare(poly)
    return poly


@dataclass
class Chart:
    land: list[shapely.Polygon]
    depth_polys: list[shapely.Polygon]
    depths: np.ndarray
    default_depth: float
    current_polys: list[shapely.Polygon]
    current_vec: np.ndarray  # (A, 2) east/north of each area current
    uniform_current: np.ndarray  # (2,)
    channels: list[dict[str, Any]]
    tss: list[dict[str, Any]]

    @classmethod
    def build(cls, wmap: WaterMap) -> Chart:
        o = wmap.origin
        cur = wmap.current
        channels = []
        for ch in wmap.channels:
            pts = np.array([to_local(p, o) for p in ch.centreline])
            channels.append({"id": ch.id, "centreline": pts, "width": float(ch.width)})
        tss = [
            {"id": t.id, "polygon": _poly(t.polygon, o), "direction": float(t.direction)}
            for t in wmap.tss
        ]
        return cls(
            land=[_poly(p.polygon, o) for p in wmap.land],
            depth_polys=[_poly(d.polygon, o) for d in wmap.depth_areas],
            depths=np.array([d.depth for d in wmap.depth_areas], dtype=float),
            default_depth=float(wmap.default_depth),
            current_polys=[_poly(a.polygon, o) for a in wmap.area_currents],
            current_vec=np.array(
                [
                    [a.speed * np.sin(a.direction), a.speed * np.cos(a.direction)]
                    for a in wmap.area_currents
                ]
            ).reshape(-1, 2),
            uniform_current=np.array(
                [cur.speed * np.sin(cur.direction), cur.speed * np.cos(cur.direction)]
            ),
            channels=channels,
            tss=tss,
        )

    def depth(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Charted depth at each point: the shallowest depth area containing it, the
        default depth where no area does (so a dredged channel can be charted in shallow
        water), 0 on land."""
        d = np.full(x.shape, np.inf)
        for poly, depth in zip(self.depth_polys, self.depths, strict=True):
            d = np.where(shapely.contains_xy(poly, x, y), np.minimum(d, depth), d)
        d = np.where(np.isfinite(d), d, self.default_depth)
        for poly in self.land:
            d = np.where(shapely.contains_xy(poly, x, y), 0.0, d)
        return d

    def current(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Current (east, north) at each point: an area current where one applies (the last
        listed wins), the uniform current elsewhere."""
        ce = np.full(x.shape, self.uniform_current[0])
        cn = np.full(x.shape, self.uniform_current[1])
        for poly, (e, n) in zip(self.current_polys, self.current_vec, strict=True):
            inside = shapely.contains_xy(poly, x, y)
            ce, cn = np.where(inside, e, ce), np.where(inside, n, cn)
        return ce, cn

    def summary(self) -> dict[str, Any]:
        def coords(p: shapely.Polygon) -> list[list[float]]:
            return np.asarray(p.exterior.coords)[:-1].round(2).tolist()

        return {
            "land": [coords(p) for p in self.land],
            "depth_areas": [
                {"polygon": coords(p), "depth_m": float(d)}
                for p, d in zip(self.depth_polys, self.depths, strict=True)
            ],
            "default_depth_m": self.default_depth,
            "channels": [
                {
                    "id": c["id"],
                    "centreline": c["centreline"].round(2).tolist(),
                    "width_m": c["width"],
                }
                for c in self.channels
            ],
            "tss": [
                {"id": t["id"], "polygon": coords(t["polygon"]), "direction_rad": t["direction"]}
                for t in self.tss
            ],
        }
