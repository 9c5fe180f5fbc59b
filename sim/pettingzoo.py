"""PettingZoo adapter: a scenario with several controlled entities as a ``ParallelEnv``.

    from sim.pettingzoo import parallel_env
    env = parallel_env("scenarios/mixed/level_crossing.yaml")
    obs, infos = env.reset(seed=1)
    while env.agents:
        actions = {a: env.action_space(a).sample() for a in env.agents}
        obs, rewards, terminations, truncations, infos = env.step(actions)

The agents are the controlled entities (each may be of another domain: a car and a train);
spaces, reward and episode ends are those of :mod:`sim.gym`, per agent. Needs
``pip install proving-ground[rl]``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv

from sim.rl import Episode, Reward


class ProvingGroundParallelEnv(ParallelEnv):
    metadata: ClassVar[dict[str, Any]] = {"render_modes": [], "name": "proving_ground_v1"}

    def __init__(
        self,
        scenario: str | Path,
        *,
        reward: Reward | dict[str, Any] | None = None,
        max_objects: int = 8,
        overrides: dict[str, Any] | None = None,
    ) -> None:
        self._episode = Episode(scenario, overrides, None, max_objects)
        self.possible_agents = list(self._episode.external)
        self.agents: list[str] = []
        self.reward_spec = Reward.of(reward)
        self._rng = np.random.default_rng()
        self.render_mode = None

    @functools.cache  # noqa: B019 - PettingZoo expects the same object
    def observation_space(self, agent: str) -> gym.spaces.Box:
        size = self._episode.layouts[agent].size
        return gym.spaces.Box(-1e6, 1e6, (size,), np.float64)

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> gym.spaces.Box:
        _, _, low, high = self._episode.boxes[agent]
        return gym.spaces.Box(low, high, dtype=np.float64)

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        run_seed = self._episode.pick_seed(seed, self._rng)
        obs = self._episode.reset(run_seed)
        self.agents = list(self.possible_agents)
        return obs, {a: {"seed": run_seed} for a in self.agents}

    def step(
        self, actions: dict[str, Any]
    ) -> tuple[
        dict[str, np.ndarray],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        ep = self._episode
        s = ep.session
        # an agent left out of ``actions`` keeps its previous command
        events = ep.advance({a: v for a, v in actions.items() if a in self.agents})
        rewards = {a: self.reward_spec.step_reward(events, a) for a in self.agents}
        done = s.done
        terminated = done and s.status in ("terminated", "error")
        infos: dict[str, dict[str, Any]] = {a: {"time_s": s.tick * s.dt} for a in self.agents}
        if done:
            verdict, values = ep.finish()
            bonus = self.reward_spec.final_reward(verdict, values)
            for a in self.agents:
                rewards[a] += bonus
                infos[a].update(verdict=verdict, status=s.status, reason=s.reason)
        obs = {a: ep.observe(a) for a in self.agents}
        terms = {a: terminated for a in self.agents}
        truncs = {a: done and not terminated for a in self.agents}
        if done:
            self.agents = []
        return obs, rewards, terms, truncs, infos

    def close(self) -> None:
        self._episode.session.close()


def parallel_env(scenario: str | Path, **overrides: Any) -> ProvingGroundParallelEnv:
    """A PettingZoo ParallelEnv for ``scenario`` (``reward`` and ``max_objects`` configure
    the adapter; other keywords override scenario parameters)."""
    opts = {k: overrides.pop(k) for k in ("reward", "max_objects") if k in overrides}
    return ProvingGroundParallelEnv(scenario, overrides=overrides, **opts)
