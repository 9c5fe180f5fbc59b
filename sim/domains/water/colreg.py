"""COLREG encounter geometry on arrays: relative bearings, encounter classification
(Rules 13-15, 19), the ship domain, and the placement of an encounter from its parameters.

Bearings are radians clockwise from north; a *relative bearing* is measured clockwise from
the observer's bow, in [0, 2π).
"""

from __future__ import annotations

import math

import numpy as np

NONE, HEAD_ON, CROSS_GIVE_WAY, CROSS_STAND_ON, OVERTAKING, OVERTAKEN, RESTRICTED = range(7)
NAMES = (
    "none",
    "head-on",
    "crossing give-way",
    "crossing stand-on",
    "overtaking",
    "overtaken",
    "restricted visibility",
)
#: Roles that must keep out of the way (Rules 13, 14 (both vessels), 15/16, 19).
GIVE_WAY = (HEAD_ON, CROSS_GIVE_WAY, OVERTAKING, RESTRICTED)
STAND_ON = (CROSS_STAND_ON, OVERTAKEN)


def relative_bearing(
    ox: np.ndarray, oy: np.ndarray, heading: np.ndarray, tx: np.ndarray, ty: np.ndarray
) -> np.ndarray:
    """Bearing of (tx, ty) seen from (ox, oy), clockwise from the observer's bow, [0, 2π)."""
    return np.mod(np.arctan2(tx - ox, ty - oy) - heading, 2 * np.pi)


def classify(
    beta_own: np.ndarray,
    beta_target: np.ndarray,
    closing: np.ndarray,
    *,
    head_on_sector: float,
    overtaking_sector: float = math.radians(112.5),
) -> np.ndarray:
    """Encounter type from the own ship's point of view (int8 codes, see ``NAMES``).

    - overtaking (own gives way, Rule 13): own is more than 22.5° abaft the target's beam
      (β_target ∈ [112.5°, 247.5°]) and the range is closing;
    - overtaken (own stands on): the target is in that sector of own (β_own ∈ [112.5°,
      247.5°]) and closing;
    - head-on (Rule 14): each sees the other within ±``head_on_sector`` of dead ahead
      (NTNU evaluator θ_ho = 13°) *and* the courses are reciprocal or nearly so (Rule 14(a)):
      |Δψ − 180°| ≤ ``head_on_sector``. The bearings give the course difference: both are
      taken along one line of sight, so ψ_t − ψ_o − 180° = β_o − β_t (mod 360°). Seen on the
      same side of both bows the courses are within the sector of reciprocal anyway (the
      Rule 14(c) "in doubt" cases stay head-on); seen on opposite bows they can be up to
      2·θ off (a fine crossing), which is a crossing under Rule 15 instead;
    - crossing (Rule 15): give-way when the target is on own's starboard side (β_own in
      (0, 112.5°)), stand-on when on the port side (β_own in (247.5°, 360°));
    - none when the range is opening or no case applies.
    """
    lo, hi = overtaking_sector, 2 * np.pi - overtaking_sector
    in_stern_of_target = (beta_target >= lo) & (beta_target <= hi)
    target_in_stern = (beta_own >= lo) & (beta_own <= hi)
    ahead_own = np.minimum(beta_own, 2 * np.pi - beta_own) <= head_on_sector
    ahead_tgt = np.minimum(beta_target, 2 * np.pi - beta_target) <= head_on_sector
    off_reciprocal = np.abs(np.mod(beta_own - beta_target + np.pi, 2 * np.pi) - np.pi)
    reciprocal = off_reciprocal <= head_on_sector
    out = np.full(np.shape(beta_own), NONE, dtype=np.int8)
    out = np.where(beta_own < lo, CROSS_GIVE_WAY, out)
    out = np.where(beta_own > hi, CROSS_STAND_ON, out)
    out = np.where(ahead_own & ahead_tgt & reciprocal, HEAD_ON, out)
    out = np.where(target_in_stern, OVERTAKEN, out)
    out = np.where(in_stern_of_target & ~target_in_stern, OVERTAKING, out)
    return np.where(closing, out, NONE).astype(np.int8)


