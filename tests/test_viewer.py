"""The viewer, headless (SDL dummy driver): frames of every shipped scenario, interaction,
PNG/GIF export, the live observer. The engine itself never imports pygame."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import ClassVar

import numpy as np
import pytest

os.environ["SDL_VIDEODRIVER"] = "dummy"

from sim.runner.run import run_loaded
from sim.runner.suite import load_suite
from sim.scenario import load_scenario
from tests.conftest import ROAD_SUITE, ROOT, SCENARIOS

ENTRIES = load_suite(ROAD_SUITE).entries


def scene_of(path, overrides=None, agent=None):
    from sim.viewer.render import Scene

    out = run_loaded(load_scenario(path, overrides or {}), agent=agent)
    r = out.result
    return Scene(
        r.log.meta,
        r.log.arrays,
        r.log.dt,
        r.events,
        out.loaded.scenario.id,
        out.verdict,
        r.log.n_rows,
    )


def near(surf, xy, colour, radius=3) -> bool:
    """Some pixel within ``radius`` of ``xy`` has ``colour``."""
    x0, y0 = (round(float(v)) for v in xy)
    w, h = surf.get_size()
    return any(
        tuple(surf.get_at((x, y)))[:3] == colour
        for x in range(max(x0 - radius, 0), min(x0 + radius + 1, w))
        for y in range(max(y0 - radius, 0), min(y0 + radius + 1, h))
    )


def test_the_engine_never_imports_pygame():
    code = (
        "import sys, sim.cli, sim.core.rollout, sim.runner.campaign, sim.domains.road; "
        "from sim.runner.suite import load_suite; "
        "assert 'pygame' not in sys.modules, 'pygame imported'"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_frame_of_every_shipped_scenario(entry):
    """Right size, not blank, the ego drawn where its logged position maps, and a marker on
    the timeline at each event's time."""
    import pygame

    from sim.viewer import palette
    from sim.viewer.app import Viewer

    scene = scene_of(entry.path, entry.overrides, agent="constant-speed")
    view = Viewer(scene, (800, 500))
    tick = scene.n_rows // 2
    view.seek(tick)
    surf = pygame.Surface((800, 500))
    view.render(surf)
    assert surf.get_size() == (800, 500)
    pixels = pygame.surfarray.array3d(surf).reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) > 8
    d, i = view.ego()
    xy = view.renderer.cam.to_screen(
        np.array([[scene.arrays[d]["x_m"][tick, i], scene.arrays[d]["y_m"][tick, i]]])
    )[0]
    assert near(surf, xy, palette.EGO)
    for ev in [e for e in scene.events if e.kind in ("collision", "red_light")][:2]:
        x = view.renderer.timeline_x(ev.tick)
        assert near(surf, (x, 500 - 10), palette.EVENT[ev.kind], radius=1)


OTHER_DOMAINS = [
    ("air", "head_on.yaml"),
    ("air", "geofence_activation.yaml"),
    ("water", "harbour_approach.yaml"),
    ("water", "three_ship.yaml"),
    ("rail", "junction_flank.yaml"),
    ("mixed", "level_crossing.yaml"),
]


@pytest.mark.parametrize(("folder", "name"), OTHER_DOMAINS, ids=lambda v: str(v))
def test_frame_and_selection_panel_of_the_other_domains(folder, name):
    """Each domain's drawing module draws the controlled entity where its logged position
    maps, and describes every entity in the selection panel."""
    import pygame

    from sim.viewer import palette
    from sim.viewer.app import Viewer

    scene = scene_of(ROOT / "scenarios" / folder / name)
    view = Viewer(scene, (800, 500), fit=True)
    tick = scene.n_rows // 3
    view.seek(tick)
    surf = pygame.Surface((800, 500))
    view.render(surf)
    pixels = pygame.surfarray.array3d(surf).reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) > 8
    d, i = view.ego()
    xy = view.renderer.cam.to_screen(
        np.array([[scene.arrays[d]["x_m"][tick, i], scene.arrays[d]["y_m"][tick, i]]])
    )[0]
    assert near(surf, xy, palette.EGO, radius=4)
    for dom, drawer in view.renderer.drawers.items():
        row = scene.row(dom, tick)
        for k in range(len(scene.meta["domains"][dom]["ids"])):
            lines = drawer.describe(scene.meta["domains"][dom], row, k)
            assert lines and scene.meta["domains"][dom]["ids"][k] in lines[0]


