"""Rough edges new users met (issue 24): each reproduction from the issue, as a test."""

from __future__ import annotations

import os
import time

import pytest

from tests.conftest import MINIMAL, SCENARIOS, pground

CUT_IN = SCENARIOS / "road" / "alks_cut_in.yaml"


def _headless_env() -> dict[str, str]:
    drop = {"DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER", "XDG_RUNTIME_DIR"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def test_no_display_is_one_line_and_exit_2_at_once(write_yaml, tmp_path):
    """Without a display `view` and `run --view` used to print an SDL error and hang."""
    scenario = write_yaml(MINIMAL)
    run = tmp_path / "run"
    assert pground("run", scenario, "--out", run).returncode in (0, 1)
    for args in (["view", run], ["run", scenario, "--view", "--no-save"]):
        t0 = time.monotonic()
        r = pground(*args, env=_headless_env(), timeout=60)
        assert r.returncode == 2 and time.monotonic() - t0 < 30, r.stderr
        assert r.stderr.strip() == (
            "error: no display: use --frames DIR or --gif FILE (or --mp4 FILE)"
        )


def test_a_suite_with_a_misspelt_agent_stops_before_any_job(tmp_path):
    """It used to run every job as 'error' and write a whole campaign and report."""
    for flags in (["--agent", "acc_typo"], ["--agent", "acc", "--reference", "nope"]):
        out = tmp_path / "c"
        r = pground("suite", SCENARIOS / "suites" / "road.yaml", *flags, "--out", out)
        assert r.returncode == 3 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "no agent named" in r.stderr and not out.exists()


def test_a_bad_set_value_is_one_line_naming_the_flag():
    r = pground("run", CUT_IN, "--set", "ego_speed=fast", "--no-save")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"error: {CUT_IN}: --set ego_speed: expected a speed like '60 km/h', got 'fast'"
    ]
    ok = pground("run", CUT_IN, "--set", "ego_speed=15", "--set", "delta_v=-5 km/h", "--no-save")
    assert ok.returncode in (0, 1), ok.stderr


def test_a_suite_entry_value_of_the_wrong_kind_is_named_at_its_line(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(f"name: s\nscenarios:\n  - {{path: {CUT_IN}, set: {{ego_speed: fast}}}}\n")
    r = pground("validate", suite)
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"{suite}:3: scenarios[0]: parameter ego_speed: expected a speed like '60 km/h', got 'fast'"
    )


def test_each_command_says_which_kind_of_file_it_wants(tmp_path):
    """`run` on a suite names `pground suite`; `suite` on a scenario runs it as a suite of
    one (as it runs a folder), with its report."""
    road = SCENARIOS / "suites" / "road.yaml"
    r = pground("run", road)
    assert r.returncode == 2 and r.stderr.strip() == (
        f"error: {road}:1: this is a suite file: use `pground suite {road}`"
    )
    out = tmp_path / "one"
    r = pground("suite", CUT_IN, "--agent", "acc", "--out", out, "--no-progress")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "pass: 1" in r.stdout and (out / "report.html").exists()
    assert pground("verify", out).returncode == 0


class _Broken:
    name, version = "broken", "1"

    def reset(self, briefing, *, rng):
        pass

    def act(self, obs):
        return self._helper(obs)

    def _helper(self, obs):
        return obs.no_such_field


def test_an_agent_exception_says_where_it_was_raised(write_yaml, monkeypatch, capsys):
    """The event names the agent's file and line (not the simulator's); PGROUND_DEBUG=1
    prints the whole traceback too."""
    from sim.core.rollout import rollout
    from sim.scenario import load_scenario

    monkeypatch.setenv("PGROUND_DEBUG", "1")
    res = rollout(load_scenario(write_yaml(MINIMAL)).scenario, {"ego": _Broken()})
    (ev,) = [e for e in res.events if e.kind == "agent_fault"]
    tb = ev.details["traceback"]
    assert [t.rsplit(" in ", 1)[1] for t in tb] == ["act", "_helper"]
    assert all("test_rough_edges.py:" in t for t in tb)
    assert ev.details["message"].startswith("AttributeError: ")
    assert ev.details["message"].endswith(f"(at {tb[-1]})")
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "no_such_field" in err


def test_an_agent_of_another_domain_is_one_line_before_anything_runs():
    r = pground("check-agent", "acc", "--domain", "rail")
    assert r.returncode == 3
    assert r.stderr.strip() == "error: agent 'acc' is a road agent; 'train' is a rail entity"
    r = pground("run", SCENARIOS / "rail" / "red_signal_approach.yaml", "--agent", "acc")
    assert r.returncode == 3 and len(r.stderr.strip().splitlines()) == 1
    assert "is a road agent" in r.stderr and not r.stdout


