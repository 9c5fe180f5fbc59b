"""Road vehicle models, vectorised over all vehicles. Pure functions: arrays in, arrays out."""

from __future__ import annotations

import numpy as np

from sim.core.geometry import clamp


def advance_speed(v: np.ndarray, a: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """New speed and distance travelled over ``dt`` at constant acceleration ``a``, never
    reversing: a vehicle that would stop within the step stops and stays at 0.

    Distance is exact for constant acceleration (so stopping distance is v²/2|a|):
    ``d = (v + v')/2 · dt`` when moving through the step, ``v²/(2|a|)`` when it stops in it.
    v, a: (N,). Returns (v' (N,), d (N,)).
    """
    v_new = v + a * dt
    stops = v_new < 0.0
    braking = a < 0.0
    # the floor keeps 1/(2|a|) finite for denormal a; it only matters when v is ~0 anyway
    d_stop = np.where(braking, v * v / np.maximum(-2.0 * a, 1e-12), 0.0)
    d = np.where(stops, d_stop, 0.5 * (v + np.maximum(v_new, 0.0)) * dt)
    return np.maximum(v_new, 0.0), d


def rate_limited(
    prev: np.ndarray, cmd: np.ndarray, rate: np.ndarray, dt: float
) -> tuple[np.ndarray, np.ndarray]:
    """An actuator that slews towards ``cmd`` at most at ``rate``: its value at the end of
    the tick and its exact mean over the tick.

    The value ramps linearly from ``prev`` for τ = min(|cmd − prev|/rate, dt), then holds:
    end = prev + sign·rate·τ, mean = end − (end − prev)·τ/(2·dt). Integrating with the mean
    (not the end value held over the whole tick) keeps a jerk-limited brake from leading the
    continuous ramp by dt/2. All (N,); returns (end, mean).
    """
    step = rate * dt
    end = clamp(cmd, prev - step, prev + step)  # exactly cmd when within reach
    tau = np.minimum(np.abs(cmd - prev) / np.maximum(rate, 1e-12), dt)
    return end, end - (end - prev) * tau / (2.0 * dt)


def bicycle_step(
    x: np.ndarray,
    y: np.ndarray,
    psi: np.ndarray,
    v: np.ndarray,
    a: np.ndarray,
    delta: np.ndarray,
    wheelbase: np.ndarray,
    dt: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Kinematic bicycle model about the centre of gravity (lf = lr = wheelbase/2).

    Slip angle β = atan(½·tan δ); ψ̇ = v·sin β / lr; position moves along ψ + β.
    Source: Rajamani, *Vehicle Dynamics and Control* (2012) §2.2; the same model drives the
    ego in highway-env (``vehicle/kinematics.py``) and Waymax. The heading and position use
    the step's mean speed and mid-step heading (second order in dt).
    All inputs (N,) except ``dt``. Returns x, y, ψ, v, yaw rate.
    """
    v_new, dist = advance_speed(v, a, dt)
    beta = np.arctan(0.5 * np.tan(delta))
    lr = 0.5 * wheelbase
    dpsi = dist * np.sin(beta) / lr
    mid = psi + 0.5 * dpsi + beta
    x_new = x + dist * np.cos(mid)
    y_new = y + dist * np.sin(mid)
    return x_new, y_new, psi + dpsi, v_new, dpsi / dt


def idm_accel(
    v: np.ndarray,
    v0: np.ndarray,
    gap: np.ndarray,
    dv: np.ndarray,
    has_leader: np.ndarray,
    a_max: np.ndarray,
    b: np.ndarray,
    s0: np.ndarray,
    T: np.ndarray,
    delta: np.ndarray,
) -> np.ndarray:
    """Intelligent Driver Model acceleration.

    a = a_max·[1 − (v/v0)^δ − (s*/s)²],  s* = s0 + max(0, v·T + v·Δv / (2√(a_max·b)))
    with s the bumper-to-bumper gap and Δv = v − v_leader (closing speed).
    Source: Treiber, Hennecke & Helbing, Phys. Rev. E 62 (2000) 1805; as coded in highway-env
    ``IDMVehicle.acceleration``. No leader: the free-road term only. All (N,).
    """
    free = 1.0 - np.power(np.maximum(v, 0.0) / np.maximum(v0, 1e-3), delta)
    s_star = s0 + np.maximum(0.0, v * T + v * dv / (2.0 * np.sqrt(a_max * b)))
    inter = np.where(has_leader, (s_star / np.maximum(gap, 0.01)) ** 2, 0.0)
    return a_max * (free - inter)


def lane_change_offset(
    t0: np.ndarray, delta_t: np.ndarray, tau: np.ndarray, sinusoidal: np.ndarray
) -> np.ndarray:
    """Lateral offset during a lane change at normalised time τ ∈ [0, 1].

    Sinusoidal (OpenSCENARIO ``dynamicsShape=sinusoidal``): t0 + Δ·(1 − cos πτ)/2, whose peak
    lateral speed is πΔ/(2T); linear: t0 + Δ·τ. All (N,).
    """
    tau = clamp(tau, 0.0, 1.0)
    shape = np.where(sinusoidal, 0.5 * (1.0 - np.cos(np.pi * tau)), tau)
    return t0 + delta_t * shape


def lane_change_duration(
    delta_t: np.ndarray, lat_speed: np.ndarray, sinusoidal: np.ndarray
) -> np.ndarray:
    """Duration T of a lane change of Δ metres at peak lateral speed ``lat_speed``."""
    d = np.abs(delta_t)
    return np.where(sinusoidal, np.pi * d / (2.0 * lat_speed), d / lat_speed)
