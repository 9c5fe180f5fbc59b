"""Positions in scenario files shared by the open-world domains (air, water): local metres
or latitude/longitude around a reference point, converted once at load."""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field, model_validator

from sim.scenario.model import StrictModel
from sim.units import Length

EARTH_RADIUS_M = 6_371_000.0  # mean radius (IUGG), as BlueSky's flat-earth kwikdist uses


class Position(StrictModel):
    """``{x, y}`` in local metres (x east, y north), or ``{lat, lon}`` in degrees (needs the
    domain map's ``origin``)."""

    x: Length | None = None
    y: Length | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)

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


class Origin(StrictModel):
    lat: float = Field(ge=-89, le=89)
    lon: float = Field(ge=-180, le=180)


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
