"""What a water agent is told, sees and does. SI units; x east, y north (metres).

Headings and courses are bearings: radians clockwise from true north. Speeds through the
water (``speed_mps``) differ from speeds over ground (``sog_mps``) by the current and leeway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class RoutePointInfo:
    x_m: float
    y_m: float
    speed_mps: float | None


@dataclass(frozen=True)
class ChartInfo:
    """The chart the master plans with: land and depth areas as polygons (tuples of
    (x, y)), with the charted depth of each depth area; narrow channels and TSS lanes."""

    land: tuple[tuple[tuple[float, float], ...], ...]
    depth_areas: tuple[tuple[tuple[tuple[float, float], ...], float], ...]
    default_depth_m: float
    channels: tuple[dict[str, Any], ...]
    tss: tuple[dict[str, Any], ...]
    restricted_visibility: bool


@dataclass(frozen=True)
class WaterBriefing:
    entity_id: str
    kind: str
    length_m: float
    beam_m: float
    draft_m: float
    max_rudder_rad: float
    max_rudder_rate_radps: float
    max_speed_mps: float
    service_speed_mps: float
    nomoto_k_prime: float
    nomoto_t_prime: float
    dt_s: float
    control_period_s: float
    route: tuple[RoutePointInfo, ...]
    goal: dict[str, Any] | None
    chart: ChartInfo
    colreg: dict[str, float]  # the scenario's COLREG thresholds (see the schema)
    ship_domain: dict[str, float]
    ukc_margin_m: float


@dataclass(frozen=True)
class OwnShip:
    """GNSS, gyro, log and echo sounder (ideal)."""

    x_m: float
    y_m: float
    heading_rad: float
    yaw_rate_radps: float
    speed_mps: float  # through the water
    cog_rad: float
    sog_mps: float
    rudder_rad: float
    depth_m: float  # under the keel point: charted depth at the ship's position


@dataclass(frozen=True)
class Targets:
    """Targets (read-only arrays (K,)). AIS targets carry an id, MMSI, length and heading;
    radar targets are range-limited tracks without identity (id 'radar-k', MMSI 0)."""

    ids: tuple[str, ...]
    mmsi: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    cog_rad: np.ndarray
    sog_mps: np.ndarray
    heading_rad: np.ndarray  # NaN for radar targets
    length_m: np.ndarray  # NaN for radar targets

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class WaterObservation:
    tick: int
    time_s: float
    own: OwnShip
    ais: Targets
    radar: Targets


@dataclass(frozen=True)
class WaterAction:
    """Speed through the water to hold (m/s), and either a rudder angle (rad, + starboard)
    or a heading (bearing, rad) for the ship's autopilot; exactly one of the two."""

    speed_mps: float
    rudder_rad: float | None = None
    heading_rad: float | None = None
