"""Aircraft kinematics (vectorised over all aircraft): a 3-D point mass with true airspeed,
heading, altitude and vertical rate, moved over the ground by the wind.

Headings are aviation bearings (radians clockwise from north); x is east, y north.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.core.geometry import clamp, wrap_angle
from sim.units import G0_MPS2

#: Below this airspeed the bank-angle turn-rate formula is replaced by the type's turn-rate
#: limit alone (a hovering multirotor yaws; it does not bank to turn).
MIN_TURN_SPEED_MPS = 1.0


def max_turn_rate(tas: np.ndarray, max_bank: np.ndarray, max_rate: np.ndarray) -> np.ndarray:
    """Largest turn rate at airspeed ``tas``: ω = g·tan φ_max / V (co-ordinated turn, BlueSky
    ``traffic.py``), capped by the type's turn-rate limit. Turn radius r = V / ω = V²/(g·tan φ)."""
    v = np.maximum(tas, MIN_TURN_SPEED_MPS)
    return np.minimum(G0_MPS2 * np.tan(max_bank) / v, max_rate)


def bank_angle(tas: np.ndarray, turn_rate: np.ndarray) -> np.ndarray:
    """Bank angle of a co-ordinated turn: φ = atan(ω·V / g) (signed like ω, + right)."""
    return np.arctan(turn_rate * tas / G0_MPS2)


def vertical_rate_command(
    alt: np.ndarray, target_alt: np.ndarray, max_vs: np.ndarray, max_vaccel: np.ndarray
) -> np.ndarray:
    """Altitude capture: vs = sign(e)·min(vs_max, √(2·a_z·|e|), |e|/2 s) for the error
    e = target − alt, so the vertical rate can fall to zero at the target without exceeding
    the vertical-acceleration limit (and the last metres close exponentially)."""
    e = target_alt - alt
    mag = np.minimum(np.minimum(max_vs, np.sqrt(2.0 * max_vaccel * np.abs(e))), np.abs(e) / 2.0)
    return np.sign(e) * mag


def advance(
    x: np.ndarray,
    y: np.ndarray,
    alt: np.ndarray,
    hdg: np.ndarray,
    tas: np.ndarray,
    vs: np.ndarray,
    target_hdg: np.ndarray,
    target_tas: np.ndarray,
    target_vs: np.ndarray,
    *,
    max_bank: np.ndarray,
    max_turn_rate_radps: np.ndarray,
    max_accel: np.ndarray,
    max_vaccel: np.ndarray,
    wind_e: np.ndarray | float,
    wind_n: np.ndarray | float,
    dt: float,
) -> tuple[np.ndarray, ...]:
    """One step of every aircraft. Returns (x, y, alt, hdg, tas, vs, turn_rate, vaccel).

    - airspeed: V' = V + clamp(V* − V, ±a_max·dt)
    - heading: ω = clamp(wrap(ψ* − ψ)/dt, ±ω_max(V̄)), ψ' = ψ + ω·dt (instant roll, as BlueSky)
    - vertical: ḣ' = ḣ + clamp(ḣ* − ḣ, ±a_z·dt), h' = h + (ḣ + ḣ')/2·dt (exact for constant a_z)
    - position: the air-relative path over the step is the exact arc of radius V̄/ω
      (ΔE = V̄/ω·(cos ψ − cos ψ'), ΔN = V̄/ω·(sin ψ' − sin ψ)), plus wind·dt.
    """
    tas_new = tas + clamp(target_tas - tas, -max_accel * dt, max_accel * dt)
    tas_new = np.maximum(tas_new, 0.0)
    v_mean = 0.5 * (tas + tas_new)
    w_max = max_turn_rate(v_mean, max_bank, max_turn_rate_radps)
    omega = clamp(wrap_angle(target_hdg - hdg) / dt, -w_max, w_max)
    hdg_new = wrap_angle(hdg + omega * dt)
    turning = np.abs(omega) > 1e-12
    safe = np.where(turning, omega, 1.0)
    arc_e = np.where(turning, v_mean / safe * (np.cos(hdg) - np.cos(hdg + omega * dt)), 0.0)
    arc_n = np.where(turning, v_mean / safe * (np.sin(hdg + omega * dt) - np.sin(hdg)), 0.0)
    de = np.where(turning, arc_e, v_mean * np.sin(hdg) * dt)
    dn = np.where(turning, arc_n, v_mean * np.cos(hdg) * dt)
    vs_new = vs + clamp(target_vs - vs, -max_vaccel * dt, max_vaccel * dt)
    alt_new = alt + 0.5 * (vs + vs_new) * dt
    return (
        x + de + wind_e * dt,
        y + dn + wind_n * dt,
        alt_new,
        hdg_new,
        tas_new,
        vs_new,
        omega,
        (vs_new - vs) / dt,
    )


def wind_vector(speed: np.ndarray | float, from_dir: np.ndarray | float) -> tuple[Any, Any]:
    """(east, north) components of a wind of ``speed`` blowing FROM bearing ``from_dir``."""
    return -np.asarray(speed) * np.sin(from_dir), -np.asarray(speed) * np.cos(from_dir)


class WindField:
    """Wind at an altitude: uniform, or layers interpolated linearly in altitude (constant
    beyond the ends), plus an area-wide horizontal gust vector following a first-order
    Gauss-Markov process g' = φ·g + σ·√(1 − φ²)·ε, φ = exp(−dt/τ) (the time-correlation
    of the Dryden model without its spatial filter; one process for the whole area)."""

    def __init__(
        self,
        layer_alt: np.ndarray,
        layer_e: np.ndarray,
        layer_n: np.ndarray,
        gust_sigma: float,
        gust_tau: float,
        dt: float,
        rng: np.random.Generator,
    ) -> None:
        self.alt, self.e, self.n = layer_alt, layer_e, layer_n
        self.sigma = gust_sigma
        self.phi = float(np.exp(-dt / gust_tau))
        self.rng = rng
        self.gust = (
            rng.normal(0.0, gust_sigma, 2) if gust_sigma > 0 else np.zeros(2)
        )  # stationary start
        self.extra = np.zeros(2)  # a sudden gust injected as a fault (east, north; m/s)

    def step(self) -> None:
        if self.sigma > 0:
            scale = self.sigma * np.sqrt(1.0 - self.phi**2)
            self.gust = self.phi * self.gust + scale * self.rng.standard_normal(2)

    def at(self, alt: np.ndarray) -> tuple[np.ndarray | float, np.ndarray | float]:
        if self.alt.size <= 1:
            e = float(self.e[0]) if self.e.size else 0.0
            n = float(self.n[0]) if self.n.size else 0.0
            return e + self.gust[0] + self.extra[0], n + self.gust[1] + self.extra[1]
        return (
            np.interp(alt, self.alt, self.e) + self.gust[0] + self.extra[0],
            np.interp(alt, self.alt, self.n) + self.gust[1] + self.extra[1],
        )