def test_check_agent_says_when_the_scenario_ends_before_the_steps(tmp_path):
    r = pground("check-agent", "acc", "--domain", "road", "--json")
    assert r.returncode == 0, r.stderr
    import json

    steps = [c for c in json.loads(r.stdout)["checks"] if c["name"].startswith("control steps")]
    assert steps[0]["detail"] == "200 actions, no fault (the scenario ended before 300 steps)"
    assert "fewer when the scenario ends first" in " ".join(
        pground("check-agent", "--help").stdout.split()
    )


def _edited(path, old: str, new: str, tmp_path, name: str = "edited.yaml"):
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    out = tmp_path / name
    out.write_text(text.replace(old, new, 1), encoding="utf-8")
    return out


def _problems(path) -> list[str]:
    from sim.errors import ScenarioError
    from sim.scenario import load_scenario

    try:
        load_scenario(path)
    except ScenarioError as exc:
        return [p.removeprefix(f"{path}") for p in exc.problems]
    return []


AIR = SCENARIOS / "air" / "noncooperative.yaml"
#: (file, text, replaced by, the problems expected): item 5's reproductions.
NESTED = [
    (
        SCENARIOS / "road" / "alks_lead_brake.yaml",
        'brake: {deceleration: "${lead_decel}"}',
        "brake: {to: 0 m/s, decel: 6 m/s^2}",
        [
            ":42: entities[1].manoeuvres[0].brake.deceleration: required field is missing "
            "(e.g. deceleration: 6 m/s^2)",
            ":42: entities[1].manoeuvres[0].brake.to: unknown field 'to'. Did you mean "
            "'to_speed'? Allowed: deceleration, to_speed",
            ":42: entities[1].manoeuvres[0].brake.decel: unknown field 'decel'. Did you mean "
            "'deceleration'? Allowed: deceleration, to_speed",
        ],
    ),
    (
        SCENARIOS / "rail" / "red_signal_approach.yaml",
        "speed: [{at: 0 m, speed: 160 km/h}]",
        "speed: 140 km/h",
        [
            ":24: map.rail.tracks[0].speed: expected a list like "
            "[{at: 3.5 m, speed: 60 km/h}, …]; got '140 km/h'"
        ],
    ),
    (
        CUT_IN,
        "control_period: 0.1 s",
        "control_period: 0.12 s",
        [
            ":13: control_period: 0.12 s is not an integer multiple of dt 0.05 s "
            "(e.g. 0.1 s or 0.15 s)"
        ],
    ),
    (
        AIR,
        "position: {x: 0, y: 0}",
        "position: 5",
        [":34: entities[0].position: expected a mapping like {x, y}; got 5"],
    ),
    (
        AIR,
        "tags: [air, daa, do-365, encounter, reactive]",
        "tags: air",
        [":11: tags: expected a list like [text, …]; got 'air'"],
    ),
]


@pytest.mark.parametrize(("path", "old", "new", "expected"), NESTED)
def test_nested_errors_say_the_form_wanted_at_the_right_line(tmp_path, path, old, new, expected):
    """Item 5: a misspelt nested field gets 'did you mean'; a value of the wrong shape says
    which shape, with an example, not pydantic's class names; a check of the whole
    scenario is reported at the field it is about, without a dump of the scenario."""
    problems = _problems(_edited(path, old, new, tmp_path))
    assert problems == expected
    assert not any("Input should" in p or "instance of" in p for p in problems)


