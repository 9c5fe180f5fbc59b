"""Render one frame of a run to a pygame surface: map, entities, timeline, HUD.

The renderer reads only recorded arrays (a finished ``log.npz`` or the live recorder's), so
replay, live view and headless export share one code path. Each domain draws itself through
the module its plugin names in ``draw_module`` (``bounds``, ``draw_static``, ``draw_frame``,
``describe``, ``LEGEND``; optionally ``legend(dom)`` for a legend that depends on the map and
``draw_tracks(surf, cam, dom, arrays)`` for what the whole run shows, such as the paths
walked by pedestrians). Text goes through :mod:`sim.viewer.text`.
"""

from __future__ import annotations

import importlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame

from sim.core.events import Event
from sim.viewer import palette
from sim.viewer.text import font, label

TIMELINE_H = 46


@dataclass
class Scene:
    """What is drawn: metadata, arrays ``[domain][field]`` (rows = ticks), events, title."""

    meta: dict[str, Any]
    arrays: dict[str, dict[str, np.ndarray]]
    dt: float
    events: list[Event] = field(default_factory=list)
    title: str = ""
    verdict: str | None = None
    n_rows: int = 0  # rows recorded so far (grows in a live view)

    @classmethod
    def from_run_folder(cls, folder: Path) -> Scene:
        from sim.core.log import RunLog
        from sim.errors import UsageError

        folder = Path(folder)
        if not (folder / "log.npz").exists():
            raise UsageError(f"{folder}: no log.npz (not a run folder; see `pground run --out`)")
        log = RunLog.load(folder / "log.npz")
        events = []
        if (folder / "events.jsonl").exists():
            events = [
                Event.from_dict(json.loads(line))
                for line in (folder / "events.jsonl").read_text().splitlines()
                if line
            ]
        title, verdict = folder.name, None
        if (folder / "manifest.json").exists():
            m = json.loads((folder / "manifest.json").read_text())
            title = f"{m['scenario']['id']} — {m['scenario']['name']}"
            verdict = m.get("verdict")
        return cls(log.meta, log.arrays, log.dt, events, title, verdict, log.n_rows)

    def row(self, domain: str, tick: int) -> dict[str, np.ndarray]:
        return {k: v[tick] for k, v in self.arrays[domain].items()}


