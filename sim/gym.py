"""Gymnasium adapter: a scenario as a single-agent ``gymnasium.Env``.

    import sim.gym
    env = sim.gym.make("scenarios/road/alks_cut_in.yaml", ego_speed="80 km/h")
    obs, info = env.reset(seed=1)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())

One ``step`` is one control period of the scenario. Observations and actions are Boxes derived
from the domain's types (sim/rl.py says what each column is: ``env.unwrapped.obs_names``); the
reward is :class:`sim.rl.Reward` (configurable with ``reward={...}``); ``terminated`` when an
event ended the run (collision, goal, a rule in ``terminate_on``) or it ended in error,
``truncated`` when the scenario's duration was reached. ``reset(seed=s)`` runs the scenario
with seed ``s`` (same seed, same episode); without a seed the first episode uses the
scenario's seed and later ones draw from the environment's generator. Other controlled
entities, if any, are driven by their scenario agents. The action Box has the vehicle's
physical bounds; RL libraries that want [-1, 1] can wrap the env in
``gymnasium.wrappers.RescaleAction(env, -1.0, 1.0)``. Needs ``pip install proving-ground[rl]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from sim.rl import Episode, Reward


class ProvingGroundEnv(gym.Env[np.ndarray, np.ndarray]):
    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(
        self,
        scenario: str | Path,
        *,
        entity: str | None = None,
        reward: Reward | dict[str, Any] | None = None,
        max_objects: int = 8,
        overrides: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        ep = Episode(scenario, overrides, None, max_objects)
        eid = entity or ep.external[0]
        self._episode = Episode(scenario, overrides, (eid,), max_objects)
        self.entity = eid
        self.reward_spec = Reward.of(reward)
        layout = self._episode.layouts[eid]
        self.obs_names = layout.names
        self.observation_space = gym.spaces.Box(-1e6, 1e6, (layout.size,), np.float64)
        _, self.action_names, low, high = self._episode.boxes[eid]
        self.action_space = gym.spaces.Box(low, high, dtype=np.float64)
        self._done = True

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        run_seed = self._episode.pick_seed(seed, self.np_random)
        obs = self._episode.reset(run_seed)[self.entity]
        self._done = False
        return obs, {"seed": run_seed, "time_s": 0.0}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._done:
            raise RuntimeError("the episode is over: call reset()")
        ep = self._episode
        events = ep.advance({self.entity: action})
        s = ep.session
        reward = self.reward_spec.step_reward(events, self.entity)
        info: dict[str, Any] = {"events": [e.to_json() for e in events], "time_s": s.tick * s.dt}
        terminated = truncated = False
        if s.done:
            self._done = True
            terminated = s.status in ("terminated", "error")
            truncated = not terminated
            verdict, values = ep.finish()
            reward += self.reward_spec.final_reward(verdict, values)
            info.update(
                verdict=verdict,
                status=s.status,
                reason=s.reason,
                metrics={k: v.value for k, v in values.items() if v.valid},
            )
        return ep.observe(self.entity), float(reward), terminated, truncated, info

    def close(self) -> None:
        self._episode.session.close()


def make(scenario: str | Path, **overrides: Any) -> ProvingGroundEnv:
    """A Gymnasium Env for ``scenario``. Keyword arguments ``entity``, ``reward`` and
    ``max_objects`` configure the adapter; every other one overrides a scenario parameter
    (``ego_speed="80 km/h"``), as ``--set`` does on the command line."""
    opts = {k: overrides.pop(k) for k in ("entity", "reward", "max_objects") if k in overrides}
    return ProvingGroundEnv(scenario, overrides=overrides, **opts)
