"""highway-env's throughput on this machine, for the side-by-side figure in the README.

Run it in a separate virtual environment (highway-env is not a dependency):

    python -m venv /tmp/he && /tmp/he/bin/pip install highway-env
    /tmp/he/bin/python benchmarks/compare_highway_env.py

highway-v0, 4 lanes, default 15 Hz simulation / 1 Hz policy, the ego idling; counts every
simulation sub-step of every vehicle for 10 s of wall time.
"""

import time

import gymnasium as gym
import highway_env  # noqa: F401  (registers the environments)

for n in (50, 200):
    env = gym.make("highway-v0", config={"vehicles_count": n, "duration": 1000, "lanes_count": 4})
    env.reset(seed=0)
    vehicles = len(env.unwrapped.road.vehicles)
    cfg = env.unwrapped.config
    sub = cfg["simulation_frequency"] // cfg["policy_frequency"]
    t0, steps = time.perf_counter(), 0
    while time.perf_counter() - t0 < 10:
        _, _, term, trunc, _ = env.step(1)  # IDLE
        steps += 1
        if term or trunc:
            env.reset(seed=steps)
    wall = time.perf_counter() - t0
    print(
        f"highway-env: {vehicles} vehicles, {steps * sub / wall:,.0f} ticks/s, "
        f"{vehicles * steps * sub / wall:,.0f} vehicle-steps/s"
    )
