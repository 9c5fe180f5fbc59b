"""What the open-world domains (air, water) share: positions in local metres or
latitude/longitude around a reference point (converted once at load), and scripted
manoeuvres triggered by time, distance or time to closest approach."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import ConfigDict, Field, model_validator

from sim.core.pairs import cpa
from sim.scenario.model import StrictModel
from sim.units import Duration, Length

EARTH_RADIUS_M = 6_371_000.0  # mean radius (IUGG), as BlueSky's flat-earth kwikdist uses


class Position(StrictModel):
    """``{x, y}`` (or ``[x, y]``, as road points are written) in local metres (x east,
    y north), or ``{lat, lon}`` in degrees (needs the domain map's ``origin``)."""

    x: Length | None = Field(None, description="east of the origin")
    y: Length | None = Field(None, description="north of the origin")
    lat: float | None = Field(
        None, ge=-90, le=90, description="latitude (degrees; needs the map's origin)"
    )
    lon: float | None = Field(
        None, ge=-180, le=180, description="longitude (degrees; needs the map's origin)"
    )

    @model_validator(mode="before")
    @classmethod
    def _pair(cls, data: Any) -> Any:
        return xy_pair(data) or data

    @model_validator(mode="after")
    def _one_form(self) -> Position:
        xy = self.x is not None and self.y is not None
        ll = self.lat is not None and self.lon is not None
        if (
            xy == ll
            or (self.x is None) != (self.y is None)
            or (self.lat is None) != (self.lon is None)
        ):
            raise ValueError("give either x and y (metres) or lat and lon (degrees)")
        return self


def xy_pair(data: Any) -> dict[str, Any] | None:
    """``{x, y}`` of a two-item list ``[x, y]``, else None."""
    if isinstance(data, list | tuple) and len(data) == 2:
        return {"x": data[0], "y": data[1]}
    return None


def point_form(data: Any, extra: tuple[str, ...]) -> Any:
    """A route or plan point written as ``[x, y]`` or ``{x, y, <extra>…}`` (without the
    ``position`` level) in its declared form ``{position: {x, y}, <extra>…}``."""
    pair = xy_pair(data)
    if pair is not None:
        return {"position": pair}
    if isinstance(data, dict) and "position" not in data and ("x" in data or "lat" in data):
        keep = {k: v for k, v in data.items() if k in extra}
        return {"position": {k: v for k, v in data.items() if k not in extra}, **keep}
    return data


class Origin(StrictModel):
    lat: float = Field(ge=-89, le=89, description="latitude of the local origin (degrees)")
    lon: float = Field(ge=-180, le=180, description="longitude of the local origin (degrees)")


def to_local(pos: Position, origin: Any) -> tuple[float, float]:
    """Local east/north metres of a position (flat earth about ``origin``:
    x = R·Δλ·cos φ₀, y = R·Δφ, as BlueSky's ``kwikdist``; good to < 0.1 % within ~100 km)."""
    if pos.x is not None and pos.y is not None:
        return float(pos.x), float(pos.y)
    if origin is None:
        raise ValueError("a lat/lon position needs the map's origin")
    lat0 = math.radians(origin.lat)
    x = EARTH_RADIUS_M * math.radians(pos.lon - origin.lon) * math.cos(lat0)
    y = EARTH_RADIUS_M * math.radians(pos.lat - origin.lat)
    return x, y


def origin_problem(pos: Position, origin: Any, section: str) -> str | None:
    """The load-time problem of a lat/lon position without the map's origin, else None."""
    if pos.lat is not None and origin is None:
        return f"a lat/lon position needs map.{section}.origin (lat, lon)"
    return None


class Trigger(StrictModel):
    """When a scripted manoeuvre starts: at a time, when the horizontal distance to `to`
    falls below a value, or when the time to closest approach with `to` does (converging
    only); then after ``delay``."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"at_time": "30 s"}]})

    at_time: Duration | None = Field(None, ge=0, description="start at this simulated time")
    distance_below: Length | None = Field(None, gt=0, description="horizontal, to `to`")
    tcpa_below: Duration | None = Field(
        None, gt=0, description="time to closest approach with `to` (converging only)"
    )
    to: str | None = Field(None, description="reference entity (default: first controlled)")
    delay: Duration = Field(0.0, ge=0, description="wait this long after the condition holds")

    @model_validator(mode="after")
    def _one(self) -> Trigger:
        n = sum(v is not None for v in (self.at_time, self.distance_below, self.tcpa_below))
        if n != 1:
            raise ValueError("give exactly one of at_time, distance_below, tcpa_below")
        return self


class Script:
    """The scripted manoeuvres of one open-world domain (a handful per scenario): each row
    waits for its trigger, arms with its delay, and is handed out once when due."""

    def __init__(
        self, entities: Sequence[Any], slot_of: Mapping[str, int], ref_id: str, dt: float
    ) -> None:
        self.dt = dt
        self.rows: list[tuple[int, int, int, float, int, Any]] = []
        for i, e in enumerate(entities):
            for m in e.manoeuvres:
                w = m.when
                kind, thr = (
                    (0, w.at_time)
                    if w.at_time is not None
                    else (1, w.distance_below)
                    if w.distance_below is not None
                    else (2, w.tcpa_below)
                )
                ref = slot_of.get(w.to or ref_id, -1)
                self.rows.append((i, kind, ref, float(thr), round(w.delay / dt), m))
        self.state = np.zeros(len(self.rows), dtype=np.int8)  # 0 pending, 1 armed, 2 done
        self.fire = np.zeros(len(self.rows), dtype=np.int64)

    def due(
        self, tick: int, x: np.ndarray, y: np.ndarray, ve: np.ndarray, vn: np.ndarray
    ) -> list[tuple[int, Any]]:
        """(slot, manoeuvre) of every row that starts at ``tick``."""
        out = []
        for k, (i, kind, ref, thr, delay, m) in enumerate(self.rows):
            if self.state[k] == 0:
                if kind == 0:
                    met = tick * self.dt >= thr - 1e-9
                elif ref < 0:
                    met = False
                else:
                    sx, sy = x[ref] - x[i], y[ref] - y[i]
                    if kind == 1:
                        met = math.hypot(sx, sy) < thr
                    else:
                        t, _ = cpa(
                            np.array([sx]),
                            np.array([sy]),
                            np.array([ve[ref] - ve[i]]),
                            np.array([vn[ref] - vn[i]]),
                        )
                        met = 0 < float(t[0]) < thr
                if met:
                    self.state[k], self.fire[k] = 1, tick + delay
            if self.state[k] == 1 and self.fire[k] <= tick:
                self.state[k] = 2
                out.append((i, m))
        return out