def test_suite_entries_get_the_same_help(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(f"name: x\nscenarios:\n  - {{path: {CUT_IN}, nmae: a}}\n")
    r = pground("validate", suite)
    assert r.returncode == 2
    assert r.stderr.startswith(
        f"{suite}:3: scenarios[0].nmae: unknown field 'nmae'. Did you mean 'name'?"
    )
    suite.write_text(f"name: x\nscenarios: {CUT_IN}\n")
    r = pground("validate", suite)
    assert r.stderr.strip() == (
        f"{suite}:2: scenarios: expected a list like [text or {{path}}, …]; got '{CUT_IN}'"
    )


def test_brief_point_forms_mean_the_declared_ones(tmp_path):
    """Item 5: route and plan points may be written `[x, y]` (as road points are) or
    `{x, y, speed}`; a goal without a radius takes the entity's goal_radius default."""
    from sim.scenario import load_scenario

    water = SCENARIOS / "water" / "crossing_give_way.yaml"
    declared = load_scenario(water).scenario.model_dump()
    for brief in ("- [0, 12 km]", "- {x: 0, y: 12 km}"):
        f = _edited(water, "- position: {x: 0, y: 12 km}", brief, tmp_path)
        assert load_scenario(f).scenario.model_dump() == declared
    declared = load_scenario(AIR).scenario.model_dump()
    brief = _edited(
        AIR,
        '- position: {x: 0, y: "${own_speed * (t_cpa + 60)}"}',
        '- [0, "${own_speed * (t_cpa + 60)}"]',
        tmp_path,
    )
    assert load_scenario(brief).scenario.model_dump() == declared


def test_a_goal_without_radius_takes_the_entity_default(tmp_path):
    import numpy as np

    from sim.core.rollout import World
    from sim.scenario import load_scenario

    water = SCENARIOS / "water" / "crossing_give_way.yaml"
    routed = load_scenario(water).scenario
    route = "route:\n      - position: {x: 0, y: 12 km}"
    goal = _edited(water, route, "goal: {position: [0, 12 km]}", tmp_path)
    goaled = load_scenario(goal).scenario
    a = World.build(routed, np.random.SeedSequence(0)).runtimes["water"]
    b = World.build(goaled, np.random.SeedSequence(0)).runtimes["water"]
    assert a.meta.goals[0]["radius_m"] == b.meta.goals[0]["radius_m"] == a.length[0]
    assert (a.goal_xy[0] == b.goal_xy[0]).all()
    radius = _edited(
        water,
        "route:\n      - position: {x: 0, y: 12 km}",
        "goal: {position: [0, 12 km]}\n    goal_radius: 300 m",
        tmp_path,
    )
    c = World.build(load_scenario(radius).scenario, np.random.SeedSequence(0)).runtimes["water"]
    assert c.meta.goals[0]["radius_m"] == 300.0


def test_run_output_shows_the_stimulus_events():
    """Item 9: the cutter's lane change used to be dropped while the header counted the
    other events."""
    r = pground("run", CUT_IN, "--no-save")
    lines = r.stdout.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith("events ("))
    shown = [ln for ln in lines[head + 1 :] if " s  " in ln]
    assert lines[head] == f"events ({len(shown)}):"
    assert "manoeuvre" in shown[0] and "cutter" in shown[0] and "lane_change" in shown[0]


def test_events_to_show_keeps_every_stimulus_in_time_order():
    from types import SimpleNamespace as E

    from sim.cli import _events_to_show

    events = [E(kind="action_clipped", t=i) for i in range(30)]
    events.insert(25, E(kind="manoeuvre", t=24.5))
    shown = _events_to_show(events, 10)
    assert len(shown) == 10 and shown[-1].kind == "manoeuvre"
    assert [e.t for e in shown] == sorted(e.t for e in shown)


def test_numbers_in_tables_read_as_numbers():
    from sim.cli import _fmt

    assert [_fmt(v) for v in (1290.4, 0.9687, 102.4, 3e12, float("inf"), None)] == [
        "1290", "0.969", "102", "3e+12", "inf", "-",
    ]  # fmt: skip


def test_metric_and_agent_descriptions_are_whole_sentences():
    """Item 9: `pground metrics` and `pground agents` cut descriptions at the docstring's
    first line; the six COLREG rule metrics repeated one paragraph."""
    from metrics.registry import METRICS

    for spec in METRICS.values():
        assert spec.summary.rstrip(")").endswith("."), (spec.name, spec.summary)
    rules = [s.summary for n, s in METRICS.items() if n.startswith("colreg_rule")]
    assert len(rules) == 6 and len(set(rules)) == 6
    assert all(len(s) < 260 for s in rules)
    r = pground("agents", env={**os.environ, "COLUMNS": "250"})
    header = next(ln for ln in r.stdout.splitlines() if "name" in ln and "domains" in ln)
    assert header.index("domains") < header.index("target")
    acc = next(ln for ln in r.stdout.splitlines() if ln.startswith("│ acc "))
    assert "│ road " in acc and acc.rstrip(" │").endswith("emergency braking.")


def test_campaign_table_shows_varied_parameters_and_the_domain_separation(tmp_path):
    """Item 9: sweeps did not show what was varied; rail runs showed min_distance_m = inf
    (a car-to-car distance) instead of the trains' own separation."""
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "name: rail-sweep\nscenarios:\n"
        f"  - path: {SCENARIOS / 'rail' / 'timetable_three_trains.yaml'}\n"
        "    grid: {delay: {values: [60 s, 120 s]}}\n"
    )
    r = pground("suite", suite, "--out", tmp_path / "c", env={**os.environ, "COLUMNS": "250"})
    header = next(ln for ln in r.stdout.splitlines() if "│ run" in ln or "┃ run" in ln)
    assert "min_separation_margin_m" in header and "min_distance_m" not in header
    assert "parameters" in header
    assert sum("delay=60 s" in ln or "delay=120 s" in ln for ln in r.stdout.splitlines()) == 2
    from sim.cli import _params_text

    assert _params_text('{"speed": 22.22222, "adhesion": 0.5}', {"speed": "km/h"}) == (
        "adhesion=0.5 speed=80 km/h"
    )
    assert _params_text({}) == ""


