"""What a road agent is told, sees and does. SI units; angles in radians, left positive."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class RoadBriefing:
    """Static brief for the agent controlling ``entity_id``."""

    entity_id: str
    kind: str
    length_m: float
    width_m: float
    wheelbase_m: float
    max_accel_mps2: float
    max_decel_mps2: float
    max_jerk_mps3: float
    max_steer_rad: float
    max_steer_rate_radps: float
    max_speed_mps: float
    dt_s: float
    control_period_s: float
    sensor_range_m: float
    sensor_fov_rad: float
    road: str
    goal: dict[str, Any] | None
    roads: tuple[dict[str, Any], ...]  # id, lanes, lane_width_m, length_m, closed, speed limits


@dataclass(frozen=True)
class OwnState:
    """The controlled vehicle, with its position in the lane it is in."""

    x_m: float
    y_m: float
    heading_rad: float
    speed_mps: float
    accel_mps2: float
    steer_rad: float
    road: str
    lane: int
    s_m: float
    lane_offset_m: float  # lateral offset from the lane centre, + left
    heading_error_rad: float  # heading minus lane heading
    curvature_1pm: float  # lane curvature here, + left
    lane_width_m: float
    lanes: int
    speed_limit_mps: float


@dataclass(frozen=True)
class Objects:
    """Perceived objects (all arrays (K,), read-only). ``rel_s_m``: along the ego's road,
    centre to centre, + ahead; ``rel_t_m``: lateral from the ego's lane centre, + left;
    ``vs_mps``/``vt_mps``: velocity along / across the ego's road."""

    ids: tuple[str, ...]
    kinds: tuple[str, ...]
    x_m: np.ndarray
    y_m: np.ndarray
    heading_rad: np.ndarray
    speed_mps: np.ndarray
    length_m: np.ndarray
    width_m: np.ndarray
    rel_s_m: np.ndarray
    rel_t_m: np.ndarray
    vs_mps: np.ndarray
    vt_mps: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class SignalAhead:
    """The next traffic light on the ego's road."""

    id: str
    distance_m: float  # from the ego's front bumper to the stop line
    state: str  # green | yellow | red


@dataclass(frozen=True)
class RoadObservation:
    tick: int
    time_s: float
    own: OwnState
    objects: Objects
    signal: SignalAhead | None
    goal_distance_m: float | None  # along the road, when the goal is on it


@dataclass(frozen=True)
class RoadAction:
    """Longitudinal acceleration (m/s², negative brakes) and road-wheel steering angle."""

    accel_mps2: float
    steer_rad: float
