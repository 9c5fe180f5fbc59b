"""Drawing the water domain for the viewer (imported only by the viewer: it needs pygame).

Chart: land (sand), depth areas shaded by depth, channel centrelines and edges, TSS lanes
with their direction, buoys. Ships as pointed hulls coloured by role; a red outline while
another vessel is inside the ship's domain; COLREG encounter of the vessel under test in the
selection panel.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pygame

from sim.domains.water import colreg as cr
from sim.viewer.palette import BACKGROUND_VEHICLE, EGO, OUTLINE, SENSOR
from sim.viewer.text import label

LAND = (222, 205, 160)
SHALLOW = (170, 205, 230)
DEEP = (215, 232, 242)
CHANNEL = (120, 140, 160)
BUOY = {"port": (213, 94, 0), "starboard": (0, 158, 115)}
VIOLATION = (213, 94, 0)
NO_AIS = (230, 159, 0)
LEGEND = [
    ("vessel under test", EGO),
    ("traffic (AIS)", BACKGROUND_VEHICLE),
    ("traffic without AIS", NO_AIS),
    ("land", LAND),
    ("deep water (>= 10 m)", DEEP),
    ("shallow water (< 10 m)", SHALLOW),
]
FOLLOW_VIEW_M = 6000.0
SHALLOW_M = 10.0  # drawn as shallow water below this depth


def legend(dom: Mapping[str, Any]) -> list[tuple[str, tuple[int, int, int]]]:
    """The entries this chart needs: land and each water depth only where the map has them
    (a chart all deep water has no shallow swatch)."""
    m = dom["map"]
    depths = [a["depth_m"] for a in m["depth_areas"]] + [m["default_depth_m"]]
    shown = {
        "land": bool(m["land"]),
        "deep water (>= 10 m)": any(d >= SHALLOW_M for d in depths),
        "shallow water (< 10 m)": any(d < SHALLOW_M for d in depths),
    }
    return [(text, colour) for text, colour in LEGEND if shown.get(text, True)]


def bounds(dom: Mapping[str, Any]) -> tuple[float, float, float, float]:
    return tuple(dom["map"]["area"])  # type: ignore[return-value]


def draw_static(surf: pygame.Surface, cam: Any, dom: Mapping[str, Any]) -> None:
    m = dom["map"]
    # open water in its depth's colour: the legend's swatches then match the chart
    surf.fill(SHALLOW if m["default_depth_m"] < SHALLOW_M else DEEP)
    for area in sorted(m["depth_areas"], key=lambda a: -a["depth_m"]):
        shade = SHALLOW if area["depth_m"] < SHALLOW_M else DEEP
        pygame.draw.polygon(surf, shade, cam.to_screen(np.asarray(area["polygon"], dtype=float)))
    for poly in m["land"]:
        pts = cam.to_screen(np.asarray(poly, dtype=float))
        pygame.draw.polygon(surf, LAND, pts)
        pygame.draw.polygon(surf, OUTLINE, pts, 1)
    for ch in m["channels"]:
        c = np.asarray(ch["centreline"], dtype=float)
        pygame.draw.lines(surf, CHANNEL, False, cam.to_screen(c), 1)
        d = np.diff(c, axis=0)
        n = np.stack([d[:, 1], -d[:, 0]], axis=1) / np.maximum(np.hypot(*d.T)[:, None], 1e-9)
        n = np.vstack([n, n[-1:]])
        for side in (-0.5, 0.5):
            pygame.draw.lines(surf, CHANNEL, False, cam.to_screen(c + side * ch["width_m"] * n), 2)
    for lane in m["tss"]:
        pts = cam.to_screen(np.asarray(lane["polygon"], dtype=float))
        pygame.draw.polygon(surf, CHANNEL, pts, 1)
        ctr = pts.mean(axis=0)
        h = lane["direction_rad"]
        tip = ctr + 25 * np.array([math.sin(h), -math.cos(h)])
        pygame.draw.line(surf, CHANNEL, ctr, tip, 2)
        pygame.draw.circle(surf, CHANNEL, tip, 3)
    for b in m["buoys"]:
        p = cam.to_screen(np.asarray([b["xy"]], dtype=float))[0]
        pygame.draw.circle(surf, BUOY.get(b["kind"], (240, 228, 66)), p, 4)
        pygame.draw.circle(surf, OUTLINE, p, 4, 1)


def _hull(x: float, y: float, psi: float, length: float, beam: float) -> np.ndarray:
    """Pointed hull outline (bow at 60 % of the half length beyond the shoulders)."""
    f, s = np.array([math.sin(psi), math.cos(psi)]), np.array([math.cos(psi), -math.sin(psi)])
    c = np.array([x, y])
    hl, hb = 0.5 * length, 0.5 * beam
    return np.array(
        [
            c + hl * f,
            c + 0.4 * hl * f + hb * s,
            c - hl * f + hb * s,
            c - hl * f - hb * s,
            c + 0.4 * hl * f - hb * s,
        ]
    )


def draw_frame(
    surf: pygame.Surface,
    cam: Any,
    dom: Mapping[str, Any],
    row: Mapping[str, np.ndarray],
    *,
    selected: int | None,
) -> np.ndarray:
    valid = np.asarray(row["valid"], dtype=bool)
    x, y, psi = row["x_m"], row["y_m"], row["psi_rad"]
    length, beam = np.asarray(dom["length_m"]), np.asarray(dom["width_m"])
    controlled = np.asarray(dom["controlled"], dtype=bool)
    ais = np.asarray(dom["extra"].get("ais", [True] * len(valid)), dtype=bool)
    centres = np.full((len(valid), 2), np.nan)
    centres[valid] = cam.to_screen(np.stack([x[valid], y[valid]], axis=1))
    inside = np.asarray(row["in_domain"], dtype=bool)
    ranges = dom["extra"].get("sensor_range_m") or []
    for i in np.flatnonzero(valid & controlled):
        r = int(ranges[i] * cam.scale) if i < len(ranges) else 0
        if 0 < r < 20_000:
            pygame.draw.circle(surf, SENSOR, centres[i], r, 1)
    for i in np.flatnonzero(valid):
        colour = EGO if controlled[i] else (BACKGROUND_VEHICLE if ais[i] else NO_AIS)
        if length[i] * cam.scale < 6:
            pygame.draw.circle(surf, colour, centres[i], 5)
            pygame.draw.circle(surf, VIOLATION if inside[i] else OUTLINE, centres[i], 5, 1)
            continue
        pts = cam.to_screen(_hull(x[i], y[i], psi[i], length[i], beam[i]))
        pygame.draw.polygon(surf, colour, pts)
        pygame.draw.polygon(surf, VIOLATION if inside[i] else OUTLINE, pts, 2 if inside[i] else 1)
        if i == selected:
            pygame.draw.circle(surf, OUTLINE, centres[i], int(0.6 * length[i] * cam.scale) + 6, 2)
    for i in np.flatnonzero(valid):
        if -50 < centres[i][0] < cam.width + 50 and -50 < centres[i][1] < cam.height + 50:
            label(surf, dom["ids"][i], (centres[i][0] + 10, centres[i][1] + 6), size=15)
    return centres


def describe(dom: Mapping[str, Any], row: Mapping[str, np.ndarray], i: int) -> list[str]:
    role = "under test" if dom["controlled"][i] else "traffic"
    kn = 1852.0 / 3600.0
    out = [
        f"{dom['ids'][i]}  ({dom['kinds'][i]}, {role})",
        f"heading {math.degrees(row['psi_rad'][i]) % 360:.0f} deg  SOG "
        f"{row['speed_mps'][i] / kn:.1f} kn  STW {row['stw_mps'][i] / kn:.1f} kn",
        f"rudder {math.degrees(row['rudder_rad'][i]):+.1f} deg  UKC {row['ukc_m'][i]:.1f} m",
    ]
    if np.isfinite(row["dcpa_m"][i]):
        when = row["tcpa_s"][i]
        out.append(
            f"CPA {row['dcpa_m'][i]:.0f} m in {when:.0f} s"
            if np.isfinite(when)
            else f"CPA {row['dcpa_m'][i]:.0f} m (no relative motion)"
        )
    enc = int(row["encounter"][i])
    if enc:
        out.append(f"encounter: {cr.NAMES[enc]}")
    if row["grounded"][i]:
        out.append("AGROUND")
    return out