def test_keys_and_mouse_drive_the_view():
    import pygame

    from sim.viewer.app import Viewer

    scene = scene_of(ROOT / "scenarios/road/alks_cut_in.yaml", agent="constant-speed")
    view = Viewer(scene, (800, 500))
    surf = pygame.Surface((800, 500))
    view.render(surf)

    def key(k):
        view.handle(pygame.event.Event(pygame.KEYDOWN, key=k))

    key(pygame.K_SPACE)
    assert view.playing
    view.advance(0.5)
    assert view.tick == 10  # 0.5 s at x1 with dt 0.05 s
    key(pygame.K_PLUS)
    assert view.speed == 2
    key(pygame.K_RIGHT)
    assert not view.playing and view.tick == 11
    key(pygame.K_n)
    collision = next(e for e in scene.events if e.kind == "collision")
    assert view.tick == collision.tick
    assert view.follow  # a 1 km road: the view starts following the ego
    view.follow, view.selected = False, None
    key(pygame.K_f)
    assert view.follow and view.selected == view.ego()
    view.selected = None
    view.render(surf)
    d, i = view.ego()
    cx, cy = view.centres[d][i]
    view.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(int(cx), int(cy))))
    view.handle(pygame.event.Event(pygame.MOUSEBUTTONUP, button=1, pos=(int(cx), int(cy))))
    assert view.selected == (d, i)
    x0 = view.renderer.timeline_x(0)
    view.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(x0, 490)))
    view.handle(pygame.event.Event(pygame.MOUSEBUTTONUP, button=1, pos=(x0, 490)))
    assert view.tick == 0
    key(pygame.K_q)
    assert not view.running


def test_export_frames_and_gif(tmp_path):
    from PIL import Image

    from sim.viewer.app import export_frames, export_gif

    scene = scene_of(ROOT / "scenarios/road/alks_cut_in.yaml")
    paths = export_frames(scene, tmp_path / "f", every=100, size=(320, 200))
    assert [p.name for p in paths] == [f"frame_{t:06d}.png" for t in (0, 100, 200, 300, 400)]
    assert Image.open(paths[0]).size == (320, 200)
    n = export_gif(scene, tmp_path / "a.gif", size=(320, 200), fps=10, t_from=2, t_to=4)
    gif = Image.open(tmp_path / "a.gif")
    assert n == 21 and gif.n_frames == 21 and gif.size == (320, 200)


