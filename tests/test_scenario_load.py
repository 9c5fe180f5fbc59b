"""Loading scenario files: validation, parameters, and the exact text of errors."""

from __future__ import annotations

import json
import re

import pytest

from sim.errors import ScenarioError
from sim.scenario import load_scenario, scenario_model
from sim.scenario.load import parse_overrides
from tests.conftest import MINIMAL, SCENARIOS

SHIPPED = sorted((SCENARIOS / "road").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_scenario_loads(path):
    """Shipped scenarios are valid and cite a source in their description."""
    lo = load_scenario(path)
    assert lo.scenario.description.strip()
    assert len(lo.sha256) == 64


def _problems(write_yaml, text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(write_yaml(text))
    return info.value.problems


def test_unknown_field_is_an_error_with_line_and_suggestion(write_yaml):
    """A misspelt key names file, line, field path and the closest allowed key."""
    text = MINIMAL.replace("    speed: 20 m/s", "    sped: 20 m/s")
    (p,) = _problems(write_yaml, text)
    assert re.search(
        r"s\.yaml:18: entities\[0\]\.sped: unknown field 'sped'\. "
        r"Did you mean 'speed'\?",
        p,
    )


def test_wrong_unit_names_the_field(write_yaml):
    text = MINIMAL.replace("20 m/s", "20 s")
    (p,) = _problems(write_yaml, text)
    assert "s.yaml:18: entities[0].speed: expected a speed like '60 km/h', got '20 s'" in p


def test_control_period_must_be_a_multiple_of_dt(write_yaml):
    """0.15 s is not a multiple of 0.1 s: rejected, never rounded."""
    text = MINIMAL.replace("duration: 5 s", "duration: 5 s\ncontrol_period: 0.15 s")
    (p,) = _problems(write_yaml, text)
    assert "control_period: 0.15 s is not an integer multiple of dt 0.1 s" in p


def test_every_problem_is_reported(write_yaml):
    """Several bad fields and an unknown domain: one line each, in one pass."""
    text = MINIMAL.replace("20 m/s", "fast").replace("    s: 10 m", "    s: 10 m\n    lan: 1")
    text += "  - id: boat\n    domain: wter\n"
    probs = _problems(write_yaml, text)
    assert len(probs) == 3
    assert any(
        "entities[1].domain: unknown domain 'wter'. Did you mean 'water'? "
        "Known: air, rail, road, water" in p
        for p in probs
    )
    assert any("entities[0].lan: unknown field 'lan'. Did you mean 'lane'?" in p for p in probs)


def test_semantic_references_are_checked(write_yaml):
    """A road that does not exist and a lane beyond the road's lanes are named."""
    probs = _problems(write_yaml, MINIMAL.replace("    road: r\n", "    road: q\n"))
    assert "entities[0].road: no road 'q'." in probs[0]
    probs = _problems(write_yaml, MINIMAL.replace("    s: 10 m", "    s: 10 m\n    lane: 2"))
    assert "road 'r' has lanes 0..1, got 2" in probs[0]


def test_unknown_metric_in_criteria_is_named(write_yaml):
    text = MINIMAL + "criteria:\n  - {metric: min_tcc_s, op: '>=', value: 1}\n"
    (p,) = _problems(write_yaml, text)
    assert "criteria[0].metric: unknown metric 'min_tcc_s'. Did you mean 'min_ttc_s'?" in p


def test_yaml_syntax_error_has_a_line(write_yaml):
    (p,) = _problems(write_yaml, "id: [unclosed\nname: x\n")
    assert re.match(r".*s\.yaml:\d+: not valid YAML/JSON", p)


def test_yaml_never_constructs_objects(write_yaml):
    """Safe loading: a python tag is a YAML error, never code."""
    (p,) = _problems(write_yaml, "id: !!python/object/apply:os.system ['true']\n")
    assert "not valid YAML" in p


def test_parameters_substitute_with_units_and_expressions(write_yaml):
    """${name} keeps the parameter's unit; ${expr} computes in SI."""
    text = MINIMAL.replace("duration: 5 s", "duration: 5 s\nparameters: {v: 36 km/h}")
    text = text.replace("speed: 20 m/s", "speed: ${v}").replace("s: 10 m", "s: ${v * 2}")
    ego = load_scenario(write_yaml(text)).scenario.entities[0]
    assert ego.speed == pytest.approx(10.0)
    assert ego.s == pytest.approx(20.0)


def test_set_overrides_a_parameter_and_unknown_names_are_refused(write_yaml):
    text = MINIMAL.replace("duration: 5 s", "duration: 5 s\nparameters: {v: 36 km/h}")
    path = write_yaml(text.replace("speed: 20 m/s", "speed: ${v}"))
    lo = load_scenario(path, parse_overrides(["v=72 km/h"]))
    assert lo.scenario.entities[0].speed == pytest.approx(20.0)
    with pytest.raises(ScenarioError, match=r"no parameter 'vv'\. Did you mean 'v'\?"):
        load_scenario(path, {"vv": 1})


def test_json_scenarios_are_accepted(write_yaml):
    """JSON is YAML: the same file as JSON loads to the same scenario."""
    data = load_scenario(write_yaml(MINIMAL)).resolved
    lo = load_scenario(write_yaml(json.dumps(data), "s.json"))
    assert lo.scenario.id == "minimal"


def test_schema_round_trip(write_yaml):
    """model -> plain data -> model gives the same scenario; the JSON Schema is complete."""
    lo = load_scenario(SHIPPED[0])
    model = type(lo.scenario)
    again = model.model_validate(lo.scenario.model_dump())
    assert again == lo.scenario
    schema = scenario_model(("road",)).model_json_schema()
    assert {"entities", "map", "criteria", "dt", "duration"} <= set(schema["properties"])
    assert "RoadEntity" in json.dumps(schema)


def test_manoeuvres_must_be_able_to_happen(write_yaml):
    """A manoeuvre on a static entity, or a lane change off the road network, is refused."""
    text = (
        MINIMAL
        + """  - id: box
    domain: road
    road: r
    s: 80 m
    behaviour: {type: static}
    manoeuvres:
      - {when: {at_time: 1 s}, speed: {target: 5 m/s}}
  - id: walker
    domain: road
    kind: pedestrian
    behaviour: {type: path, points: [[0, -5], [0, 5]]}
    manoeuvres:
      - {when: {at_time: 1 s}, lane_change: {lanes: 1}}
"""
    )
    probs = _problems(write_yaml, text)
    assert any("entities[1].manoeuvres: a static entity never moves" in p for p in probs)
    assert any(
        "entities[2].manoeuvres[0].lane_change: lane changes need an entity placed on a road" in p
        for p in probs
    )
