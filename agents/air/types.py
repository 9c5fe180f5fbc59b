"""What an air agent is told, sees and does. SI units; x east, y north, z up (metres).

Headings (``hdg_rad``) are aviation bearings: radians clockwise from true north, so 0 flies
north and π/2 east. Velocities over the ground are (``ve_mps``, ``vn_mps``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class WaypointInfo:
    x_m: float
    y_m: float
    altitude_m: float | None  # None: keep the current altitude
    speed_mps: float | None  # None: keep the current airspeed


@dataclass(frozen=True)
class AirBriefing:
    """Static brief for the agent flying ``entity_id``."""

    entity_id: str
    kind: str
    length_m: float
    span_m: float
    min_speed_mps: float
    max_speed_mps: float
    max_bank_rad: float
    max_turn_rate_radps: float
    max_accel_mps2: float
    max_vertical_rate_mps: float
    max_vertical_accel_mps2: float
    dt_s: float
    control_period_s: float
    plan: tuple[WaypointInfo, ...]
    goal: dict[str, Any] | None
    separation_m: tuple[float, float]  # LoS minima (horizontal, vertical)
    well_clear: tuple[float, float, float]  # DTHR (m), ZTHR (m), TTHR (s)
    nmac_m: tuple[float, float]
    adsb_range_m: float
    radar_range_m: float
    min_altitude_m: float | None
    alerting: bool  # whether observations carry the simulator's DAA alerts


@dataclass(frozen=True)
class OwnState:
    """The controlled aircraft (GNSS and air data, ideal)."""

    x_m: float
    y_m: float
    alt_m: float
    hdg_rad: float
    tas_mps: float
    vs_mps: float
    ve_mps: float  # ground velocity east (air velocity + wind)
    vn_mps: float
    turn_rate_radps: float


@dataclass(frozen=True)
class Traffic:
    """Traffic reported by surveillance (read-only arrays (K,)): cooperative aircraft within
    ADS-B range, non-cooperative ones only within radar range."""

    ids: tuple[str, ...]
    kinds: tuple[str, ...]
    cooperative: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    alt_m: np.ndarray
    ve_mps: np.ndarray
    vn_mps: np.ndarray
    vs_mps: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class GeofenceInfo:
    """A published keep-out volume (active now, or announced ahead of activation)."""

    id: str
    polygon: tuple[tuple[float, float], ...]
    floor_m: float
    ceiling_m: float
    active_from_s: float
    active_until_s: float
    active: bool


@dataclass(frozen=True)
class Alerts:
    """DAA alerts of the simulator's alerting service (empty when the scenario has none):
    per intruder, level 1 preventive / 2 corrective / 3 warning and the predicted time to
    loss of well clear (s)."""

    ids: tuple[str, ...]
    level: np.ndarray
    time_to_lowc_s: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class AirObservation:
    tick: int
    time_s: float
    own: OwnState
    traffic: Traffic
    geofences: tuple[GeofenceInfo, ...]
    alerts: Alerts


@dataclass(frozen=True)
class AirAction:
    """Autopilot targets: heading (bearing, rad), true airspeed (m/s), vertical rate (m/s,
    + climb). The aircraft turns at its bank/turn-rate limit, accelerates and changes
    vertical rate at its limits towards them; speed and vertical rate beyond the type's
    limits are clipped (and recorded)."""

    hdg_rad: float
    tas_mps: float
    vs_mps: float


@dataclass(frozen=True)
class AirRateAction:
    """Rates instead of targets: turn rate (rad/s, + right), longitudinal acceleration
    (m/s²) and vertical rate (m/s). Turn rate and acceleration beyond the type's limits are
    clipped (and recorded)."""

    turn_rate_radps: float
    accel_mps2: float
    vs_mps: float