def test_view_command_exports_without_a_display(tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    cut_in = str(ROOT / "scenarios/road/alks_cut_in.yaml")
    subprocess.run(
        [sys.executable, "-m", "sim", "run", cut_in, "--out", str(run)],
        check=True,
        capture_output=True,
        env=env,
    )
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "view",
            str(run),
            "--gif",
            str(tmp_path / "x.gif"),
            "--size",
            "320x180",
            "--to",
            "2",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "x.gif").exists()
    r = subprocess.run(
        [sys.executable, "-m", "sim", "view", str(tmp_path), "--frames", str(tmp_path / "f")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 2 and "no log.npz" in r.stderr


def test_live_view_watches_without_changing_the_run():
    """A live observer sees every tick; closing its window stops drawing, not the run; the
    log is identical to a run without a viewer."""
    import pygame

    from sim.viewer.app import LiveView

    class Closing(LiveView):
        ticks: ClassVar[list[int]] = []

        def frame(self, tick, events):
            self.ticks.append(tick)
            if tick == 10:
                pygame.event.post(pygame.event.Event(pygame.QUIT))
            super().frame(tick, events)

    lo = load_scenario(ROOT / "scenarios/road/alks_cut_in.yaml")
    live = Closing(size=(320, 200))
    watched = run_loaded(lo, observer=live)
    plain = run_loaded(lo)
    assert live.closed and live.ticks == list(range(watched.result.ticks + 1))
    assert watched.result.log.digest() == plain.result.log.digest()


def test_planned_path_is_recorded_and_drawn():
    """AdaptiveCruise exposes its lane-following arc: it is in the log and on screen."""
    import pygame

    from sim.viewer import palette
    from sim.viewer.app import Viewer

    scene = scene_of(ROOT / "scenarios/road/alks_lane_keep_curve.yaml")
    plans = scene.arrays["plans"]
    tick = 600  # in the curve
    pts = np.stack([plans["x_m"][tick], plans["y_m"][tick]], axis=1)
    assert np.isfinite(pts).all() and len(pts) == 16
    ego = np.array([scene.arrays["road"]["x_m"][tick, 0], scene.arrays["road"]["y_m"][tick, 0]])
    assert np.hypot(*(pts[0] - ego)) < 1.0  # starts at the ego (on its lane centre)
    view = Viewer(scene, (800, 500))
    view.seek(tick)
    surf = pygame.Surface((800, 500))
    view.render(surf)
    mid = view.renderer.cam.to_screen(pts[8:9])[0]
    assert 0 < mid[0] < 800 and 0 < mid[1] < 500 - 46
    assert near(surf, mid, palette.PLAN, radius=2)


def test_export_mp4(tmp_path):
    """An MP4 of a time window: the right size and one frame per 0.1 s at 10 fps."""
    import imageio.v2 as imageio

    from sim.viewer.app import export_mp4

    scene = scene_of(ROOT / "scenarios/road/alks_cut_in.yaml")
    n = export_mp4(scene, tmp_path / "a.mp4", size=(320, 200), fps=10, t_from=1, t_to=3)
    reader = imageio.get_reader(tmp_path / "a.mp4")
    assert n == 21 and reader.count_frames() == 21
    assert reader.get_meta_data()["size"] == (320, 200)


def test_an_event_still_is_framed_on_the_event(tmp_path):
    """The report's still: centred between the event's entities, a car tens of pixels
    long (a quarter of the road's following view: 40 m across 960 px)."""
    from sim.runner.run import write_run_folder
    from sim.viewer.app import event_still
    from sim.viewer.render import Scene

    out = run_loaded(load_scenario(SCENARIOS / "road" / "ncap_ccrs.yaml"), agent="constant-speed")
    write_run_folder(out, tmp_path / "run")
    hit = next(e for e in out.result.events if e.kind == "collision")
    scene = Scene.from_run_folder(tmp_path / "run")
    surf = event_still(scene, hit.tick, hit.entities)
    assert surf.get_size() == (960, 540)
    # the camera spans 40 m: the 4.5 m × 1.8 m car covers ~108 × 43 px (was ~20 px long)
    import pygame

    from sim.viewer import palette

    ego = pygame.mask.from_threshold(surf, palette.EGO, (1, 1, 1, 255)).count()
    assert ego > 3000


# ---------------------------------------------------------------- issue 24 item 10
def exported(scene, t_s, *, fit=False, size=(1280, 720)):
    """The frame `pground view --frames` writes at ``t_s``, and every text on it."""
    import pygame

    from sim.viewer.app import Viewer
    from sim.viewer.text import recording

    view = Viewer(scene, size, fit=fit, interactive=False)
    view.seek(round(t_s / scene.dt))
    surf = pygame.Surface(size)
    with recording() as texts:
        view.render(surf)
    return surf, texts


def pixels_of(surf, colour) -> int:
    import pygame

    arr = pygame.surfarray.array3d(surf).reshape(-1, 3)
    return int((arr == np.array(colour)).all(axis=1).sum())


def test_rail_frames_name_stations_platforms_restrictions_and_km_posts():
    """Rail: the station was an unlabelled square, platforms, restrictions and km posts
    were not drawn, and with --fit the train was a dot without its panel."""
    from sim.domains.rail import draw

    scene = scene_of(SCENARIOS / "rail" / "station_stop.yaml")
    for fit in (False, True):
        surf, texts = exported(scene, 150.0, fit=fit)
        assert {"halt-a", "train", "train  (rb425, under test)"} <= set(texts), texts
        assert any(t.startswith("km ") for t in texts)
        assert pixels_of(surf, draw.STATION) > 150  # the platform's extent, not a square
        assert pixels_of(surf, draw.EGO) >= draw.MIN_TRAIN_PX * 4  # never a dot
        assert not any("paused" in t or "playing" in t for t in texts)
    assert "halt-b" in exported(scene, 150.0, fit=True)[1]
    scene = scene_of(SCENARIOS / "rail" / "speed_restrictions.yaml")
    surf, texts = exported(scene, 60.0, fit=True)
    assert any(t.endswith(" km/h") and t[0].isdigit() for t in texts)  # the restriction
    assert pixels_of(surf, draw.RESTRICTION) > 100
    assert "speed restriction" in texts and "station platform" in texts


def test_air_frames_name_aircraft_and_tell_alerts_from_geofences():
    from sim.domains.air import draw

    scene = scene_of(SCENARIOS / "air" / "noncooperative.yaml")
    alert = next(ev for ev in scene.events if ev.kind == "daa_alert")
    surf, texts = exported(scene, alert.time_s + 1.0)
    assert any(t.startswith("ownship ") for t in texts)
    assert any(t.startswith("intruder ") for t in texts)
    assert "ownship  (general_aviation, controlled)" in texts  # the own aircraft's panel
    assert "DAA alert: corrective (ring)" in texts and "geofence (keep out)" in texts
    assert draw.GEOFENCE not in draw.ALERT.values() and draw.GEOFENCE != draw.VIOLATION
    level = int(scene.arrays["air"]["alert_level"][round(alert.time_s / scene.dt) + 20, 0])
    assert level and pixels_of(surf, draw.ALERT[level]) > 20  # the ring is drawn


def test_water_legend_shows_each_depth_the_chart_uses():
    """With a shallow default depth the 'shallow water' swatch was invisible (the same
    colour as the chart behind it) and deep water had no entry."""
    from sim.domains.water import draw
    from sim.viewer import palette

    scene = scene_of(SCENARIOS / "water" / "narrow_channel.yaml")
    surf, texts = exported(scene, 300.0, fit=True)
    assert {"deep water (>= 10 m)", "shallow water (< 10 m)", "own", "ferry"} <= set(texts)
    # every swatch is outlined on a white legend box, so it shows over any chart colour
    assert pixels_of(surf, palette.PANEL) > 2000
    assert pixels_of(surf, draw.SHALLOW) > 1000 and pixels_of(surf, draw.DEEP) > 1000
    scene = scene_of(SCENARIOS / "water" / "crossing_give_way.yaml")
    texts = exported(scene, 60.0)[1]
    assert "deep water (>= 10 m)" in texts and "shallow water (< 10 m)" not in texts


def test_road_frames_show_the_collision_braking_and_the_pedestrians_path():
    from sim.domains.road import draw
    from sim.viewer import palette

    scene = scene_of(SCENARIOS / "road" / "alks_crossing_pedestrian.yaml", agent="constant-speed")
    hit = next(ev for ev in scene.events if ev.kind == "collision")
    surf, texts = exported(scene, hit.time_s)
    assert f"collision {hit.time_s:.2f} s" in texts and "collision (X)" in texts
    assert "pedestrian" in texts and "collision" in texts  # the entity and the timeline
    assert pixels_of(surf, palette.COLLISION) > 30
    assert pixels_of(surf, palette.VULNERABLE) > 40  # the pedestrian, bigger, and its path
    before = exported(scene, hit.time_s - 2.0)[1]
    assert f"collision {hit.time_s:.2f} s" not in before  # from its tick on only
    assert "pedestrian: speed" in before  # the timeline names the stimulus
    scene = scene_of(SCENARIOS / "road" / "alks_lead_brake.yaml")
    braking, _ = exported(scene, 4.0)
    cruising, _ = exported(scene, 1.0)
    assert pixels_of(braking, draw.BRAKING) > pixels_of(cruising, draw.BRAKING) + 10
