"""Render one frame of a run to a pygame surface: map, entities, timeline, HUD.

The renderer reads only recorded arrays (a finished ``log.npz`` or the live recorder's), so
replay, live view and headless export share one code path. Each domain draws itself through
the module its plugin names in ``draw_module`` (``bounds``, ``draw_static``, ``draw_frame``,
``describe``, ``LEGEND``).
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
        pygame.font.init()
        self.scene = scene
        self.width, self.height = width, height
        self.cam = Camera(width, height - TIMELINE_H)
        self.drawers = {d: drawer(d) for d in scene.meta["domains"]}
        self.font = pygame.font.Font(None, 20)
        self.small = pygame.font.Font(None, 16)
        self._static: tuple[tuple, pygame.Surface] | None = None
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
        font: Any = None,
    ) -> pygame.Rect:
        img = (font or self.font).render(text, True, colour)
        return surf.blit(img, pos)

    def _panel(self, surf: pygame.Surface, lines: list[str], pos: tuple[int, int]) -> None:
        imgs = [self.font.render(t, True, palette.TEXT) for t in lines]
        w = max(i.get_width() for i in imgs) + 12
        h = sum(i.get_height() + 2 for i in imgs) + 8
        box = pygame.Rect(pos, (w, h))
        pygame.draw.rect(surf, palette.PANEL, box)
        pygame.draw.rect(surf, palette.OUTLINE, box, 1)
        y = pos[1] + 4
        for img in imgs:
            surf.blit(img, (pos[0] + 6, y))
            y += img.get_height() + 2

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
        items = [it for m in self.drawers.values() for it in m.LEGEND]
        plans = self.scene.arrays.get("plans")
        if plans and np.isfinite(plans["x_m"]).any():
            items.append(("planned path", palette.PLAN))
        x = self.width - 190
        y = 30
        for label, colour in items:
            pygame.draw.rect(surf, colour, pygame.Rect(x, y + 3, 14, 10))
            self._text(surf, label, (x + 20, y), font=self.small)
            y += 16

    def _scale_bar(self, surf: pygame.Surface) -> None:
        target = 120 / self.cam.scale  # metres that take ~120 px
        exp = 10 ** math.floor(math.log10(target))
        metres = next(m * exp for m in (5, 2, 1) if m * exp <= target)
        px = metres * self.cam.scale
        y = self.cam.height - 16
        pygame.draw.line(surf, palette.OUTLINE, (10, y), (10 + px, y), 3)
        self._text(surf, f"{metres:g} m", (14 + px, y - 8), font=self.small)

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
            pygame.draw.line(
                surf,
                palette.EVENT.get(ev.kind, palette.TEXT),
                (x, top + 6),
                (x, top + 40),
                3 if ev.kind != "manoeuvre" else 1,
            )
        x = self.timeline_x(tick)
        pygame.draw.polygon(
            surf, palette.CURSOR, [(x - 6, top + 2), (x + 6, top + 2), (x, top + 12)]
        )
        pygame.draw.line(surf, palette.CURSOR, (x, top + 2), (x, top + 44), 1)