def test_scenario_reference_is_complete_and_in_sync():
    """Item 6: every field of `pground schema` is described (quantities with their unit),
    definition names are class names, and docs/scenario-format.md is what
    `pground schema --markdown` prints (regenerate it when a model changes)."""
    import json
    import re

    from sim.domains import known_domains
    from sim.scenario.reference import markdown, scenario_schema

    domains = tuple(known_domains())
    schema = scenario_schema(domains)
    defs = schema["$defs"]
    assert not [n for n in defs if not re.fullmatch(r"[A-Z][A-Za-z]*", n)]
    assert not re.search(r"#/\$defs/[^\"]*__", json.dumps(schema))
    undescribed = [
        f"{name}.{field}"
        for name, model in [("Scenario", schema), *defs.items()]
        for field, prop in (model.get("properties") or {}).items()
        if not str(prop.get("description", "")).strip()
    ]
    assert undescribed == []
    speed = defs["RoadEntity"]["properties"]["speed"]
    assert speed["description"] == "initial speed (m/s, or with a unit: '60 km/h')"
    docs = SCENARIOS.parent / "docs" / "scenario-format.md"
    assert docs.read_text(encoding="utf-8") == markdown(domains), (
        "docs/scenario-format.md is stale: pground schema --markdown > docs/scenario-format.md"
    )
    r = pground("schema", "--markdown")
    assert r.returncode == 0 and r.stdout == markdown(domains)


@pytest.mark.parametrize("domain", ["road", "rail", "air", "water"])
def test_worked_examples_run_and_pass(domain):
    """Item 6: the worked example of each domain in docs/scenario-format.md is a real
    scenario that validates and passes with the agent it names."""
    from sim.runner.run import run_loaded
    from sim.scenario import load_scenario
    from sim.scenario.reference import EXAMPLES

    loaded = load_scenario(EXAMPLES / f"{domain}.yaml")
    assert {e.domain for e in loaded.scenario.entities} == {domain}
    outcome = run_loaded(loaded)
    assert outcome.verdict == "pass", [c for c in outcome.criteria if not c.passed]


def test_validate_a_folder_checks_each_file_as_what_it_is():
    """A folder of suites was validated as one suite of scenario files ('this is a suite
    file' for each); stored reference outcomes are data, not scenarios."""
    r = pground("validate", SCENARIOS / "suites", SCENARIOS / "mixed")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any("road.yaml  (suite," in ln for ln in lines)
    assert not any("r157.json" in ln for ln in lines)
    files = len(list((SCENARIOS / "suites").glob("*.yaml"))) + len(
        list((SCENARIOS / "mixed").glob("*.yaml"))
    )
    assert lines[-1] == f"{files} valid, 0 invalid"


def test_a_parameter_of_the_wrong_kind_is_one_line(tmp_path):
    """It was two pydantic lines (parameters.x.float, parameters.x.str) and then one more
    at every field that used it."""
    bad = _edited(CUT_IN, "  ego_speed: 60 km/h", "  ego_speed: [1, 2]", tmp_path)
    assert _problems(bad) == [
        ":15: parameters.ego_speed: expected a number, a quantity like '60 km/h' or text; "
        "got [1, 2]"
    ]


def test_polyline_points_are_lengths_and_bounded(tmp_path):
    """Road and path points were plain floats: 1e308 passed validation (GEOS overflow at
    run time); now they take units and are bounded like every length."""
    from sim.scenario import load_scenario

    line = "geometry: [{line: 1000 m}]"
    far = _edited(CUT_IN, line, "geometry: [{points: [[0, 0], [1.0e308, 0]]}]", tmp_path)
    problems = _problems(far)
    assert len(problems) == 1 and "points[1][0]: expected a length within" in problems[0]
    km = _edited(CUT_IN, line, "geometry: [{points: [[0, 0], [1 km, 0]]}]", tmp_path)
    seg = load_scenario(km).scenario.map.road.roads[0].geometry[0]
    assert seg.points == [(0.0, 0.0), (1000.0, 0.0)]


def test_errors_in_a_mixed_file_name_the_entity_field_at_its_line(tmp_path):
    """In a file of several domains pydantic puts the domain tag in the path
    (`entities[1].road.colour`, and `road` is also a road entity's field): the message and
    its line were the tag's, not the field's."""
    mixed = SCENARIOS / "mixed" / "level_crossing.yaml"
    text = mixed.read_text(encoding="utf-8")
    lines = text.splitlines()
    first = next(i for i, ln in enumerate(lines) if ln == "    domain: road")
    lines.insert(first + 1, "    colour: red")
    bad = tmp_path / "m.yaml"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = _problems(bad)
    assert problems[0].startswith(f":{first + 2}: entities[")
    assert ".colour: unknown field 'colour'." in problems[0] and ".road." not in problems[0]
