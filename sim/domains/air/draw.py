"""Drawing the air domain for the viewer (imported only by the viewer: it needs pygame).

Plan view: geofences (outlined, shaded), controlled aircraft's routes, every aircraft as a
triangle along its heading (a dot when too small), red outline while in loss of separation
or well clear, alert ring on controlled aircraft (yellow, orange, vermillion by level), id and
altitude labels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pygame

from sim.viewer.palette import (
    BACKGROUND_VEHICLE,
    COLLISION,
    EGO,
    OUTLINE,
    PLAN,
    SENSOR,
    SIGNAL,
    TEXT,
)
from sim.viewer.text import label

GEOFENCE = (70, 70, 70)  # keep-out: dark, so that alert colours stay unambiguous
SECTOR = (150, 150, 190)
VIOLATION = COLLISION  # outline while in loss of separation or of well clear
NONCOOP = (120, 120, 200)
ALERT = {1: SIGNAL[1], 2: (230, 159, 0), 3: SIGNAL[2]}  # preventive, corrective, warning
LEGEND = [
    ("controlled aircraft", EGO),
    ("traffic (ADS-B)", BACKGROUND_VEHICLE),
    ("non-cooperative traffic", NONCOOP),
    ("geofence (keep out)", GEOFENCE),
    ("DAA alert: preventive (ring)", ALERT[1]),
    ("DAA alert: corrective (ring)", ALERT[2]),
    ("DAA alert: warning (ring)", ALERT[3]),
    ("LoS / LoWC (outline)", VIOLATION),
]
FT = 0.3048
KT = 1852.0 / 3600.0
FOLLOW_VIEW_M = 40_000.0  # width of the view that follows an aircraft on a large map
MAX_LABELS = 150


def bounds(dom: Mapping[str, Any]) -> tuple[float, float, float, float]:
    """Box of the initial positions, routes and geofences (from the map summary)."""
    return tuple(dom["map"]["area"])  # type: ignore[return-value]


def draw_static(surf: pygame.Surface, cam: Any, dom: Mapping[str, Any]) -> None:
    """Geofences and the routes of controlled aircraft."""
    for g in dom["map"]["geofences"]:
        pts = cam.to_screen(np.asarray(g["polygon"], dtype=float))
        shade = pygame.Surface(surf.get_size(), pygame.SRCALPHA)
        pygame.draw.polygon(shade, (*GEOFENCE, 40), pts)
        surf.blit(shade, (0, 0))
        pygame.draw.polygon(surf, GEOFENCE, pts, 2)
    for sec in dom["map"].get("sectors", []):
        pygame.draw.polygon(surf, SECTOR, cam.to_screen(np.asarray(sec["polygon"], dtype=float)), 1)
    for slot, plan in enumerate(dom["extra"]["plans"]):
        if plan and dom["controlled"][slot]:
            pts = cam.to_screen(np.array([[w["x_m"], w["y_m"]] for w in plan], dtype=float))
            if len(pts) >= 2:
                pygame.draw.lines(surf, PLAN, False, pts, 1)
            for p in pts:
                pygame.draw.circle(surf, PLAN, p, 4, 1)


def draw_frame(
    surf: pygame.Surface,
    cam: Any,
    dom: Mapping[str, Any],
    row: Mapping[str, np.ndarray],
    *,
    selected: int | None,
) -> np.ndarray:
    """Aircraft, their state flags and labels; returns screen centres (N, 2), NaN if invalid."""
    valid = np.asarray(row["valid"], dtype=bool)
    x, y, hdg = row["x_m"], row["y_m"], row["hdg_rad"]
    controlled = np.asarray(dom["controlled"], dtype=bool)
    coop = np.asarray(dom["extra"].get("cooperative", [True] * len(valid)), dtype=bool)
    centres = np.full((len(valid), 2), np.nan)
    centres[valid] = cam.to_screen(np.stack([x[valid], y[valid]], axis=1))
    on = valid & (centres[:, 0] > -20) & (centres[:, 0] < cam.width + 20)
    on &= (centres[:, 1] > -20) & (centres[:, 1] < cam.height + 20)
    bad = np.asarray(row["los"], bool) | np.asarray(row["lowc"], bool)
    ranges = dom["extra"].get("sensor_range_m") or []
    for i in np.flatnonzero(valid & controlled):
        r = int(ranges[i] * cam.scale) if i < len(ranges) else 0
        if 0 < r < 20_000:
            pygame.draw.circle(surf, SENSOR, centres[i], r, 1)
        level = int(row["alert_level"][i])
        if level:
            pygame.draw.circle(surf, ALERT[level], centres[i], 14, 3)
    size = 7.0
    labels = np.flatnonzero(on)
    for i in labels:
        colour = EGO if controlled[i] else (BACKGROUND_VEHICLE if coop[i] else NONCOOP)
        c = centres[i]
        h = float(hdg[i])
        # screen y grows downwards: north is −y on screen
        fwd = np.array([math.sin(h), -math.cos(h)])
        side = np.array([-fwd[1], fwd[0]])
        s = size * (1.4 if controlled[i] else 1.0)
        tri = [c + s * fwd, c - 0.7 * s * fwd + 0.6 * s * side, c - 0.7 * s * fwd - 0.6 * s * side]
        pygame.draw.polygon(surf, colour, tri)
        pygame.draw.polygon(surf, VIOLATION if bad[i] else OUTLINE, tri, 3 if bad[i] else 1)
        if i == selected:
            pygame.draw.circle(surf, OUTLINE, c, int(s) + 8, 2)
    if 0 < len(labels) <= MAX_LABELS:
        for i in labels:
            text = f"{dom['ids'][i]} {_level(float(row['alt_m'][i]))}"
            label(surf, text, (centres[i][0] + 12, centres[i][1] - 6), size=15, colour=TEXT)
    return centres


def _level(alt_m: float) -> str:
    ft = alt_m / FT
    if ft < 3000:  # drones and low flying: metres, as UTM volumes are given
        return f"{alt_m:.0f} m"
    return f"FL{round(ft / 100):03d}" if ft >= 10_000 else f"{round(ft):d} ft"


def describe(dom: Mapping[str, Any], row: Mapping[str, np.ndarray], i: int) -> list[str]:
    """Lines for the selection panel."""
    role = "controlled" if dom["controlled"][i] else "traffic"
    flags = [n for n in ("los", "lowc", "nmac", "conflict", "geofence") if row[n][i]]
    out = [
        f"{dom['ids'][i]}  ({dom['kinds'][i]}, {role})",
        f"alt {_level(float(row['alt_m'][i]))}  vs {row['vs_mps'][i] / 0.00508:+.0f} fpm",
        f"hdg {math.degrees(row['hdg_rad'][i]) % 360:.0f} deg  TAS {row['tas_mps'][i] / KT:.0f} kt"
        f"  GS {row['speed_mps'][i] / KT:.0f} kt",
        f"bank {math.degrees(row['bank_rad'][i]):+.1f} deg",
    ]
    if np.isfinite(row["hsep_m"][i]):
        out.append(f"nearest {row['hsep_m'][i]:.0f} m horizontally")
    if int(row["alert_level"][i]):
        out.append(
            f"DAA alert: {('', 'preventive', 'corrective', 'warning')[int(row['alert_level'][i])]}"
        )
    if flags:
        out.append("in: " + ", ".join(flags))
    return out
