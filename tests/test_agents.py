"""Agent loading, and the reference agents against every shipped road scenario."""

from __future__ import annotations

import json
import sys

import pytest

from agents.loading import available_agents, load_agent
from agents.protocol import Agent
from agents.wire import plain
from sim.errors import AgentError
from sim.runner.run import run_loaded
from sim.runner.suite import load_suite
from sim.scenario import load_scenario
from tests.conftest import MINIMAL, ROAD_SUITE, passed_and_saveable

ENTRIES = load_suite(ROAD_SUITE).entries


def test_load_by_path_and_by_entry_point():
    a = load_agent("agents.road.acc:AdaptiveCruise")
    b = load_agent("acc")
    assert type(a) is type(b) and isinstance(a, Agent)
    assert {"acc", "constant-speed", "r157-driver"} <= {s.name for s in available_agents()}


@pytest.mark.parametrize(
    ("spec", "msg"),
    [
        ("ac", r"no agent named 'ac'\. Did you mean 'acc'\? Registered: acc, colreg-pilot, "),
        (
            "agents.road.acc:AdaptiveCruse",
            r"has no 'AdaptiveCruse'\. Did you mean 'AdaptiveCruise'",
        ),
        ("nosuch.module:X", r"cannot import module 'nosuch\.module'"),
        ("agents.road.types:RoadAction", r"bad parameters|not an Agent"),
    ],
)
def test_loading_errors_teach(spec, msg):
    with pytest.raises(AgentError, match=msg):
        load_agent(spec)


def test_an_out_of_process_agent_without_its_program_is_refused_clearly():
    with pytest.raises(AgentError, match=r"cmd:\./controller.*no program"):
        load_agent("cmd:./controller")
    with pytest.raises(AgentError, match="takes no --agent-param"):
        load_agent(f"cmd:{sys.executable} x.py", {"gain": 2})


def test_observation_and_briefing_are_plain_data(write_yaml):
    """What an agent receives serialises to JSON and its arrays are read-only."""
    seen = {}

    class Spy:
        name, version = "spy", "0"

        def reset(self, briefing, *, rng):
            seen["brief"] = briefing

        def act(self, obs):
            seen["obs"] = obs
            from agents.road.types import RoadAction

            return RoadAction(0.0, 0.0)

    text = (
        MINIMAL + "  - id: other\n    domain: road\n    road: r\n    s: 60 m\n"
        "    speed: 10 m/s\n    behaviour: {type: idm}\n"
    )
    lo = load_scenario(write_yaml(text))
    from sim.core.rollout import rollout

    rollout(lo.scenario, {"ego": Spy()})
    json.dumps(plain(seen["brief"]), allow_nan=False)
    json.dumps(plain(seen["obs"]), allow_nan=False)
    objs = seen["obs"].objects
    assert objs.ids == ("other",) and objs.rel_s_m[0] > 0
    with pytest.raises(ValueError):
        objs.x_m[0] = 0.0


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_adaptive_cruise_passes_every_shipped_road_scenario(entry):
    """The reference agent is good enough that a failure means something."""
    out = run_loaded(load_scenario(entry.path, entry.overrides))
    passed_and_saveable(out)


REACTIVE = [e for e in ENTRIES if "reactive" in load_scenario(e.path, e.overrides).scenario.tags]


@pytest.mark.parametrize("entry", REACTIVE, ids=lambda e: e.name)
def test_null_agent_fails_every_reactive_scenario(entry):
    """ConstantSpeed reacts to nothing: the criteria of reaction scenarios must catch it."""
    out = run_loaded(load_scenario(entry.path, entry.overrides), agent="constant-speed")
    assert out.verdict == "fail"


def test_reactive_scenarios_are_most_of_the_suite():
    assert len(REACTIVE) >= 12


def test_r157_reference_driver_brakes_for_a_braking_lead():
    """The careful and competent driver avoids the 6 m/s² lead-braking case at 1.6 s gap
    (R157 4.3): it reaches 0.774 g, and its AEB overlay (0.85 g) at most, but for the 1 %
    the jerk-limited actuator overshoots while the period means follow the profile."""
    lo = load_scenario(ROAD_SUITE.parent.parent / "road" / "alks_lead_brake.yaml")
    out = run_loaded(lo, agent="r157-driver")
    assert out.metrics["collisions"].value == 0
    decel = out.metrics["max_decel_mps2"].value
    assert 0.774 * 9.80665 - 1e-9 <= decel <= 1.01 * 0.85 * 9.80665