def domain_radius(
    beta: np.ndarray,
    length: np.ndarray,
    beam: np.ndarray,
    ahead: float,
    port: float,
    astern: float,
    starboard: float,
) -> np.ndarray:
    """Radius of the four-quadrant elliptic ship domain at relative bearing β (Chun et al.
    2021, TUD_RL ``get_ship_domain``): semi-axes A = ahead·L, C = astern·L along the ship,
    B = port·L + B/2, D = starboard·L + B/2 across; in each quadrant
    r(θ) = [(sin θ / a)² + (cos θ / b)²]^(−1/2) with a the lateral and b the longitudinal
    semi-axis of that quadrant."""
    fwd = np.cos(beta) >= 0
    stbd = np.sin(beta) >= 0
    b_long = np.where(fwd, ahead * length, astern * length)
    a_lat = np.where(stbd, starboard * length + 0.5 * beam, port * length + 0.5 * beam)
    return 1.0 / np.sqrt((np.sin(beta) / a_lat) ** 2 + (np.cos(beta) / b_long) ** 2)


def place_encounter(
    own_x: float,
    own_y: float,
    own_course: float,
    own_speed: float,
    *,
    speed_ratio: float,
    tcpa: float,
    dcpa: float = 0.0,
    bearing: float | None = None,
    relative_course: float | None = None,
) -> tuple[float, float, float, float]:
    """Start (x, y, course, speed) of a target that, with both ships on straight tracks,
    reaches its closest point of approach with the own ship after ``tcpa`` seconds at
    distance ``dcpa`` (+: the target passes on the own ship's starboard side of the
    relative track... shifted perpendicular to the relative velocity).

    Give the target's course relative to own (unique), or its initial relative
    ``bearing``: then sin(β − c) = sin β / k fixes the course c; of the two solutions the
    one whose course differs from own by more than 90° (crossing, head-on) is taken when it
    exists, as in DNV's ship-traffic-generator encounter types. Raises ValueError when no
    course can make the encounter (|sin β| > speed ratio k).
    """
    k = speed_ratio
    u_t = k * own_speed
    px = own_x + own_speed * tcpa * math.sin(own_course)
    py = own_y + own_speed * tcpa * math.cos(own_course)
    if relative_course is not None:
        courses = [own_course + relative_course]
    else:
        if bearing is None:
            raise ValueError("give bearing or relative_course")
        s = math.sin(bearing) / k
        if abs(s) > 1.0:
            raise ValueError(
                f"no target course meets from bearing {math.degrees(bearing):.1f} deg with "
                f"speed ratio {k:g} (needs |sin(bearing)| <= ratio)"
            )
        a = math.asin(s)
        rel = [bearing - a, bearing + a - math.pi]
        cands = []
        for c in rel:
            tx = px - u_t * tcpa * math.sin(own_course + c)
            ty = py - u_t * tcpa * math.cos(own_course + c)
            b = math.atan2(tx - own_x, ty - own_y) - own_course
            if (
                abs(math.remainder(b - bearing, 2 * math.pi)) < 1e-6
                and math.hypot(tx - own_x, ty - own_y) > 1e-6
            ):
                cands.append(c)
        if not cands:
            raise ValueError("no target course meets at that bearing")
        cands.sort(key=lambda c: -abs(math.remainder(c, 2 * math.pi)))
        courses = [own_course + cands[0]]
    c = courses[0]
    tx = px - u_t * tcpa * math.sin(c)
    ty = py - u_t * tcpa * math.cos(c)
    # shift perpendicular to the relative velocity: TCPA unchanged, DCPA = |dcpa|
    vx = u_t * math.sin(c) - own_speed * math.sin(own_course)
    vy = u_t * math.cos(c) - own_speed * math.cos(own_course)
    n = math.hypot(vx, vy)
    if n > 1e-9 and dcpa:
        tx += dcpa * vy / n
        ty += -dcpa * vx / n
    return tx, ty, math.remainder(c, 2 * math.pi), u_t
