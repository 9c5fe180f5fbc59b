"""Where a run left the stated validity of a model: ``validity_exceeded`` events.

Each domain's credibility declaration states the range its models are valid in; the checks
here make the measurable parts of those statements executable over a run's log. One event
per (controlled entity or run, check), at the first tick the limit is exceeded, with the
largest value reached and the limit's source. Nothing here changes a verdict: the report's
credibility section counts the runs that left a model's range.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.core.events import Event
from sim.core.log import RunLog
from sim.units import G0_MPS2


@dataclass(frozen=True)
class Check:
    domain: str
    model: str
    quantity: str
    unit: str
    limit: float
    source: str
    #: (arrays, domain meta, dt) -> (T, N) values compared with the limit (> is outside)
    values: Callable[[dict[str, np.ndarray], dict[str, Any], float], np.ndarray] | None = None
    #: a bound on the time step instead (the run's dt against the limit)
    dt: bool = False


CHECKS: tuple[Check, ...] = (
    Check(
        "road",
        "kinematic bicycle",
        "lateral acceleration |v·ψ̇|",
        "m/s^2",
        0.5 * G0_MPS2,
        "Polack et al., IEEE IV 2017: the kinematic bicycle model is consistent below a "
        "lateral acceleration of 0.5·μ·g (μ = 1, dry road)",
        lambda a, m, dt: np.abs(a["speed_mps"] * a["yaw_rate_radps"]),
    ),
    Check(
        "road",
        "kinematic bicycle",
        "speed",
        "m/s",
        130 / 3.6,
        "road credibility: speeds up to motorway speeds (130 km/h)",
        lambda a, m, dt: a["speed_mps"],
    ),
    Check("road", "integration", "time step", "s", 0.05, "road credibility: dt ≤ 0.05 s", dt=True),
    Check("rail", "integration", "time step", "s", 0.5, "rail credibility: dt ≤ 0.5 s", dt=True),
    Check(
        "air",
        "flat earth",
        "horizontal distance from the origin",
        "m",
        100_000.0,
        "air credibility: flat-earth errors stay below 0.1 % within ~100 km",
        lambda a, m, dt: np.hypot(a["x_m"], a["y_m"]),
    ),
    Check("air", "integration", "time step", "s", 1.0, "air credibility: dt ≤ 1 s", dt=True),
    Check("water", "integration", "time step", "s", 1.0, "water credibility: dt ≤ 1 s", dt=True),
)


def validity_events(log: RunLog) -> list[Event]:
    """The ``validity_exceeded`` events of a run (see the module docstring)."""
    out: list[Event] = []
    for check in CHECKS:
        info = log.meta["domains"].get(check.domain)
        if info is None:
            continue
        ctl = [i for i, c in enumerate(info["controlled"]) if c]
        ids = tuple(info["ids"][i] for i in ctl)
        if not ctl:
            continue
        if check.dt:
            if log.dt > check.limit + 1e-12:
                out.append(_event(check, 0, 0.0, ids, log.dt))
            continue
        arr = log.arrays[check.domain]
        assert check.values is not None
        vals = check.values(arr, info, log.dt)[:, ctl]
        over = (vals > check.limit) & arr["valid"][:, ctl]
        for k in np.flatnonzero(over.any(axis=0)):
            tick = int(np.argmax(over[:, k]))
            worst = float(np.max(np.where(over[:, k], vals[:, k], -np.inf)))
            out.append(_event(check, tick, float(log.time_s[tick]), (ids[k],), worst))
    return out


def _event(check: Check, tick: int, time_s: float, ids: tuple[str, ...], value: float) -> Event:
    return Event(
        tick,
        time_s,
        "validity_exceeded",
        ids,
        {
            "model": check.model,
            "quantity": check.quantity,
            "value": value,
            "limit": check.limit,
            "unit": check.unit,
            "source": check.source,
        },
    )
