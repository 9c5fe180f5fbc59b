"""Viewer frame rate with many entities, headless (SDL dummy driver; not a timed test).

    python benchmarks/bench_viewer.py [--entities 1000] [--frames 300]

Renders frames of a recorded IDM/MOBIL loop with N vehicles at 1280x720, in the default view
(following the ego: the map layer is redrawn as the camera moves) and with the whole map in
view (the static map is cached; every vehicle is on screen).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pygame
from bench_road import loop_scenario

from agents.loading import load_agent
from sim.core.rollout import rollout
from sim.scenario import load_scenario
from sim.viewer.app import Viewer
from sim.viewer.render import Scene


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entities", type=int, default=1000)
    ap.add_argument("--frames", type=int, default=300)
    args = ap.parse_args()
    p = Path(tempfile.mkdtemp()) / "loop.yaml"
    p.write_text(yaml.safe_dump(loop_scenario(args.entities, 20.0)))
    sc = load_scenario(p).scenario
    res = rollout(sc, {"ego": load_agent("constant-speed")})
    scene = Scene(
        res.log.meta, res.log.arrays, res.log.dt, res.events, "bench", None, res.log.n_rows
    )
    surf = pygame.Surface((1280, 720))
    for label, fit in (("following the ego", False), ("whole map in view", True)):
        view = Viewer(scene, (1280, 720), fit=fit)
        n = min(args.frames, scene.n_rows)
        t0 = time.perf_counter()
        for k in range(n):
            view.seek(k)
            view.render(surf)
        dt = time.perf_counter() - t0
        print(
            f"{args.entities + 1} entities, {label}: {n / dt:.0f} frames/s "
            f"({dt / n * 1e3:.1f} ms per frame)"
        )


if __name__ == "__main__":
    main()
