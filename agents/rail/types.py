"""What a rail agent is told, sees and does. SI units; positions are metres along the
train's path (the front of the train), distances are measured from the front."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class StopInfo:
    station: str
    distance_m: float  # from the front of the train to the stopping point
    arrive_s: float | None  # timetable
    depart_s: float | None
    dwell_s: float
    arrived_s: float | None = None  # when the train stopped there (None: not yet)


@dataclass(frozen=True)
class RailBriefing:
    entity_id: str
    kind: str
    length_m: float
    mass_kg: float
    rotating_mass_factor: float
    max_speed_mps: float
    max_traction_n: float
    max_power_w: float
    davis_a_n: float
    davis_c_ns2pm2: float
    service_decel_mps2: float
    emergency_decel_mps2: float
    brake_time_constant_s: float
    path_length_m: float
    dt_s: float
    control_period_s: float
    timetable: tuple[StopInfo, ...]
    protection: dict[str, Any] | None  # the supervision parameters when it is on
    sighting_distance_m: float


@dataclass(frozen=True)
class TrainState:
    position_m: float
    speed_mps: float
    accel_mps2: float
    gradient: float  # rise per metre (‰ / 1000), + uphill
    speed_limit_mps: float  # most restrictive over the train's length
    adhesion_factor: float
    protection: str  # none | warning | service brake | emergency brake
    dwelling: bool


@dataclass(frozen=True)
class Ahead:
    """Signals in sight: ids, distances (m) and aspects (0 stop, 1 caution, 2 proceed)."""

    ids: tuple[str, ...]
    distance_m: np.ndarray
    aspect: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class RailObservation:
    tick: int
    time_s: float
    own: TrainState
    eoa_m: float  # distance to the end of movement authority
    svl_m: float  # distance to the supervised location (EoA + overlap)
    signals: Ahead
    speed_profile: tuple[np.ndarray, np.ndarray]  # (distances, limits) of changes ahead
    gradient_profile: tuple[np.ndarray, np.ndarray]
    adhesion_profile: tuple[np.ndarray, np.ndarray]
    next_stop: StopInfo | None
    obstacle_m: float | None  # nearest obstacle in sight on the path


@dataclass(frozen=True)
class RailAction:
    """Traction/brake demand in [−1, 1]: + a share of the maximum traction, − a share of
    the full service brake."""

    demand: float
