"""The interactive window (replay and live), and headless PNG/GIF export.

Keys: space play/pause, → / ← one tick, + / − speed ×2 / ÷2 (×0.25 … ×64), n / p next /
previous event, f follow the selected entity (or the ego), home fit the map, q / Esc quit.
Mouse: wheel zooms at the pointer, drag pans, click selects an entity, click or drag on the
timeline scrubs.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from sim.viewer.render import TIMELINE_H, Renderer, Scene

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame

SPEEDS = (0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)
STREET_VIEW_M = 160.0  # metres across the window when following


class Viewer:
    """State of an interactive view over a :class:`Scene` (testable without a window)."""

    def __init__(
        self,
        scene: Scene,
        size: tuple[int, int] = (1280, 720),
        *,
        fit: bool = False,
        interactive: bool = True,
    ) -> None:
        self.scene = scene
        self.renderer = Renderer(scene, *size)
        self.tick = 0
        self.playing = False
        self.speed_i = SPEEDS.index(1)
        self.follow = False
        self.selected: tuple[str, int] | None = None
        cam = self.renderer.cam
        # a drawing module may say how wide a following view should be (air: tens of km)
        view_m = max(
            getattr(m, "FOLLOW_VIEW_M", STREET_VIEW_M) for m in self.renderer.drawers.values()
        )
        if not fit and cam.width / cam.scale > view_m * 2.5 and self.ego():
            # a big map: start close to the ego, following it ('home' shows the whole map)
            self.follow, self.selected = True, self.ego()
            cam.scale = cam.width / view_m
        # exported frames: no playback state in the header, and the info panel of the
        # entity under test, since nobody can click to open it
        self.interactive = interactive
        if not interactive and self.selected is None:
            self.selected = self.ego()
        self.centres: dict[str, np.ndarray] = {}
        self.running = True
        self._sim_t = 0.0
        self._drag: tuple[int, int] | None = None
        self._scrubbing = False
        self._moved = False

    @property
    def speed(self) -> float:
        return SPEEDS[self.speed_i]

    @property
    def last(self) -> int:
        return max(self.scene.n_rows - 1, 0)

    def ego(self) -> tuple[str, int] | None:
        for d, info in self.scene.meta["domains"].items():
            for i, c in enumerate(info["controlled"]):
                if c:
                    return d, i
        return None

    def seek(self, tick: int) -> None:
        self.tick = int(np.clip(tick, 0, self.last))
        self._sim_t = self.tick * self.scene.dt

    def next_event(self, direction: int = 1) -> None:
        ticks = sorted({e.tick for e in self.scene.events if e.kind != "manoeuvre"})
        later = [t for t in ticks if (t > self.tick if direction > 0 else t < self.tick)]
        if later:
            self.seek(later[0] if direction > 0 else later[-1])

    def advance(self, wall_dt: float) -> None:
        """Move playback on by ``wall_dt`` seconds of wall time at the current speed."""
        if not self.playing:
            return
        self._sim_t += wall_dt * self.speed
        tick = int(self._sim_t / self.scene.dt)
        if tick >= self.last:
            tick = self.last
            self.playing = self.scene.n_rows < self.scene.meta.get("n_ticks_planned", 0) + 1
        self.tick = tick

    def handle(self, ev: Any) -> None:
        """React to one pygame event."""
        if ev.type == pygame.QUIT:
            self.running = False
        elif ev.type == pygame.KEYDOWN:
            k = ev.key
            if k in (pygame.K_q, pygame.K_ESCAPE):
                self.running = False
            elif k == pygame.K_SPACE:
                if self.tick >= self.last:
                    self.seek(0)
                self.playing = not self.playing
                self._sim_t = self.tick * self.scene.dt
            elif k == pygame.K_RIGHT:
                self.playing = False
                self.seek(self.tick + 1)
            elif k == pygame.K_LEFT:
                self.playing = False
                self.seek(self.tick - 1)
            elif k in (pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS):
                self.speed_i = min(self.speed_i + 1, len(SPEEDS) - 1)
            elif k in (pygame.K_MINUS, pygame.K_KP_MINUS):
                self.speed_i = max(self.speed_i - 1, 0)
            elif k == pygame.K_n:
                self.next_event(1)
            elif k == pygame.K_p:
                self.next_event(-1)
            elif k == pygame.K_f:
                self.follow = not self.follow
                if self.follow and self.selected is None:
                    self.selected = self.ego()
            elif k == pygame.K_HOME:
                self.follow = False
                self.renderer.fit()
        elif ev.type == pygame.MOUSEWHEEL:
            x, y = pygame.mouse.get_pos()
            self.renderer.cam.zoom(1.2**ev.y, x, y)
        elif ev.type == pygame.MOUSEBUTTONDOWN and ev.button == 1:
            if ev.pos[1] >= self.renderer.height - TIMELINE_H:
                self._scrubbing = True
                self.seek(self.renderer.tick_at_x(ev.pos[0]))
            else:
                self._drag, self._moved = ev.pos, False
        elif ev.type == pygame.MOUSEMOTION and (self._drag or self._scrubbing):
            if self._scrubbing:
                self.seek(self.renderer.tick_at_x(ev.pos[0]))
            else:
                dx, dy = ev.pos[0] - self._drag[0], ev.pos[1] - self._drag[1]
                if abs(dx) + abs(dy) > 2:
                    cam = self.renderer.cam
                    cam.cx -= dx / cam.scale
                    cam.cy += dy / cam.scale
                    self._drag, self._moved = ev.pos, True
                    self.follow = False
        elif ev.type == pygame.MOUSEBUTTONUP and ev.button == 1:
            if self._drag and not self._moved:
                self.pick(*ev.pos)
            self._drag, self._scrubbing = None, False

    def pick(self, sx: float, sy: float) -> None:
        """Select the entity whose centre is nearest the click (within 25 px)."""
        best, choice = 25.0, None
        for d, c in self.centres.items():
            if len(c) == 0:
                continue
            dist = np.hypot(c[:, 0] - sx, c[:, 1] - sy)
            dist = np.where(np.isnan(dist), np.inf, dist)
            i = int(np.argmin(dist))
            if dist[i] < best:
                best, choice = float(dist[i]), (d, i)
        self.selected = choice

    def render(self, surf: pygame.Surface) -> None:
        if self.follow and self.selected is not None:
            self.renderer.follow(*self.selected, self.tick)
        self.centres = self.renderer.draw(
            surf,
            self.tick,
            selected=self.selected,
            speed=self.speed if self.interactive else None,
            playing=self.playing,
        )


def require_display() -> None:
    """Refuse at once where no window can open: on Linux without X11 or Wayland, SDL would
    try other back-ends and can block for good (unless SDL_VIDEODRIVER names one)."""
    from sim.errors import UsageError

    if (
        sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
        and not os.environ.get("SDL_VIDEODRIVER")
    ):
        raise UsageError("no display: use --frames DIR or --gif FILE (or --mp4 FILE)")


def open_window(size: tuple[int, int], title: str) -> pygame.Surface:
    from sim.errors import UsageError

    require_display()
    pygame.display.init()
    try:
        screen = pygame.display.set_mode(size)
    except pygame.error as exc:
        raise UsageError(
            f"cannot open a window ({exc}); on a machine without a display, "
            "export frames with --frames DIR or --gif FILE"
        ) from None
    pygame.display.set_caption(f"Proving Ground — {title}")
    return screen


def replay(
    scene: Scene,
    size: tuple[int, int] = (1280, 720),
    *,
    fit: bool = False,
    viewer: Viewer | None = None,
    screen: pygame.Surface | None = None,
) -> None:
    """Open (or reuse) a window and replay until it is closed."""
    view = viewer or Viewer(scene, size, fit=fit)
    view.scene = view.renderer.scene = scene
    screen = screen or open_window(size, scene.title)
    clock = pygame.time.Clock()
    view.running = True
    while view.running:
        for ev in pygame.event.get():
            view.handle(ev)
        view.advance(clock.get_time() / 1000.0)
        view.render(screen)
        pygame.display.flip()
        clock.tick(60)
    pygame.display.quit()


class LiveView:
    """A rollout observer that shows the run while it computes; ``realtime`` paces it to the
    wall clock (the simulation itself never reads the clock). Closing the window stops the
    drawing, not the run. Afterwards the window stays open as a replay of the finished run."""

    def __init__(
        self, size: tuple[int, int] = (1280, 720), *, realtime: bool = False, title: str = ""
    ) -> None:
        self.size, self.realtime, self.title = size, realtime, title
        self.view: Viewer | None = None
        self.screen: pygame.Surface | None = None
        self.events: list = []
        self.closed = False

    def begin(self, meta: dict, arrays: dict, dt: float) -> None:
        scene = Scene(meta, arrays, dt, self.events, self.title, None, 0)
        self.screen = open_window(self.size, self.title)
        self.view = Viewer(scene, self.size)
        self.t0 = time.monotonic()

    def frame(self, tick: int, events: list) -> None:
        if self.closed or self.view is None:
            return
        self.events.extend(events)
        view = self.view
        view.scene.n_rows = tick + 1
        view.seek(tick)
        for ev in pygame.event.get():
            view.handle(ev)
        if not view.running:
            self.closed = True
            pygame.display.quit()
            return
        if self.realtime:
            ahead = tick * view.scene.dt - (time.monotonic() - self.t0)
            if ahead > 0:
                time.sleep(ahead)
        view.render(self.screen)
        pygame.display.flip()

    def finish(self, scene: Scene) -> None:
        if not self.closed and self.view is not None:
            self.view.playing = False
            replay(scene, self.size, viewer=self.view, screen=self.screen)


# ---------------------------------------------------------------------------- export
def _headless() -> None:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def _window(scene: Scene, t_from: float | None, t_to: float | None) -> range:
    first = 0 if t_from is None else round(t_from / scene.dt)
    last = scene.n_rows - 1 if t_to is None else round(t_to / scene.dt)
    first, last = max(first, 0), min(last, scene.n_rows - 1)
    from sim.errors import UsageError

    if first > last:
        raise UsageError(f"empty time window: the run has 0 … {(scene.n_rows - 1) * scene.dt:g} s")
    return range(first, last + 1)


def _frames(scene: Scene, size: tuple[int, int], ticks: range, fit: bool):
    _headless()
    view = Viewer(scene, size, fit=fit, interactive=False)
    surf = pygame.Surface(size)
    for tick in ticks:
        view.seek(tick)
        view.render(surf)
        yield tick, surf


def event_still(
    scene: Scene, tick: int, entities: tuple[str, ...] = (), size: tuple[int, int] = (960, 540)
) -> pygame.Surface:
    """One frame framed on an event: centred between its entities (the controlled one when
    it names none), wide enough to show them all and narrow enough that a car is tens of
    pixels long (a quarter of the domain's following view at least: 40 m on a road)."""
    _headless()
    view = Viewer(scene, size, fit=True, interactive=False)
    view.seek(tick)
    where = {e["id"]: (e["domain"], e["slot"]) for e in scene.meta.get("entities", [])}
    picked = [where[i] for i in entities if i in where] or ([view.ego()] if view.ego() else [])
    if picked:
        xs = [float(scene.arrays[d]["x_m"][view.tick, k]) for d, k in picked]
        ys = [float(scene.arrays[d]["y_m"][view.tick, k]) for d, k in picked]
        least = min(
            getattr(view.renderer.drawers[d], "FOLLOW_VIEW_M", STREET_VIEW_M) / 4 for d, _ in picked
        )
        width_m = max(least, 3.0 * max(max(xs) - min(xs), max(ys) - min(ys)))
        cam = view.renderer.cam
        cam.cx, cam.cy = 0.5 * (min(xs) + max(xs)), 0.5 * (min(ys) + max(ys))
        cam.scale = cam.width / width_m
        view.follow = False
    surf = pygame.Surface(size)
    view.render(surf)
    return surf


def export_frames(
    scene: Scene,
    out: Path,
    *,
    every: int = 1,
    size: tuple[int, int] = (1280, 720),
    t_from: float | None = None,
    t_to: float | None = None,
    fit: bool = False,
) -> list[Path]:
    """Write PNG frames ``frame_<tick>.png`` of every ``every``-th tick; returns the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    ticks = _window(scene, t_from, t_to)[:: max(1, every)]
    for tick, surf in _frames(scene, size, ticks, fit):
        p = out / f"frame_{tick:06d}.png"
        pygame.image.save(surf, str(p))
        paths.append(p)
    return paths


def export_mp4(
    scene: Scene,
    out: Path,
    *,
    size: tuple[int, int] = (1280, 720),
    fps: float = 25.0,
    t_from: float | None = None,
    t_to: float | None = None,
    fit: bool = False,
) -> int:
    """Write an H.264 MP4 playing the time window in real time at ``fps`` (needs the
    ``video`` extra: imageio with the ffmpeg binary that imageio-ffmpeg ships); returns the
    number of frames."""
    try:
        import imageio.v2 as imageio
    except ImportError:
        from sim.errors import UsageError

        raise UsageError(
            "--mp4 needs a video writer: pip install 'proving-ground[video]' (or use --gif)"
        ) from None
    step = max(1, round(1.0 / (fps * scene.dt)))
    ticks = _window(scene, t_from, t_to)[::step]
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with imageio.get_writer(
        out, fps=1.0 / (step * scene.dt), codec="libx264", macro_block_size=2
    ) as writer:
        for _, surf in _frames(scene, size, ticks, fit):
            writer.append_data(pygame.surfarray.array3d(surf).swapaxes(0, 1))
            n += 1
    return n


def export_gif(
    scene: Scene,
    out: Path,
    *,
    size: tuple[int, int] = (960, 540),
    fps: float = 10.0,
    t_from: float | None = None,
    t_to: float | None = None,
    fit: bool = False,
) -> int:
    """Write an animated GIF playing the time window in real time at ``fps``; returns the
    number of frames."""
    from PIL import Image

    step = max(1, round(1.0 / (fps * scene.dt)))
    ticks = _window(scene, t_from, t_to)[::step]
    images = [
        Image.frombytes("RGB", size, pygame.image.tobytes(surf, "RGB")).quantize(colors=128)
        for _, surf in _frames(scene, size, ticks, fit)
    ]
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    images[0].save(
        out,
        save_all=True,
        append_images=images[1:],
        loop=0,
        duration=round(1000 * step * scene.dt),
        optimize=False,
    )
    return len(images)
