"""Drawing the rail domain for the viewer (imported only by the viewer: it needs pygame).

Tracks as grey lines with kilometre posts, speed restrictions as yellow bands with their
limit, station platforms (their extent, ending at the stopping point) with the station's
name, signals as dots coloured by aspect with their names, level crossings; trains as boxes
along the track (controlled blue, others grey, never smaller than a few pixels) with their
ids, obstacles dark.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pygame

from sim.core.geometry import box_corners
from sim.viewer.palette import BACKGROUND_VEHICLE, EGO, OBSTACLE, OUTLINE, SIGNAL
from sim.viewer.text import label

TRACK = (110, 110, 110)
STATION = (86, 180, 233)
RESTRICTION = (240, 228, 66)
LEGEND = [
    ("train under test", EGO),
    ("other train", BACKGROUND_VEHICLE),
    ("obstacle", OBSTACLE),
    ("station platform", STATION),
    ("speed restriction", RESTRICTION),
    ("line speed from here (km/h)", SIGNAL[2]),
    ("signal at stop", SIGNAL[2]),
]
FOLLOW_VIEW_M = 3000.0
ASPECT = {0: SIGNAL[2], 1: SIGNAL[1], 2: SIGNAL[0]}
PROT = ("", "warning", "service brake", "EMERGENCY BRAKE")
MIN_TRAIN_PX = 16  # a train is drawn at least this long, whatever the zoom
KM_POST_PX = 90  # kilometre posts at least this far apart on screen


def bounds(dom: Mapping[str, Any]) -> tuple[float, float, float, float]:
    return tuple(dom["map"]["area"])  # type: ignore[return-value]


def draw_static(surf: pygame.Surface, cam: Any, dom: Mapping[str, Any]) -> None:
    m = dom["map"]
    for r in m.get("speed_restrictions", []):
        pts = cam.to_screen(np.asarray(r["points"], dtype=float))
        if len(pts) >= 2:
            pygame.draw.lines(surf, RESTRICTION, False, pts, 11)
            limit = f"{r['speed_mps'] * 3.6:.0f} km/h"
            label(surf, limit, (pts[0][0], pts[0][1] - 10), size=15, anchor="bottomleft")
    for st in m["stations"]:
        pts = cam.to_screen(np.asarray(st.get("platform") or [st["xy"]], dtype=float))
        if len(pts) >= 2:
            pygame.draw.lines(surf, STATION, False, pts, 9)
        stop = pts[-1]
        pygame.draw.rect(surf, STATION, pygame.Rect(stop[0] - 4, stop[1] - 12, 8, 8))
        pygame.draw.rect(surf, OUTLINE, pygame.Rect(stop[0] - 4, stop[1] - 12, 8, 8), 1)
        # below the track (trains are labelled above it)
        label(surf, st["id"], (stop[0], stop[1] + 24), size=16, anchor="midtop", backdrop=True)
    for t in m["tracks"]:
        pts = cam.to_screen(np.asarray(t["points"], dtype=float))
        if len(pts) >= 2:
            pygame.draw.lines(surf, TRACK, False, pts, 3)
        _km_posts(surf, cam, t)
        for board in t.get("line_speeds", []):
            p = cam.to_screen(np.asarray([board["xy"]], dtype=float))[0] + (0, -22)
            pygame.draw.circle(surf, (255, 255, 255), p, 11)
            pygame.draw.circle(surf, SIGNAL[2], p, 11, 2)
            label(surf, f"{board['speed_mps'] * 3.6:.0f}", p, size=14, anchor="center")
    for sig in m["signals"]:
        p = cam.to_screen(np.asarray([sig["xy"]], dtype=float))[0]
        side = np.array([-math.sin(sig["heading_rad"]), -math.cos(sig["heading_rad"])]) * 10
        label(surf, sig["id"], p + 2.2 * side, size=14, anchor="center")
    for lc in m["level_crossings"]:
        p = cam.to_screen(np.asarray([lc["xy"]], dtype=float))[0]
        pygame.draw.line(surf, OUTLINE, (p[0] - 8, p[1] - 8), (p[0] + 8, p[1] + 8), 2)
        pygame.draw.line(surf, OUTLINE, (p[0] - 8, p[1] + 8), (p[0] + 8, p[1] - 8), 2)
        label(surf, lc["id"], (p[0] + 10, p[1] + 6), size=14)


def _km_posts(surf: pygame.Surface, cam: Any, track: Mapping[str, Any]) -> None:
    """Posts along the track at a round step that keeps them apart on screen, labelled with
    the line's kilometre (the track's ``km`` at its start)."""
    pts = np.asarray(track["points"], dtype=float)
    if len(pts) < 2:
        return
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
    step = next(
        (
            m
            for m in (100, 200, 500, 1000, 2000, 5000, 10_000, 50_000)
            if m * cam.scale >= KM_POST_PX
        ),
        100_000,
    )
    km0 = float(track.get("km", 0.0)) * 1000.0
    first = math.ceil(km0 / step) * step - km0
    marks = np.arange(first, cum[-1] + 1e-6, step)
    if marks.size == 0 or marks.size > 400:
        return
    xy = np.stack([np.interp(marks, cum, pts[:, 0]), np.interp(marks, cum, pts[:, 1])], axis=1)
    for (sx, sy), at in zip(cam.to_screen(xy), marks, strict=True):
        if not (-50 < sx < cam.width + 50 and -50 < sy < cam.height + 50):
            continue
        pygame.draw.line(surf, TRACK, (sx, sy + 3), (sx, sy + 9), 1)
        km = (km0 + at) / 1000.0
        label(surf, f"km {km:g}", (sx, sy + 10), size=13, colour=TRACK, anchor="midtop")


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
    px = 1 / max(cam.scale, 1e-6)  # metres per pixel
    length = np.maximum(np.asarray(dom["length_m"]), MIN_TRAIN_PX * px)
    width = np.maximum(np.asarray(dom["width_m"]), 6 * px)
    controlled = np.asarray(dom["controlled"], dtype=bool)
    centres = np.full((len(valid), 2), np.nan)
    centres[valid] = cam.to_screen(np.stack([x[valid], y[valid]], axis=1))
    corners = cam.to_screen(box_corners(x, y, h, length, width).reshape(-1, 2)).reshape(-1, 4, 2)
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
        top = corners[i][:, 1].min()
        label(surf, dom["ids"][i], (centres[i][0], top - 16), size=15, anchor="midbottom")
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
