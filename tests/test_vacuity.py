"""A pass must be earned: this test is the definition of the ``reactive`` tag.

Every shipped scenario tagged ``reactive`` (in every suite CI runs, all four domains and the
mixed world) is failed by each controller that does not do the job: ``stop`` (comes to rest at
once), ``dawdle`` (does the nominal thing at a quarter of the speed, reacting to nothing) and
``random`` (uniform over the action limits, seeded). Sweep points of a file already covered at
its default parameters, the heaviest files and the crawler outside road run in the slow set
(CI runs it).
"""

from __future__ import annotations

import pytest

from agents.loading import load_agent
from agents.null import Dawdle, RandomPolicy, Stop
from sim.runner.run import run_loaded
from sim.runner.suite import load_suite
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS

SUITES = ("road", "rail", "air", "water", "mixed", "faults")
NULL_AGENTS = ("stop", "dawdle", "random")
#: files whose single run takes over ~2 s here: in the slow set, to keep the default run short
HEAVY = {
    "sector_1000.yaml",
    "timetable_three_trains.yaml",
    "fault_ais_dropout_crossing.yaml",
    "fault_ais_spoof_current.yaml",
    "following_train.yaml",
    "highway_traffic.yaml",
    "geofence_activation.yaml",
}


def _reactive_entries() -> list:
    """(id, path, overrides, slow) of every distinct reactive suite entry."""
    out, seen, files = [], set(), set()
    for suite in SUITES:
        for e in load_suite(SCENARIOS / "suites" / f"{suite}.yaml").entries:
            key = (str(e.path), repr(sorted(e.overrides.items())))
            if key in seen or "reactive" not in load_scenario(e.path, e.overrides).scenario.tags:
                continue
            seen.add(key)
            out.append(
                (f"{suite}/{e.name}", e.path, e.overrides, e.path in files or e.path.name in HEAVY)
            )
            files.add(e.path)
    return out


ENTRIES = _reactive_entries()
CASES = [
    pytest.param(
        path,
        ov,
        agent,
        id=f"{name}-{agent}",
        # the crawler off the road takes the longest runs: slow set (CI runs it)
        marks=[pytest.mark.slow]
        if slow or (agent == "dawdle" and "/road/" not in str(path))
        else [],
    )
    for name, path, ov, slow in ENTRIES
    for agent in NULL_AGENTS
]


@pytest.mark.parametrize(("path", "overrides", "agent"), CASES)
def test_a_controller_that_does_not_do_the_job_fails_every_reactive_scenario(
    path, overrides, agent
):
    """Stopping, crawling or acting at random never passes a reactive scenario."""
    out = run_loaded(load_scenario(path, overrides), agent=agent)
    assert out.verdict == "fail", (agent, [c.metric for c in out.criteria if not c.passed])


def test_the_reactive_set_spans_every_domain():
    domains = {
        e.domain for _, path, ov, _ in ENTRIES for e in load_scenario(path, ov).scenario.entities
    }
    assert {"road", "rail", "air", "water"} <= domains
    assert len(ENTRIES) >= 60


def test_null_agents_are_registered_and_serve_every_domain():
    """One name per behaviour, usable with any domain's briefing."""
    assert type(load_agent("stop")) is Stop
    assert type(load_agent("dawdle")) is Dawdle
    assert type(load_agent("random")) is RandomPolicy
    with pytest.raises(TypeError, match="unknown parameter"):
        Stop(gain=1)


def test_the_random_agent_is_reproducible_and_varies_with_the_seed():
    """Same seed, same log; another seed, another log."""
    lo = load_scenario(SCENARIOS / "road" / "alks_cut_in.yaml")
    a = run_loaded(lo, agent="random", seed=3).result.log.digest()
    b = run_loaded(lo, agent="random", seed=3).result.log.digest()
    c = run_loaded(lo, agent="random", seed=4).result.log.digest()
    assert a == b != c


def test_a_random_policy_through_the_gymnasium_adapter_fails_the_cut_in():
    """The README's random-policy snippet used to pass alks_cut_in in 3 of 3 episodes."""
    import sim.gym

    env = sim.gym.make(str(SCENARIOS / "road" / "alks_cut_in.yaml"))
    for episode in range(3):
        env.reset(seed=episode + 1)
        env.action_space.seed(episode)
        while True:
            *_, terminated, truncated, info = env.step(env.action_space.sample())
            if terminated or truncated:
                break
        assert info["verdict"] == "fail"
