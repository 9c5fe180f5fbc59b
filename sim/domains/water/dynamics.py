"""Ship manoeuvring (vectorised over all ships): first-order Nomoto steering with the Norrbin
cubic term, rudder angle and rate limits, first-order surge toward a commanded speed, drift
by current and wind (leeway). Headings are bearings (radians clockwise from north).
"""

from __future__ import annotations

import numpy as np

from sim.core.geometry import clamp, wrap_angle

#: Below this speed the speed-scaled Nomoto constants are evaluated at this speed: a ship
#: barely moving has almost no steering (K = K'·U/L → 0) and a long time constant.
MIN_STEER_SPEED_MPS = 0.5


def nomoto_constants(
    u: np.ndarray,
    length: np.ndarray,
    k_prime: np.ndarray,
    t_prime: np.ndarray,
    table_u: np.ndarray,
    table_k: np.ndarray,
    table_t: np.ndarray,
    has_table: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Gain K (1/s) and time constant T (s) at speed u: K = K'·U/L, T = T'·L/U (Nomoto
    1957), or linear interpolation in a (U, K, T) table where the preset has one (rows of
    ``table_*`` are per ship, NaN-padded; constant beyond the ends)."""
    us = np.maximum(np.abs(u), MIN_STEER_SPEED_MPS)
    k = k_prime * us / length
    t = t_prime * length / us
    if has_table.any():
        rows = np.flatnonzero(has_table)
        for i in rows:  # a handful of tabled ships at most (the frigate preset)
            ok = np.isfinite(table_u[i])
            k[i] = np.interp(us[i], table_u[i, ok], table_k[i, ok])
            t[i] = np.interp(us[i], table_u[i, ok], table_t[i, ok])
    return k, t


def advance(
    x: np.ndarray,
    y: np.ndarray,
    psi: np.ndarray,
    r: np.ndarray,
    u: np.ndarray,
    delta: np.ndarray,
    delta_cmd: np.ndarray,
    u_cmd: np.ndarray,
    *,
    k: np.ndarray,
    t: np.ndarray,
    n3: np.ndarray,
    max_rudder: np.ndarray,
    max_rudder_rate: np.ndarray,
    t_speed: np.ndarray,
    max_accel: np.ndarray,
    max_decel: np.ndarray,
    drift_e: np.ndarray | float,
    drift_n: np.ndarray | float,
    dt: float,
) -> tuple[np.ndarray, ...]:
    """One step of every ship. Returns (x, y, psi, r, u, delta).

    - rudder: δ' = δ + clamp(clamp(δ*, ±δ_max) − δ, ±δ̇_max·dt)
    - yaw: T·ṙ + r + n3·r³ = K·δ' (Nomoto/Norrbin), integrated exactly for the linear part
      over the step: r' = r_ss + (r − r_ss)·e^(−dt/T), r_ss = K·δ' − n3·r³ (cubic frozen)
    - heading: ψ' = ψ + (r + r')/2·dt
    - surge: u' = u + clamp((u* − u)·(1 − e^(−dt/T_u)), −a_dec·dt, a_acc·dt)
    - position: ẋ = u·sin ψ + drift_e, ẏ = u·cos ψ + drift_n (no sway: Nomoto's model)
    """
    d_target = clamp(delta_cmd, -max_rudder, max_rudder)
    delta_new = delta + clamp(d_target - delta, -max_rudder_rate * dt, max_rudder_rate * dt)
    r_ss = k * delta_new - n3 * r**3
    decay = np.exp(-dt / t)
    r_new = r_ss + (r - r_ss) * decay
    psi_new = wrap_angle(psi + 0.5 * (r + r_new) * dt)
    du = (u_cmd - u) * (1.0 - np.exp(-dt / t_speed))
    u_new = u + clamp(du, -max_decel * dt, max_accel * dt)
    u_mean = 0.5 * (u + u_new)
    psi_mid = psi + 0.25 * (r + r_new) * dt
    x_new = x + (u_mean * np.sin(psi_mid) + drift_e) * dt
    y_new = y + (u_mean * np.cos(psi_mid) + drift_n) * dt
    return x_new, y_new, psi_new, r_new, u_new, delta_new


def heading_autopilot(
    psi: np.ndarray,
    r: np.ndarray,
    psi_cmd: np.ndarray,
    k: np.ndarray,
    t: np.ndarray,
    max_rudder: np.ndarray,
) -> np.ndarray:
    """Rudder for a commanded heading: PD law δ = Kp·e − Kd·r placing the closed-loop poles
    of the Nomoto model T·ṙ + r = K·δ at ω_n = 1.5/T (≤ 1 rad/s), ζ = 1 (Fossen 2011 §15.2:
    Kp = ω_n²·T/K, Kd = (2ζω_n·T − 1)/K); saturated at the rudder limit."""
    e = wrap_angle(psi_cmd - psi)
    wn = np.minimum(1.5 / t, 1.0)
    kp = wn * wn * t / k
    kd = (2.0 * wn * t - 1.0) / k
    return clamp(kp * e - np.maximum(kd, 0.0) * r, -max_rudder, max_rudder)
