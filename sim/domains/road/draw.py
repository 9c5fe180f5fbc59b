"""Drawing the road domain for the viewer (imported only by the viewer: it needs pygame).

A domain's drawing module provides ``bounds``, ``draw_static``, ``draw_frame``, ``describe``
and ``LEGEND`` (see ``sim/viewer/render.py``); it reads only the log: the domain's metadata
(``meta["domains"][name]``, with its map summary) and the row of every field at one tick.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pygame

from sim.core.geometry import box_corners
from sim.viewer.palette import (
    BACKGROUND_VEHICLE,
    BRAKING,
    EGO,
    MARKING,
    OBSTACLE,
    OUTLINE,
    ROAD,
    SENSOR,
    SIGNAL,
    STOP_LINE,
    VULNERABLE,
)
from sim.viewer.text import label

LEGEND = [
    ("controlled (ego)", EGO),
    ("background vehicle", BACKGROUND_VEHICLE),
    ("pedestrian / cyclist (and path)", VULNERABLE),
    ("obstacle", OBSTACLE),
    ("braking (brake lights)", BRAKING),
]
BRAKE_LIGHT_MPS2 = -1.0  # brake lights on below this acceleration
MAX_VEHICLE_LABELS = 12  # background vehicles are named only when this few are in view
DASH_M, GAP_M = 3.0, 9.0


def bounds(dom: Mapping[str, Any]) -> tuple[float, float, float, float]:
    """World box (xmin, ymin, xmax, ymax) of every road."""
    pts = np.concatenate([np.asarray(b) for r in dom["map"]["roads"] for b in r["boundaries"]])
    return (
        float(pts[:, 0].min()),
        float(pts[:, 1].min()),
        float(pts[:, 0].max()),
        float(pts[:, 1].max()),
    )


_GEOMETRY: dict[int, tuple[Any, dict[str, Any]]] = {}


def _geometry(dom: Mapping[str, Any]) -> dict[str, Any]:
    """World-space map geometry, built once per log: road quads (Q, 4, 2), solid marking
    polylines, dash segments (D, 2, 2) and stop lines (S, 2, 2)."""
    hit = _GEOMETRY.get(id(dom))
    if hit is not None and hit[0] is dom:
        return hit[1]
    quads, solid, dashes = [], [], []
    for road in dom["map"]["roads"]:
        right, left = np.asarray(road["boundaries"][0]), np.asarray(road["boundaries"][-1])
        quads.append(np.stack([right[:-1], right[1:], left[1:], left[:-1]], axis=1))
        for line, kind in zip(road["boundaries"], road["markings"], strict=True):
            pts = np.asarray(line)
            if kind == "solid":
                solid.append(pts)
            elif kind == "dashed":
                dashes.extend(_dashes(pts))
    geo = {
        "quads": np.concatenate(quads),
        "solid": solid,
        "dashes": np.array(dashes).reshape(-1, 2, 2),
        "stops": np.array([s["stop_line"] for s in dom["map"]["signals"]]).reshape(-1, 2, 2),
    }
    _GEOMETRY[id(dom)] = (dom, geo)
    return geo


def draw_static(surf: pygame.Surface, cam: Any, dom: Mapping[str, Any]) -> None:
    """Road surfaces, lane markings (solid or dashed) and stop lines, culled to the view."""
    geo = _geometry(dom)
    quads = cam.to_screen(geo["quads"].reshape(-1, 2)).reshape(-1, 4, 2)
    for q in quads[cam.visible(quads)]:
        pygame.draw.polygon(surf, ROAD, q)
    for pts in geo["solid"]:
        seg = cam.to_screen(pts)
        if len(seg) >= 2 and cam.visible(seg[None])[0]:
            pygame.draw.lines(surf, MARKING, False, seg, 2)
    if len(geo["dashes"]):
        dashes = cam.to_screen(geo["dashes"].reshape(-1, 2)).reshape(-1, 2, 2)
        for a, b in dashes[cam.visible(dashes)]:
            pygame.draw.line(surf, MARKING, a, b, 1)
    if len(geo["stops"]):
        stops = cam.to_screen(geo["stops"].reshape(-1, 2)).reshape(-1, 2, 2)
        for a, b in stops:
            pygame.draw.line(surf, STOP_LINE, a, b, max(2, int(0.4 * cam.scale)))


def draw_frame(
    surf: pygame.Surface,
    cam: Any,
    dom: Mapping[str, Any],
    row: Mapping[str, np.ndarray],
    *,
    selected: int | None,
) -> np.ndarray:
    """Signal heads, the ego's sensor range, every valid entity as an oriented box coloured
    by role; returns entity centres on screen (N, 2), NaN for invalid ones (for picking)."""
    states = row.get("signal_state")
    for k, sig in enumerate(dom["map"]["signals"]):
        (x1, y1), (x2, y2) = sig["stop_line"]
        head = cam.to_screen(np.array([[x2 + 0.1 * (x2 - x1), y2 + 0.1 * (y2 - y1)]]))[0]
        colour = SIGNAL[int(states[k])] if states is not None and len(states) > k else OUTLINE
        pygame.draw.circle(surf, OUTLINE, head, max(5, int(0.9 * cam.scale)) + 2)
        pygame.draw.circle(surf, colour, head, max(5, int(0.9 * cam.scale)))
    valid = np.asarray(row["valid"], dtype=bool)
    x, y, h = row["x_m"], row["y_m"], row["heading_rad"]
    length, width = np.asarray(dom["length_m"]), np.asarray(dom["width_m"])
    controlled = np.asarray(dom["controlled"], dtype=bool)
    kinds = dom["kinds"]
    centres = np.full((len(valid), 2), np.nan)
    centres[valid] = cam.to_screen(np.stack([x[valid], y[valid]], axis=1))
    ranges = dom.get("extra", {}).get("sensor_range_m")
    for i in np.flatnonzero(valid & controlled):
        if ranges:
            r = int(ranges[i] * cam.scale)
            if 0 < r < 20_000:
                pygame.draw.circle(surf, SENSOR, centres[i], r, 1)
    corners = cam.to_screen(box_corners(x, y, h, length, width).reshape(-1, 2)).reshape(-1, 4, 2)
    on = valid & cam.visible(corners)
    braking = np.asarray(row["accel_mps2"]) < BRAKE_LIGHT_MPS2
    named = controlled | np.isin(_kinds(dom), ("pedestrian", "cyclist", "obstacle"))
    if int(on.sum()) <= MAX_VEHICLE_LABELS:
        named[:] = True
    for i in np.flatnonzero(on):
        kind = kinds[i]
        colour = (
            EGO
            if controlled[i]
            else VULNERABLE
            if kind in ("pedestrian", "cyclist")
            else OBSTACLE
            if kind == "obstacle"
            else BACKGROUND_VEHICLE
        )
        if named[i]:
            label(surf, dom["ids"][i], (centres[i][0] + 10, centres[i][1] - 18), size=15)
        if kind == "pedestrian":  # a person: a dot big enough to see, outlined
            r = max(6, int(0.5 * cam.scale))
            pygame.draw.circle(surf, colour, centres[i], r)
            pygame.draw.circle(surf, OUTLINE, centres[i], r, 2 if i == selected else 1)
            continue
        if length[i] * cam.scale < 5:  # a vehicle too small for a box: a dot
            pygame.draw.circle(surf, colour, centres[i], max(3, int(0.4 * cam.scale)))
            continue
        pygame.draw.polygon(surf, colour, corners[i])
        pygame.draw.polygon(surf, OUTLINE, corners[i], 2 if i == selected else 1)
        if cam.scale > 2:  # heading tick: centre to the middle of the front edge
            front = 0.5 * (corners[i][0] + corners[i][3])
            pygame.draw.line(surf, OUTLINE, centres[i], front, 1)
        # lights at the rear corners, where a car is big enough on screen to show them
        if braking[i] and length[i] * cam.scale >= 12 and kind not in ("cyclist", "obstacle"):
            r = max(3, int(0.45 * cam.scale))
            for corner in (corners[i][1], corners[i][2]):
                pygame.draw.circle(surf, BRAKING, 0.8 * corner + 0.2 * centres[i], r)
    if selected is not None and valid[selected]:
        pygame.draw.circle(
            surf,
            OUTLINE,
            centres[selected],
            int(0.5 * math.hypot(length[selected], width[selected]) * cam.scale) + 6,
            2,
        )
    return centres


_KINDS: dict[int, tuple[Any, np.ndarray]] = {}


def _kinds(dom: Mapping[str, Any]) -> np.ndarray:
    """The entity kinds as an array, built once per scene (not per frame: 1,000 strings)."""
    kinds = dom["kinds"]
    hit = _KINDS.get(id(kinds))
    if hit is None or hit[0] is not kinds:
        _KINDS.clear()  # one scene at a time
        hit = _KINDS[id(kinds)] = (kinds, np.asarray(kinds))
    return hit[1]


def draw_tracks(
    surf: pygame.Surface, cam: Any, dom: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
) -> None:
    """The whole path of each pedestrian and cyclist over the run, so that a frame shows
    where they come from and are going (a crossing pedestrian is otherwise a dot)."""
    walkers = np.flatnonzero(np.isin(_kinds(dom), ("pedestrian", "cyclist")))
    if walkers.size == 0:
        return
    valid = np.asarray(arrays["valid"], dtype=bool)
    for i in walkers:
        keep = valid[:, i]
        pts = np.stack([arrays["x_m"][keep, i], arrays["y_m"][keep, i]], axis=1)
        if len(pts) >= 2 and np.ptp(pts, axis=0).max() > 0.5:
            screen = cam.to_screen(pts[:: max(1, len(pts) // 400)])
            pygame.draw.lines(surf, VULNERABLE, False, screen, 2)
            pygame.draw.circle(surf, VULNERABLE, screen[-1], 4)


def describe(dom: Mapping[str, Any], row: Mapping[str, np.ndarray], i: int) -> list[str]:
    """Lines for the selection panel."""
    role = "controlled" if dom["controlled"][i] else "background"
    out = [
        f"{dom['ids'][i]}  ({dom['kinds'][i]}, {role})",
        f"speed {row['speed_mps'][i] * 3.6:.1f} km/h  heading "
        f"{round(math.degrees(row['heading_rad'][i])) % 360} deg",
        f"accel {row['accel_mps2'][i]:+.2f} m/s2  steer "
        f"{math.degrees(row['steer_rad'][i]):+.1f} deg",
    ]
    if row["road"][i] >= 0:
        road = dom["map"]["roads"][int(row["road"][i])]["id"]
        out.append(f"road {road} lane {int(row['lane'][i])} s {row['s_m'][i]:.1f} m")
    return out


def _dashes(pts: np.ndarray) -> list[np.ndarray]:
    """Dashes along a polyline, DASH_M long every DASH_M + GAP_M, as (2, 2) segments."""
    seg = np.hypot(*np.diff(pts, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    starts = np.arange(0.0, s[-1], DASH_M + GAP_M)
    ends = np.minimum(starts + DASH_M, s[-1])
    a = np.stack([np.interp(starts, s, pts[:, 0]), np.interp(starts, s, pts[:, 1])], axis=1)
    b = np.stack([np.interp(ends, s, pts[:, 0]), np.interp(ends, s, pts[:, 1])], axis=1)
    return list(np.stack([a, b], axis=1))
