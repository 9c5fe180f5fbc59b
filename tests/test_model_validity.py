"""Runs that leave a model's stated validity range are recorded (validity_exceeded events,
the validity_exceedances metric) and counted in the report's credibility section."""

from __future__ import annotations

import math
import os

from rich.console import Console

from agents.road.types import RoadAction
from sim.runner.run import run_loaded
from sim.scenario import load_scenario
from sim.units import G0_MPS2
from tests.conftest import SCENARIOS, reported_campaign

QUIET = Console(file=open(os.devnull, "w"))  # noqa: SIM115


class HardSteer:
    """Full steering lock at speed: far beyond what the kinematic bicycle is valid for."""

    name, version = "hard-steer", "0"

    def reset(self, briefing, *, rng):
        pass

    def act(self, obs):
        return RoadAction(0.0, 0.6 if obs.time_s > 1.0 else 0.0)


def test_a_hard_turn_at_speed_exceeds_the_bicycle_model_s_lateral_acceleration():
    """v·ψ̇ with ψ̇ = v·sin β / l_r, β = atan(tan δ / 2): at 16.7 m/s and full lock that is
    far above 0.5 g; the event comes at the first tick above 4.9 m/s², with the peak."""
    lo = load_scenario(SCENARIOS / "road" / "alks_lane_keep_curve.yaml")
    ego = next(e for e in lo.scenario.entities if e.controlled)
    from sim.core.rollout import rollout
    from sim.validity import validity_events

    res = rollout(lo.scenario, {ego.id: HardSteer()})
    evs = [e for e in validity_events(res.log) if "lateral" in e.details["quantity"]]
    assert len(evs) == 1 and evs[0].entities == (ego.id,)
    a = res.log.arrays["road"]
    lat = abs(a["speed_mps"][:, 0] * a["yaw_rate_radps"][:, 0])
    first = next(k for k, x in enumerate(lat) if x > 0.5 * G0_MPS2)
    assert evs[0].tick == first and math.isclose(evs[0].details["value"], float(lat.max()))
    assert evs[0].details["limit"] == 0.5 * G0_MPS2 and "Polack" in evs[0].details["source"]


def test_a_coarse_time_step_is_recorded_and_counted_in_the_report(tmp_path):
    """dt = 0.1 s on a road (stated validity: ≤ 0.05 s): one event per run, the metric
    counts it, and the report's credibility says how many runs left the range."""
    text = (SCENARIOS / "road" / "alks_cut_in.yaml").read_text().replace("dt: 0.05 s", "dt: 0.1 s")
    assert "dt: 0.1 s" in text
    coarse = tmp_path / "coarse.yaml"
    coarse.write_text(text)
    out = run_loaded(load_scenario(coarse))
    assert out.metrics["validity_exceedances"].value == 1
    c = reported_campaign(
        tmp_path,
        f"name: v\nscenarios:\n  - {coarse}\n  - {SCENARIOS / 'road' / 'alks_lead_brake.yaml'}\n",
    )
    import json

    road = json.loads((c / "report.json").read_text())["credibility"][0]
    assert road["left_validity"] == {"runs": 1, "of": 2, "examples": ["coarse"]}
    assert any("time step ≤ 0.05 s" in x for x in road["checks"])
