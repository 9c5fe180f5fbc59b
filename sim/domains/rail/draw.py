"""Drawing the rail domain for the viewer (imported only by the viewer: it needs pygame).

Tracks as grey lines, signals as dots coloured by aspect, stations and level crossings,
trains as boxes along the track (controlled blue, others grey), obstacles dark.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pygame

from sim.core.geometry import box_corners
from sim.viewer.palette import BACKGROUND_VEHICLE, EGO, OBSTACLE, OUTLINE, SIGNAL

TRACK = (110, 110, 110)
STATION = (86, 180, 233)
LEGEND = [("train under test", EGO), ("other train", BACKGROUND_VEHICLE), ("obstacle", OBSTACLE)]
FOLLOW_VIEW_M = 3000.0
ASPECT = {0: SIGNAL[2], 1: SIGNAL[1], 2: SIGNAL[0]}
PROT = ("", "warning", "service brake", "EMERGENCY BRAKE")


def bounds(dom: Mapping[str, Any]) -> tuple[float, float, float, float]:
    return tuple(dom["map"]["area"])  # type: ignore[return-value]


def draw_static(surf: pygame.Surface, cam: Any, dom: Mapping[str, Any]) -> None:
    for t in dom["map"]["tracks"]:
        pts = cam.to_screen(np.asarray(t["points"], dtype=float))
        if len(pts) >= 2:
            pygame.draw.lines(surf, TRACK, False, pts, 3)
    for s in dom["map"]["stations"]:
        p = cam.to_screen(np.asarray([s["xy"]], dtype=float))[0]
        pygame.draw.rect(surf, STATION, pygame.Rect(p[0] - 6, p[1] - 6, 12, 12))
    for lc in dom["map"]["level_crossings"]:
        p = cam.to_screen(np.asarray([lc["xy"]], dtype=float))[0]
        pygame.draw.line(surf, OUTLINE, (p[0] - 8, p[1] - 8), (p[0] + 8, p[1] + 8), 2)
        pygame.draw.line(surf, OUTLINE, (p[0] - 8, p[1] + 8), (p[0] + 8, p[1] - 8), 2)


def draw_frame(
    surf: pygame.Surface,
    cam: Any,
    dom: Mapping[str, Any],
    row: Mapping[str, np.ndarray],
    *,
    selected: int | None,
) -> np.ndarray:
    aspects = row.get("aspect")
    for k, s in enumerate(dom["map"]["signals"]):
        p = cam.to_screen(np.asarray([s["xy"]], dtype=float))[0]
        side = np.array([-math.sin(s["heading_rad"]), -math.cos(s["heading_rad"])]) * 10
        colour = ASPECT.get(int(aspects[k]), OUTLINE) if aspects is not None else OUTLINE
        pygame.draw.circle(surf, OUTLINE, p + side, 6)
        pygame.draw.circle(surf, colour, p + side, 5)
    valid = np.asarray(row["valid"], dtype=bool)
    x, y, h = row["x_m"], row["y_m"], row["heading_rad"]
    length, width = np.asarray(dom["length_m"]), np.asarray(dom["width_m"])
    controlled = np.asarray(dom["controlled"], dtype=bool)
    centres = np.full((len(valid), 2), np.nan)
    centres[valid] = cam.to_screen(np.stack([x[valid], y[valid]], axis=1))
    corners = cam.to_screen(
        box_corners(x, y, h, length, np.maximum(width, 4 / max(cam.scale, 1e-6))).reshape(-1, 2)
    ).reshape(-1, 4, 2)
    for i in np.flatnonzero(valid):
        colour = (
            EGO
            if controlled[i]
            else OBSTACLE
            if dom["kinds"][i] == "obstacle"
            else BACKGROUND_VEHICLE
        )
        pygame.draw.polygon(surf, colour, corners[i])
        pygame.draw.polygon(surf, OUTLINE, corners[i], 2 if i == selected else 1)
    return centres


def describe(dom: Mapping[str, Any], row: Mapping[str, np.ndarray], i: int) -> list[str]:
    role = "under test" if dom["controlled"][i] else "background"
    track = dom["map"]["tracks"][int(row["track"][i])]
    out = [
        f"{dom['ids'][i]}  ({dom['kinds'][i]}, {role})",
        f"speed {row['speed_mps'][i] * 3.6:.1f} km/h  limit "
        f"{min(row['limit_mps'][i], 1e4) * 3.6:.0f} km/h",
        f"{track['id']} km {track['km'] + row['track_s_m'][i] / 1000:.3f}  authority "
        f"{row['eoa_m'][i] - row['p_m'][i]:.0f} m ahead",
        f"demand {row['demand'][i]:+.2f}  accel {row['accel_mps2'][i]:+.2f} m/s2",
    ]
    prot = int(row["protection"][i])
    if prot:
        out.append(f"protection: {PROT[prot]}")
    return out
