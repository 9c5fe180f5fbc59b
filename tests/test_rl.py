"""Gymnasium and PettingZoo adapters (sim/gym.py, sim/pettingzoo.py, sim/rl.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")
pytest.importorskip("pettingzoo")

from gymnasium.utils.env_checker import check_env  # noqa: E402
from pettingzoo.test import parallel_api_test  # noqa: E402

import sim.gym  # noqa: E402
from agents.loading import load_agent  # noqa: E402
from sim.pettingzoo import parallel_env  # noqa: E402
from sim.rl import ObsLayout, Reward  # noqa: E402
from sim.runner.run import run_loaded  # noqa: E402
from sim.scenario.load import load_scenario  # noqa: E402
from tests.conftest import MINIMAL, SCENARIOS  # noqa: E402

ONE_PER_DOMAIN = [
    "road/alks_cut_in.yaml",
    "rail/red_signal_approach.yaml",
    "air/crossing_right.yaml",
    "water/head_on.yaml",
]


@pytest.mark.parametrize("path", ONE_PER_DOMAIN)
def test_gym_env_passes_check_env(path):
    env = sim.gym.make(SCENARIOS / path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # only the advice to normalise the action Box
        check_env(env, skip_render_check=True)
    assert env.observation_space.shape == (len(env.obs_names),)
    env.close()


def test_parallel_env_passes_the_pettingzoo_api_test():
    env = parallel_env(SCENARIOS / "mixed" / "level_crossing.yaml")
    parallel_api_test(env, num_cycles=300)
    assert sorted(env.possible_agents) == ["car", "train"]
    # a car and a train: each has the spaces of its own domain
    assert env.action_space("train").shape == (1,) and env.action_space("car").shape == (2,)


def test_same_seed_same_episode_other_seed_other_traffic():
    def episode(seed):
        env = sim.gym.make(SCENARIOS / "road" / "highway_traffic.yaml", vehicles=20)
        obs, _ = env.reset(seed=seed)
        out = [obs]
        for _ in range(20):
            obs, *_ = env.step(np.array([0.5, 0.0]))
            out.append(obs)
        return np.array(out)

    a, b, c = episode(4), episode(4), episode(5)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_driving_the_env_with_the_reference_agent_reproduces_the_run():
    """The external path is the same engine: the reference agent's actions fed through
    env.step give the byte-identical log of a normal run."""
    path = SCENARIOS / "road" / "alks_lead_brake.yaml"
    env = sim.gym.make(path)
    lo = load_scenario(path)
    ego = next(e for e in lo.scenario.entities if e.controlled)
    agent = load_agent(ego.agent, dict(ego.agent_params))
    env.reset(seed=lo.scenario.seed)
    session = env.unwrapped._episode.session
    agent.reset(session.briefing(ego.id), rng=np.random.default_rng(0))
    done = False
    while not done:
        a = agent.act(session.observe(ego.id))
        *_, term, trunc, info = env.step(np.array([a.accel_mps2, a.steer_rad]))
        done = term or trunc
    ref = run_loaded(lo)
    got = session.result()
    # every domain array is byte-identical (the agent's drawn plan is not sent through gym)
    for name, arrays in ref.result.log.arrays.items():
        if name != "plans":
            for k, a in arrays.items():
                assert got.log.arrays[name][k].tobytes() == a.tobytes(), (name, k)
    assert [e.to_json() for e in got.events] == [e.to_json() for e in ref.result.events]
    assert info["verdict"] == ref.verdict == "pass"


def test_layout_columns_are_what_their_names_say():
    lo = load_scenario(SCENARIOS / "road" / "alks_cut_in.yaml")
    env = sim.gym.make(SCENARIOS / "road" / "alks_cut_in.yaml")
    obs, _ = env.reset(seed=lo.scenario.seed)
    truth = env.unwrapped._episode.session.observe("ego")
    names = env.unwrapped.obs_names
    assert obs[names.index("own.speed_mps")] == truth.own.speed_mps
    assert obs[names.index("objects[0].mask")] == 1.0
    assert obs[names.index("objects[0].rel_s_m")] == truth.objects.rel_s_m[0]
    assert obs[names.index("objects[7].mask")] == 0.0
    assert obs[names.index("signal?")] == 0.0  # no traffic light on the motorway


def test_optional_parts_and_nan_are_encoded_inside_the_box():
    from agents.water.types import WaterObservation

    lay = ObsLayout(WaterObservation, max_objects=2)
    assert lay.size == len(lay.names)
    env = sim.gym.make(SCENARIOS / "water" / "restricted_visibility.yaml")
    obs, _ = env.reset(seed=1)
    for _ in range(50):
        obs, *_ = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)


def test_collision_terminates_with_its_penalty(write_yaml):
    text = MINIMAL + "  - id: wall\n    domain: road\n    road: r\n    s: 40 m\n"
    env = sim.gym.make(write_yaml(text), reward={"events": {"collision": -50.0}})
    env.reset(seed=0)
    total, term, trunc = 0.0, False, False
    while not (term or trunc):
        _, r, term, trunc, info = env.step(np.array([3.0, 0.0]))
        total += r
    assert term and not trunc and info["status"] == "terminated"
    # -50 for the collision, then the default verdict weight of an unclassified run
    assert total == pytest.approx(-50.0 + Reward().verdict[info["verdict"]])


def test_reward_rejects_unknown_keys():
    with pytest.raises(ValueError, match="unknown reward keys"):
        Reward.of({"colision": -1})


def test_random_policy_through_both_adapters_as_in_the_readme():
    env = sim.gym.make(SCENARIOS / "road" / "alks_cut_in.yaml")
    obs, info = env.reset(seed=1)
    steps = 0
    while True:
        obs, _reward, terminated, truncated, info = env.step(env.action_space.sample())
        steps += 1
        if terminated or truncated:
            break
    assert steps > 0 and info["verdict"] in ("pass", "fail", "error")
    assert env.observation_space.contains(obs)
    penv = parallel_env(SCENARIOS / "mixed" / "level_crossing.yaml")
    penv.reset(seed=1)
    while penv.agents:
        actions = {a: penv.action_space(a).sample() for a in penv.agents}
        _obs, rewards, _terms, _truncs, _infos = penv.step(actions)
    assert set(rewards) == {"car", "train"}


def test_an_agent_left_out_of_a_parallel_step_keeps_its_command():
    penv = parallel_env(SCENARIOS / "mixed" / "level_crossing.yaml")
    penv.reset(seed=2)
    for _ in range(5):
        penv.step({"car": penv.action_space("car").sample()})  # the train sends nothing
    faults = [e for e in penv._episode.session.events if e.kind == "agent_fault"]
    assert faults == []
