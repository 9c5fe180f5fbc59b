"""The engine loop: determinism, control period, agent faults, clipping, collisions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.road.types import RoadAction
from sim.core.rollout import rollout
from sim.runner.suite import load_suite
from sim.scenario import load_scenario
from tests.conftest import MINIMAL, ROAD_SUITE

ENTRIES = load_suite(ROAD_SUITE).entries
STILL = RoadAction(0.0, 0.0)


def _agents(lo, agent):
    return {e.id: agent for e in lo.scenario.entities if e.controlled}


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param(e, marks=pytest.mark.slow) if e.name == "highway_traffic" else e
        for e in ENTRIES
    ],  # fmt: skip  (50 vehicles for 120 s: the slow set)
    ids=lambda e: e.name,
)
def test_same_scenario_and_seed_give_identical_logs(entry):
    """Byte-identical trajectories for every shipped scenario (fresh agents each time)."""
    from sim.runner.run import run_loaded

    lo = load_scenario(entry.path, entry.overrides)
    a, b = run_loaded(lo), run_loaded(lo)
    assert a.result.log.digest() == b.result.log.digest()
    assert [e.to_json() for e in a.result.events] == [e.to_json() for e in b.result.events]


def test_traffic_depends_on_the_seed():
    """Generated traffic is drawn from the run's seed: another seed, another log."""
    from sim.runner.run import run_loaded

    lo = load_scenario(ROAD_SUITE.parent.parent / "road" / "highway_traffic.yaml")
    lo = type(lo)(
        lo.path,
        lo.scenario.model_copy(update={"duration": 2.0}),
        lo.sha256,
        lo.parameters,
        lo.overrides,
        lo.resolved,
    )
    assert run_loaded(lo, seed=1).result.log.digest() != run_loaded(lo, seed=2).result.log.digest()


class Recorder:
    """An agent that records its calls and replays a fixed action."""

    name, version = "recorder", "0"

    def __init__(self, action=STILL, fail_at: float | None = None):
        self.action, self.fail_at, self.times = action, fail_at, []

    def reset(self, briefing, *, rng):
        self.briefing = briefing

    def act(self, obs):
        self.times.append(obs.time_s)
        if self.fail_at is not None and obs.time_s >= self.fail_at:
            raise RuntimeError("controller crashed")
        return self.action


def test_agent_acts_every_control_period(write_yaml):
    """control_period 0.3 s with dt 0.1 s: the agent is called at 0, 0.3, 0.6, ..."""
    lo = load_scenario(
        write_yaml(MINIMAL.replace("duration: 5 s", "duration: 3 s\ncontrol_period: 0.3 s"))
    )
    agent = Recorder()
    rollout(lo.scenario, _agents(lo, agent))
    assert agent.times == pytest.approx([0.3 * k for k in range(10)])
    assert agent.briefing.control_period_s == pytest.approx(0.3)


def test_constant_speed_matches_closed_form(write_yaml):
    """20 m/s straight ahead for 5 s moves the car exactly 100 m, heading unchanged."""
    lo = load_scenario(write_yaml(MINIMAL))
    res = rollout(lo.scenario, _agents(lo, Recorder()))
    x = res.log.field("road", "x_m")[:, 0]
    assert x[-1] - x[0] == pytest.approx(100.0, abs=1e-9)
    assert res.status == "truncated" and res.ticks == 50


def test_crashing_agent_ends_the_run_as_error(write_yaml):
    """An exception in act() is an agent_fault event; the run stops, nothing else breaks."""
    lo = load_scenario(write_yaml(MINIMAL))
    res = rollout(lo.scenario, _agents(lo, Recorder(fail_at=1.0)))
    assert res.status == "error"
    (fault,) = [e for e in res.events if e.kind == "agent_fault"]
    assert (
        fault.details["fault"] == "act_raised" and "controller crashed" in fault.details["message"]
    )
    assert res.log.n_rows == res.ticks + 1


@pytest.mark.parametrize(
    "bad", [RoadAction(math.nan, 0.0), RoadAction(0.0, math.inf), "go", {"accel": 1}]
)
def test_invalid_actions_are_faults_and_hold_policy_continues(write_yaml, bad):
    """NaN/inf or wrong-typed actions: a fault; with agent_fault: hold the run goes on."""
    lo = load_scenario(write_yaml(MINIMAL + "agent_fault: hold\n"))
    res = rollout(lo.scenario, _agents(lo, Recorder(action=bad)))
    faults = [e for e in res.events if e.kind == "agent_fault"]
    expected = "nonfinite_action" if isinstance(bad, RoadAction) else "invalid_action"
    assert faults and faults[0].details["fault"] == expected
    assert res.status == "truncated"
    assert np.isfinite(res.log.field("road", "x_m")).all()


def test_out_of_limit_actions_are_clipped_and_recorded(write_yaml):
    """Asking for 50 m/s² gives the vehicle's 3 m/s² and an action_clipped event."""
    lo = load_scenario(write_yaml(MINIMAL))
    res = rollout(lo.scenario, _agents(lo, Recorder(action=RoadAction(50.0, 0.0))))
    assert res.log.field("road", "accel_mps2")[1:, 0].max() == pytest.approx(3.0)
    clipped = [e for e in res.events if e.kind == "action_clipped"]
    assert clipped and "accel" in clipped[0].details["limits"]


def test_rear_end_collision_is_one_event_and_ends_the_run(write_yaml):
    """A car at 20 m/s into a stationary one 40 m ahead: one collision at t = 2 s."""
    text = (
        MINIMAL
        + """  - id: wall
    domain: road
    road: r
    s: 54.5 m
    behaviour: {type: static}
"""
    )
    lo = load_scenario(write_yaml(text))
    res = rollout(lo.scenario, _agents(lo, Recorder()))
    (col,) = [e for e in res.events if e.kind == "collision"]
    assert col.entities == ("ego", "wall") and col.time_s == pytest.approx(2.0)
    assert col.details["relative_speed_mps"] == pytest.approx(20.0)
    assert res.status == "terminated"


def test_red_light_ends_the_run_only_when_asked(write_yaml):
    """terminate_on: [red_light] stops at the controlled car's red-light event."""
    text = MINIMAL.replace(
        "        lanes: 2\n",
        """        lanes: 2
    signals:
      - {id: light, road: r, s: 60 m, phases: [{state: red, duration: 60 s}]}
""",
    )
    lo = load_scenario(write_yaml(text))
    res = rollout(lo.scenario, _agents(lo, Recorder()))
    assert res.status == "truncated"
    assert [e.kind for e in res.events if e.kind == "red_light"] == ["red_light"]
    lo = load_scenario(write_yaml(text + "terminate_on: [red_light]\n"))
    res = rollout(lo.scenario, _agents(lo, Recorder()))
    assert res.status == "terminated" and "red_light" in res.reason
    # front bumper (s + 2.25 m) reaches the line at 60 m: 10 m + 20 m/s · t + 2.25 m
    assert res.ticks * 0.1 == pytest.approx((60 - 12.25) / 20, abs=0.1)