class Camera:
    """World (m, y up) to screen (px, y down): centre, scale (px per m), viewport size."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.cx = self.cy = 0.0
        self.scale = 1.0

    def fit(self, box: tuple[float, float, float, float], margin: float = 0.08) -> None:
        x0, y0, x1, y1 = box
        self.cx, self.cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
        w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
        self.scale = (1 - 2 * margin) * min(self.width / w, self.height / h)

    def key(self) -> tuple:
        return (round(self.cx, 6), round(self.cy, 6), round(self.scale, 9), self.width, self.height)

    def to_screen(self, pts: np.ndarray) -> np.ndarray:
        """(N, 2) world points -> (N, 2) screen pixels."""
        pts = np.asarray(pts, dtype=float)
        return np.stack(
            [
                0.5 * self.width + (pts[:, 0] - self.cx) * self.scale,
                0.5 * self.height - (pts[:, 1] - self.cy) * self.scale,
            ],
            axis=1,
        )

    def to_world(self, sx: float, sy: float) -> tuple[float, float]:
        return (
            self.cx + (sx - 0.5 * self.width) / self.scale,
            self.cy - (sy - 0.5 * self.height) / self.scale,
        )

    def visible(self, polys: np.ndarray) -> np.ndarray:
        """Mask of (N, K, 2) screen polygons whose bounding box meets the viewport."""
        lo, hi = polys.min(axis=1), polys.max(axis=1)
        return (
            (hi[:, 0] >= 0) & (lo[:, 0] <= self.width) & (hi[:, 1] >= 0) & (lo[:, 1] <= self.height)
        )

    def zoom(self, factor: float, sx: float, sy: float) -> None:
        """Zoom by ``factor`` keeping the world point under (sx, sy) in place."""
        wx, wy = self.to_world(sx, sy)
        self.scale = float(np.clip(self.scale * factor, 1e-3, 500.0))
        self.cx = wx - (sx - 0.5 * self.width) / self.scale
        self.cy = wy + (sy - 0.5 * self.height) / self.scale


def drawer(domain: str) -> ModuleType:
    """The drawing module of ``domain`` (named by the plugin's ``draw_module``)."""
    from sim.domains import get_domain

    return importlib.import_module(get_domain(domain).draw_module)


class Renderer:
    """Draws frames of a :class:`Scene` on surfaces of one size."""

    def __init__(self, scene: Scene, width: int, height: int) -> None:
        self.scene = scene
        self.width, self.height = width, height
        self.cam = Camera(width, height - TIMELINE_H)
        self.drawers = {d: drawer(d) for d in scene.meta["domains"]}
        self.font = font(20)
        self.small = font(16)
        self._static: tuple[tuple, pygame.Surface] | None = None
        self._marks: tuple[int, list[tuple[int, float, np.ndarray]]] | None = None
        self._names: tuple[tuple, list[tuple[str, tuple[int, int]]]] | None = None
        self.fit()

    def fit(self) -> None:
        boxes = [m.bounds(self.scene.meta["domains"][d]) for d, m in self.drawers.items()]
        b = np.array(boxes)
        self.cam.fit((b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()))

    def follow(self, domain: str, slot: int, tick: int) -> None:
        arr = self.scene.arrays[domain]
        self.cam.cx, self.cam.cy = float(arr["x_m"][tick, slot]), float(arr["y_m"][tick, slot])

    def static_layer(self) -> pygame.Surface:
        """The map, drawn once per camera position."""
        key = self.cam.key()
        if self._static is None or self._static[0] != key:
            surf = pygame.Surface((self.cam.width, self.cam.height))
            surf.fill(palette.BACKGROUND)
            for d, m in self.drawers.items():
                m.draw_static(surf, self.cam, self.scene.meta["domains"][d])
                tracks = getattr(m, "draw_tracks", None)
                if tracks is not None and d in self.scene.arrays:
                    rows = self.scene.n_rows or None  # a live view: only what is recorded
                    arrays = {k: v[:rows] for k, v in self.scene.arrays[d].items()}
                    tracks(surf, self.cam, self.scene.meta["domains"][d], arrays)
            self._static = (key, surf)
        return self._static[1]

    def draw(
        self,
        surf: pygame.Surface,
        tick: int,
        *,
        selected: tuple[str, int] | None = None,
        speed: float | None = None,
        playing: bool = False,
    ) -> dict[str, np.ndarray]:
        """Draw ``tick``; returns entity screen centres per domain (for picking)."""
        surf.blit(self.static_layer(), (0, 0))
        centres = {}
        for d, m in self.drawers.items():
            sel = selected[1] if selected and selected[0] == d else None
            centres[d] = m.draw_frame(
                surf, self.cam, self.scene.meta["domains"][d], self.scene.row(d, tick), selected=sel
            )
        self._plans(surf, tick)
        self._collisions(surf, tick)
        self._hud(surf, tick, speed, playing)
        self._legend(surf)
        self._scale_bar(surf)
        if selected:
            d, i = selected
            lines = self.drawers[d].describe(
                self.scene.meta["domains"][d], self.scene.row(d, tick), i
            )
            self._panel(surf, lines, (10, 40))
        self._timeline(surf, tick)
        return centres

    # ---------------------------------------------------------------- overlays
    def _text(
        self,
        surf: pygame.Surface,
        text: str,
        pos: tuple[int, int],
        *,
        colour: tuple = palette.TEXT,
        size: int = 20,
    ) -> pygame.Rect:
        return label(surf, text, pos, size=size, colour=colour)

    def _panel(self, surf: pygame.Surface, lines: list[str], pos: tuple[int, int]) -> None:
        sizes = [self.font.size(t) for t in lines]
        w = max(sw for sw, _ in sizes) + 12
        h = sum(sh + 2 for _, sh in sizes) + 8
        box = pygame.Rect(pos, (w, h))
        pygame.draw.rect(surf, palette.PANEL, box)
        pygame.draw.rect(surf, palette.OUTLINE, box, 1)
        y = pos[1] + 4
        for t, (_, sh) in zip(lines, sizes, strict=True):
            label(surf, t, (pos[0] + 6, y), size=20)
            y += sh + 2

    def _event_names(self, top: int) -> list[tuple[str, tuple[int, int]]]:
        """Where to name the events on the timeline: beside each mark where there is room
        (the first of a cluster); laid out once per event list."""
        key = (len(self.scene.events), top, self.width)
        if self._names is not None and self._names[0] == key:
            return self._names[1]
        taken: list[pygame.Rect] = []
        out = []
        for ev in self.scene.events:
            name = ev.kind.replace("_", " ")
            if ev.kind == "manoeuvre" and ev.entities:
                name = f"{ev.entities[0]}: {ev.details.get('action', 'manoeuvre')}"
            rect = pygame.Rect((self.timeline_x(ev.tick) + 4, top + 30), self.small.size(name))
            if rect.right >= self.width or rect.left <= (taken[-1].right + 6 if taken else 0):
                continue  # marks are in time order: only the last name can be in the way
            taken.append(rect)
            out.append((name, rect.topleft))
        self._names = (key, out)
        return out

    def _collision_marks(self) -> list[tuple[int, float, np.ndarray]]:
        """(tick, time, world point between the entities) of each collision; computed once
        per event list (a live view's grows)."""
        events = self.scene.events
        if self._marks is not None and self._marks[0] == len(events):
            return self._marks[1]
        where = {e["id"]: (e["domain"], e["slot"]) for e in self.scene.meta.get("entities", [])}
        marks = []
        for ev in events:
            if ev.kind != "collision":
                continue
            pts = []
            for eid in ev.entities:
                d, k = where.get(eid, (None, None))
                arr = self.scene.arrays.get(d) if d is not None else None
                if arr is not None and ev.tick < len(arr["x_m"]):
                    pts.append((float(arr["x_m"][ev.tick, k]), float(arr["y_m"][ev.tick, k])))
            if pts:
                marks.append((ev.tick, ev.time_s, np.mean(np.array(pts), axis=0)))
        self._marks = (len(events), marks)
        return marks

    def _collisions(self, surf: pygame.Surface, tick: int) -> None:
        """A mark where each collision happened, from its tick on: what a reader of the
        frames most needs to find."""
        for ev_tick, time_s, xy in self._collision_marks():
            if ev_tick > tick:
                continue
            c = self.cam.to_screen(xy[None, :])[0]
            r = 9
            for off in (np.array([r, r]), np.array([r, -r])):
                pygame.draw.line(surf, palette.COLLISION, c - off, c + off, 4)
            pygame.draw.circle(surf, palette.COLLISION, c, r + 5, 2)
            label(
                surf,
                f"collision {time_s:.2f} s",
                (c[0] + r + 8, c[1] + r),  # below right: entity names sit above
                size=16,
                colour=palette.COLLISION,
                backdrop=True,
            )

    def _hud(self, surf: pygame.Surface, tick: int, speed: float | None, playing: bool) -> None:
        sc = self.scene
        last = max(sc.n_rows - 1, 0)
        parts = [f"t = {tick * sc.dt:7.2f} s", f"tick {tick}/{last}"]
        if speed is not None:
            parts.append(("playing" if playing else "paused") + f" x{speed:g}")
        x = 10
        rect = self._text(surf, sc.title, (x, 8))
        x = rect.right + 16
        rect = self._text(surf, "   ".join(parts), (x, 8))
        if sc.verdict:
            self._text(
                surf,
                f"verdict: {sc.verdict.upper()}",
                (rect.right + 16, 8),
                colour=palette.VERDICT.get(sc.verdict, palette.TEXT),
            )

    def _plans(self, surf: pygame.Surface, tick: int) -> None:
        """Agents' planned paths (the log's 'plans' group), when they expose one."""
        plans = self.scene.arrays.get("plans")
        info = self.scene.meta.get("plans")
        if not plans or not info:
            return
        n = info["points"]
        xs, ys = plans["x_m"][tick], plans["y_m"][tick]
        for k in range(len(info["entities"])):
            pts = np.stack([xs[k * n : (k + 1) * n], ys[k * n : (k + 1) * n]], axis=1)
            pts = pts[np.isfinite(pts).all(axis=1)]
            if len(pts) >= 2:
                pygame.draw.lines(surf, palette.PLAN, False, self.cam.to_screen(pts), 2)

    def _legend(self, surf: pygame.Surface) -> None:
        items = []
        for d, m in self.drawers.items():
            dynamic = getattr(m, "legend", None)
            items += dynamic(self.scene.meta["domains"][d]) if dynamic else m.LEGEND
        plans = self.scene.arrays.get("plans")
        if plans and np.isfinite(plans["x_m"]).any():
            items.append(("planned path", palette.PLAN))
        if any(ev.kind == "collision" for ev in self.scene.events):
            items.append(("collision (X)", palette.COLLISION))
        width = max(self.small.size(t)[0] for t, _ in items) + 32
        x, y = self.width - width - 8, 30
        # on a white box with outlined swatches: readable over any map colour
        box = pygame.Rect(x - 6, y - 4, width + 6, 16 * len(items) + 6)
        pygame.draw.rect(surf, palette.PANEL, box)
        for text, colour in items:
            swatch = pygame.Rect(x, y + 3, 14, 10)
            pygame.draw.rect(surf, colour, swatch)
            pygame.draw.rect(surf, palette.OUTLINE, swatch, 1)
            self._text(surf, text, (x + 20, y), size=16)
            y += 16

    def _scale_bar(self, surf: pygame.Surface) -> None:
        target = 120 / self.cam.scale  # metres that take ~120 px
        exp = 10 ** math.floor(math.log10(target))
        metres = next(m * exp for m in (5, 2, 1) if m * exp <= target)
        px = metres * self.cam.scale
        y = self.cam.height - 16
        pygame.draw.line(surf, palette.OUTLINE, (10, y), (10 + px, y), 3)
        self._text(surf, f"{metres:g} m", (14 + px, y - 8), size=16)

    def timeline_x(self, tick: int) -> int:
        last = max(self.scene.meta.get("n_ticks_planned", self.scene.n_rows - 1), 1)
        return int(10 + (self.width - 20) * min(tick / last, 1.0))

    def tick_at_x(self, x: float) -> int:
        last = max(self.scene.meta.get("n_ticks_planned", self.scene.n_rows - 1), 1)
        t = round((x - 10) / max(self.width - 20, 1) * last)
        return int(np.clip(t, 0, max(self.scene.n_rows - 1, 0)))

    def _timeline(self, surf: pygame.Surface, tick: int) -> None:
        top = self.height - TIMELINE_H
        pygame.draw.rect(surf, palette.TIMELINE, pygame.Rect(0, top, self.width, TIMELINE_H))
        recorded = self.timeline_x(max(self.scene.n_rows - 1, 0))
        pygame.draw.rect(surf, (200, 200, 195), pygame.Rect(10, top + 18, recorded - 10, 10))
        for ev in self.scene.events:
            x = self.timeline_x(ev.tick)
            colour = palette.EVENT.get(ev.kind, palette.TEXT)
            pygame.draw.line(
                surf, colour, (x, top + 6), (x, top + 40), 3 if ev.kind != "manoeuvre" else 1
            )
        for name, pos in self._event_names(top):
            label(surf, name, pos, size=16)
        x = self.timeline_x(tick)
        pygame.draw.polygon(
            surf, palette.CURSOR, [(x - 6, top + 2), (x + 6, top + 2), (x, top + 12)]
        )
        pygame.draw.line(surf, palette.CURSOR, (x, top + 2), (x, top + 44), 1)
