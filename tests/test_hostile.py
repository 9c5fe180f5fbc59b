"""Hostile input (issue 18, first items): names that would leave the campaign folder,
scenario files that name programs or arbitrary callables as agents, YAML alias bombs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
from rich.console import Console

from sim.errors import AgentError, ScenarioError
from sim.runner.campaign import execute_job, run_campaign
from sim.runner.run import run_loaded
from sim.runner.suite import load_suite
from sim.scenario import load_scenario
from sim.scenario.yamlio import MAX_ALIASES, MAX_DEPTH, MAX_NODES, loads_with_lines
from tests.conftest import PGROUND, ROOT, SCENARIOS, alive, pground, reported_campaign

QUIET = Console(file=open(os.devnull, "w"))  # noqa: SIM115
CUT_IN = SCENARIOS / "road" / "alks_cut_in.yaml"


# ---------------------------------------------------------------- 1. path traversal
@pytest.mark.parametrize("name", ["../../victim", "..", ".hidden", "a/b", "x\\..\\y"])
def test_a_suite_entry_name_cannot_leave_the_campaign(tmp_path, name):
    suite = tmp_path / "s.yaml"
    suite.write_text(f"name: evil\nscenarios:\n  - {{path: {CUT_IN}, name: '{name}'}}\n")
    with pytest.raises(ScenarioError) as exc:
        load_suite(suite)
    assert exc.value.problems[0].startswith(f"{suite}:3: scenarios[0].name:")
    assert "cannot name run folders" in exc.value.problems[0]


def test_a_job_whose_name_escapes_is_not_written_and_nothing_outside_is_touched(tmp_path):
    """Even a job built by hand (not from a suite file) cannot write or replace a folder
    outside the campaign's runs/: a victim folder with a manifest.json survives."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "manifest.json").write_text("{}")
    (victim / "keep.txt").write_text("mine")
    from sim.runner.suite import Job

    j = Job("../../victim", "f", CUT_IN, {}, 1, "0" * 64, agent="constant-speed")
    camp = tmp_path / "c" / "inner"
    camp.mkdir(parents=True)
    row = execute_job({**j.to_dict(), "agent_options": None}, str(camp), "all")
    assert row["verdict"] == "error" and "would leave" in row["error"]
    assert (victim / "keep.txt").read_text() == "mine"
    assert not (camp / "runs").exists() or not any((camp / "runs").iterdir())


# ---------------------------------------------------------------- 2. files never execute code
def _scenario(tmp_path, agent: str, params: str = "") -> str:
    path = tmp_path / "pwn.yaml"
    path.write_text(
        "schema_version: 1\nid: pwn\nname: pwn\ndescription: names a program\ndt: 0.1\n"
        "duration: 1\nmap: {road: {roads: [{id: r, geometry: [{line: 200 m}]}]}}\n"
        "entities:\n"
        f"  - {{id: ego, domain: road, road: r, s: 20 m, speed: 5 m/s, agent: {agent!r}"
        f"{params}}}\n"
    )
    return str(path)


def test_a_scenario_file_cannot_start_a_program(tmp_path):
    marker = tmp_path / "PWNED"
    path = _scenario(tmp_path, f"cmd:touch {marker}")
    with pytest.raises(AgentError, match="cannot start a program"):
        run_loaded(load_scenario(path))
    r = subprocess.run(
        [sys.executable, "-m", "sim", "run", path, "--no-save"], capture_output=True, text=True
    )
    assert r.returncode == 3 and "--allow-file-agents" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not marker.exists()
    # the explicit flag, or the same program given on the command line, runs it
    for extra in (["--allow-file-agents"], ["--agent", f"cmd:touch {marker}"]):
        subprocess.run(
            [sys.executable, "-m", "sim", "run", path, "--no-save", *extra],
            capture_output=True,
            timeout=120,
        )
        assert marker.exists()  # touched (the run itself then fails: touch is no agent)
        marker.unlink()


def test_a_scenario_file_cannot_call_an_arbitrary_callable(tmp_path):
    marker = tmp_path / "PWNED2"
    path = _scenario(tmp_path, "os:system", f", agent_params: {{command: 'touch {marker}'}}")
    with pytest.raises(AgentError, match="not an Agent class"):
        run_loaded(load_scenario(path))
    assert not marker.exists()


def test_a_campaign_of_a_file_naming_a_program_runs_nothing(tmp_path):
    marker = tmp_path / "PWNED3"
    suite = tmp_path / "s.yaml"
    suite.write_text(f"name: s\nscenarios:\n  - {_scenario(tmp_path, f'cmd:touch {marker}')}\n")
    s = run_campaign(
        load_suite(suite), tmp_path / "c", executor="serial", console=QUIET, progress=False
    )
    assert s.counts["error"] == 1 and not marker.exists()


# ---------------------------------------------------------------- 3. YAML bombs
def _laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for c in "bcdefghijk"[: levels - 1]:
        lines.append(f"{c}: &{c} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = c
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_laughs(), f"expands to more than {MAX_NODES:,} values"),
        ("a: &a [1]\nb: [" + ",".join(["*a"] * (MAX_ALIASES + 5)) + "]\n", "aliases"),
        ("x: &x\n  - *x\n", "refers to a value that contains it"),
        ("a: " + "[" * (MAX_DEPTH + 10) + "]" * (MAX_DEPTH + 10) + "\n", "nested more than"),
    ],
    ids=["billion-laughs", "many-aliases", "recursive", "deep"],
)
def test_yaml_bombs_are_refused_at_once(text, message):
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError, match=message) as exc:
        loads_with_lines(text, "bomb.yaml")
    assert time.perf_counter() - t0 < 2.0
    assert exc.value.problems[0].startswith("bomb.yaml:")


def test_validate_refuses_a_bomb_with_one_line_and_exit_2(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_laughs())
    r = subprocess.run(
        [sys.executable, "-m", "sim", "validate", str(bomb)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert r.returncode == 2 and f"{bomb}:6: expands to more than" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_ordinary_aliases_still_work():
    data, _ = loads_with_lines("base: &b {speed: 10}\nx: *b\ny: [*b, *b]\n", "ok.yaml")
    assert data["x"] == {"speed": 10} and data["y"] == [{"speed": 10}] * 2


# ---------------------------------------------------------------- 4. report injection
def test_a_hostile_parameter_value_cannot_hide_the_report(tmp_path):
    """A text parameter '<!--<script>…' (the runs table's data is embedded JSON): no '<'
    of it reaches the HTML, the page keeps every section, and the runs table shows the
    text as it is (not escaped twice)."""
    import json

    text = CUT_IN.read_text().replace("parameters:\n", "parameters:\n  label: plain\n", 1)
    assert "label: plain" in text
    scenario = tmp_path / "cut_in.yaml"
    scenario.write_text(text)
    payload = "<!--<script>alert(1)</script>&amp;"
    c = reported_campaign(
        tmp_path,
        f"name: s\nscenarios:\n  - path: {scenario}\n    set: {{label: {json.dumps(payload)}}}\n",
    )
    html = (c / "report.html").read_text()
    assert "<!--<script>" not in html and "<script>alert" not in html
    data = html.split("id='runs-data'>")[1].split("</script>")[0]
    assert "<" not in data and json.loads(data)[0]["params"].endswith(f"label={payload}")
    for section in ("id='failures'", "id='preventability'", "id='provenance'", "id='credibility'"):
        assert section in html


# ---------------------------------------------------------------- 8. lax validation
def test_a_suite_of_another_schema_version_and_a_nan_threshold_are_refused(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(f"schema_version: 99\nname: x\nscenarios: [{CUT_IN}]\n")
    with pytest.raises(ScenarioError, match=r"s.yaml:1: schema_version"):
        load_suite(suite)
    nan = tmp_path / "nan.yaml"
    nan.write_text(CUT_IN.read_text().replace("value: 0.5, id: R157", "value: .nan, id: R157"))
    with pytest.raises(ScenarioError, match=r"nan.yaml:\d+: criteria\[1\]\.value: .*finite"):
        load_scenario(nan)


def test_the_documented_way_to_vary_the_fault_policy_works(tmp_path):
    """docs/agent-protocol.md: agent_fault as a parameter, set from the command line."""
    text = CUT_IN.read_text().replace("parameters:\n", "parameters:\n  policy: error\n", 1)
    text = text.replace(
        "control_period: 0.1 s\n", "control_period: 0.1 s\nagent_fault: ${policy}\n"
    )
    path = tmp_path / "p.yaml"
    path.write_text(text)
    assert load_scenario(path, {"policy": "fallback"}).scenario.agent_fault == "fallback"
    assert "--set policy=fallback" in (ROOT / "docs" / "agent-protocol.md").read_text()


def test_validate_checks_each_point_once_and_shows_progress(tmp_path):
    """10^5 repetitions are one point (they differ only in the seed): seconds, not minutes
    (over a minute before). 600 distinct points print progress on stderr, not stdout."""
    big = tmp_path / "big.yaml"
    big.write_text(f"name: big\nscenarios:\n  - {{path: {CUT_IN}, repetitions: 100000}}\n")
    t0 = time.monotonic()
    r = pground("validate", big)
    assert r.returncode == 0 and "100000 runs" in r.stdout and time.monotonic() - t0 < 30
    many = tmp_path / "many.yaml"
    many.write_text(
        f"name: many\nscenarios:\n  - path: {CUT_IN}\n    sample: {{n: 600, method: random, "
        "seed: 1, parameters: {lateral_speed: {uniform: [0.5 m/s, 3 m/s]}}}\n"
    )
    r = pground("validate", many)
    assert r.returncode == 0 and r.stdout.strip().splitlines() == [f"ok  {many}  (suite, 600 runs)"]
    assert "[600/600] ok 600" in r.stderr and "points/s" in r.stderr


def test_a_problem_every_point_shares_is_reported_once(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(CUT_IN.read_text().replace("dt: 0.05 s", "dt: -1 s", 1))
    suite = tmp_path / "s.yaml"
    suite.write_text(
        f"name: s\nscenarios:\n  - path: {bad}\n    sample: {{n: 50, method: random, seed: 1, "
        "parameters: {lateral_speed: {uniform: [0.5 m/s, 3 m/s]}}}\n"
    )
    r = pground("validate", suite)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith(f"{bad}:")


def test_parsed_files_are_shared_but_never_aliased(tmp_path):
    """The parse cache hands out copies, and a changed file is parsed again."""
    from sim.scenario.yamlio import load_with_lines

    f = tmp_path / "a.yaml"
    f.write_text("a: {b: [1, 2]}\n")
    first, _ = load_with_lines(f)
    first["a"]["b"].append(3)
    assert load_with_lines(f)[0] == {"a": {"b": [1, 2]}}
    f.write_text("a: {b: [5]}\n")
    assert load_with_lines(f)[0] == {"a": {"b": [5]}}


# ---------------------------------------------------------------- 5. expressions
@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("10**400", "out of range"),
        ("sqrt(-1)", r"sqrt\(-1\) is not defined"),
        ("min()", r"min\(\) takes 2 or more arguments, got 0"),
        ("min(1)", r"min\(\) takes 2 or more arguments, got 1"),
        ("abs(1, 2)", r"abs\(\) takes 1 argument, got 2"),
        ("(" * 300 + "1" + ")" * 300, "parentheses"),
        ("1" + "+1" * 600, "characters"),
    ],
    ids=["overflow", "sqrt", "min0", "min1", "abs2", "deep", "long"],
)
def test_bad_expressions_get_one_line_naming_file_line_and_field(tmp_path, expr, message):
    path = tmp_path / "e.yaml"
    path.write_text(CUT_IN.read_text().replace("    s: 50 m\n", "    s: ${" + expr + "}\n", 1))
    with pytest.raises(ScenarioError, match=message) as exc:
        load_scenario(path)
    assert exc.value.problems[0].startswith(f"{path}:33: entities[0].s:")


# ---------------------------------------------------------------- 5. more bad input
@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("duration: 20 s", "duration: 1e308 s", r":11: duration: .* inf ticks"),
        ("dt: 0.05 s", "dt: 1e-320 s", r":11: duration: .* inf ticks"),
        ("duration: 20 s", "duration: 1000000 h", r":11: duration: .*7\.2e\+10 ticks"),
    ],
    ids=["huge-duration", "denormal-dt", "million-hours"],
)
def test_runs_whose_log_cannot_be_held_are_refused_at_load(tmp_path, old, new, message):
    path = tmp_path / "d.yaml"
    path.write_text(CUT_IN.read_text().replace(old, new, 1))
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError, match=message):
        load_scenario(path)
    assert time.perf_counter() - t0 < 2.0


BIG = "1" + "0" * 400  # an integer no float holds


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "duration: 20 s",
            f"duration: {BIG}",
            r":11: duration: expected a finite time, got 10{40}",
        ),
        ("ego_speed: 60 km/h", f"ego_speed: {BIG}", r":34: entities\[0\]\.speed: expected a fin"),
    ],
    ids=["integer-duration", "integer-parameter"],
)
def test_integers_no_float_holds_are_one_short_line(tmp_path, old, new, message):
    """Named with the field, the value echoed in 60 characters, not 400 digits; and an
    expression using the parameter says it is not a number (not 'unknown parameter')."""
    path = tmp_path / "i.yaml"
    path.write_text(CUT_IN.read_text().replace(old, new, 1))
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    assert any(re.search(message, p) for p in exc.value.problems), exc.value.problems
    assert all(len(p) < 250 and "unknown parameter" not in p for p in exc.value.problems)


@pytest.mark.parametrize(
    ("variation", "message"),
    [
        (f"constraints: ['{BIG} > 1']", r"constraints: .*a number too large for a float"),
        (
            "grid: {lateral_speed: {range: [0 m/s, 3 m/s], step: 1e-300 m/s}}",
            r"grid: \[0, 3\] in steps of 1e-300 is 3e\+300 values \(at most 1,000,000\)",
        ),
        (
            "grid: {lateral_speed: {range: [0 m/s, 3 m/s], step: 0.001 m/s}}\n"
            "    repetitions: 1000",
            r"3,001,000 runs .* at most 1,000,000",
        ),
        ("repetitions: " + BIG, r"repetitions: must be less than or equal to 100000"),
    ],
    ids=["literal", "tiny-step", "product", "repetitions"],
)
def test_suites_that_overflow_or_explode_are_refused_at_once(tmp_path, variation, message):
    suite = tmp_path / "s.yaml"
    suite.write_text(f"name: s\nscenarios:\n  - path: {CUT_IN}\n    {variation}\n")
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError) as exc:
        load_suite(suite)
    assert time.perf_counter() - t0 < 5
    assert exc.value.problems[0].startswith(f"{suite}:"), exc.value.problems
    assert re.search(message, exc.value.problems[0]), exc.value.problems


def test_two_air_traffic_blocks_with_one_id_are_refused(tmp_path):
    text = (SCENARIOS / "air" / "urban_drones.yaml").read_text()
    block = text.split("    traffic:\n")[1].split("entities:")[0]
    path = tmp_path / "t.yaml"
    path.write_text(text.replace(block, block + block, 1))
    with pytest.raises(
        ScenarioError, match=r"map\.air\.traffic\[1\]\.id: traffic id 'uas' is repeated"
    ):
        load_scenario(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"a: 1\n\xff\xfe\n", r"x.yaml:2: not UTF-8 text \(byte 0xff\)"),
        (b"a: !!python/object:os.system x\n", r"x.yaml:1: not valid YAML: tag .* is not allowed"),
        (b"", r"x.yaml:1: the file is empty"),
        (b"a: 1\nb: 2\x00\n", r"x.yaml:2: not valid YAML/JSON: character U\+0000 is not allowed"),
    ],
    ids=["utf8", "tag", "empty", "nul"],
)
def test_unreadable_files_get_one_line_naming_the_file(tmp_path, data, message):
    path = tmp_path / "x.yaml"
    path.write_bytes(data)
    with pytest.raises(ScenarioError, match=message) as exc:
        load_scenario(path)
    assert "\n" not in exc.value.problems[0] and "<unicode string>" not in str(exc.value)


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("1e308 s", r"control_period: 1e\+308 s is longer than the run \(20 s\)"),
        ("-1e308 s", r"control_period: -1e\+308 s must be between dt \(0.05 s\) and the run"),
    ],
)
def test_a_control_period_beyond_the_run_is_one_line(tmp_path, period, message):
    """Found by the fuzz test: these were 'internal error: OverflowError'."""
    path = tmp_path / "c.yaml"
    path.write_text(
        CUT_IN.read_text().replace("control_period: 0.1 s", f"control_period: {period}")
    )
    with pytest.raises(ScenarioError, match=message):
        load_scenario(path)


def test_lengths_and_speeds_beyond_any_scenario_are_refused(tmp_path):
    """Found by the fuzz test: a lane 1e308 m wide made GEOS fail inside validate."""
    path = tmp_path / "w.yaml"
    text = CUT_IN.read_text().replace("lane_width: 3.5 m", "lane_width: 1e308", 1)
    path.write_text(text.replace("ego_speed: 60 km/h", "ego_speed: 1e6 m/s", 1))
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    assert any(
        re.search(r":25: map\.road\.roads\[0\]\.lane_width: expected a length within ±1e\+08 m", p)
        for p in exc.value.problems
    ), exc.value.problems
    assert any("speed within ±100000 m/s" in p for p in exc.value.problems), exc.value.problems


def test_repeated_run_names_are_named_at_their_entry(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(f"name: s\nscenarios:\n  - {CUT_IN}\n  - {CUT_IN}\n")
    with pytest.raises(ScenarioError, match=r"s.yaml:4: scenarios\[1\]: run name 'alks_cut_in'"):
        load_suite(suite)


# ---------------------------------------------------------------- 6. agent-side crashes
class _HugeNumber:
    """An in-process agent whose action is an integer no float can hold."""

    name, version = "huge", "1"

    def reset(self, briefing, *, rng):
        pass

    def act(self, obs):
        from agents.road.types import RoadAction

        return RoadAction(10**400, 0.0)


def test_an_integer_no_float_holds_is_an_invalid_action_fault(write_yaml):
    from sim.core.rollout import rollout
    from tests.conftest import MINIMAL

    lo = load_scenario(write_yaml(MINIMAL + "agent_fault: hold\n"))
    res = rollout(lo.scenario, {"ego": _HugeNumber()})
    faults = [e.details["fault"] for e in res.events if e.kind == "agent_fault"]
    assert faults and set(faults) == {"invalid_action"}
    assert res.status == "truncated" and res.log.n_rows == res.ticks + 1


# ---------------------------------------------------------------- 7. process hygiene
HOSTILE_REMOTE = ROOT / "tests" / "data" / "hostile_remote.py"


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def test_a_job_timeout_kills_the_agent_and_everything_it_started(tmp_path, write_yaml):
    """The agent (in a session of its own) hangs with a child; --job-timeout kills the
    worker, and the agent's whole process group with it: nothing outlives the campaign."""
    from tests.conftest import MINIMAL

    pidfile = tmp_path / "child.pid"
    scenario = write_yaml(MINIMAL)
    suite = load_suite(write_yaml(f"name: s\nscenarios:\n  - {scenario}\n", name="suite.yaml"))
    agent = f"cmd:{sys.executable} {HOSTILE_REMOTE} forkhang {pidfile}"
    t0 = time.monotonic()
    s = run_campaign(
        suite.with_agent(agent, None),
        tmp_path / "c",
        workers=1,
        job_timeout=3,
        console=QUIET,
        progress=False,
        agent_options={"timeout_s": 120},
    )
    assert time.monotonic() - t0 < 60 and s.counts["error"] == 1
    child = int(pidfile.read_text())
    if not _gone_within(child, 5):
        os.kill(child, 9)
        pytest.fail("the agent's child outlived the campaign")


def test_ctrl_c_stops_a_campaign_with_exit_130_and_no_tracebacks(tmp_path, write_yaml):
    """SIGINT to the whole foreground group, as a terminal sends it: the campaign stops,
    says so, exits 130; the workers print nothing."""
    import signal

    # 24 runs of ~2.7 s on 2 workers: far longer than the 3 s before the signal (with 6,
    # a fresh clone once finished them all first and the campaign was never interrupted)
    suite = write_yaml(
        f"name: s\nscenarios:\n  - {{path: {CUT_IN}, repetitions: 24}}\n", name="suite.yaml"
    )
    args = f"suite {suite} --out {tmp_path / 'c'} --workers 2 --no-progress"
    proc = subprocess.Popen(
        [*PGROUND, *args.split(), "--agent", "tests.hostile_agents:Slow"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    db = tmp_path / "c" / "results.sqlite"
    deadline = time.monotonic() + 60
    while not db.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(3)  # the workers are inside jobs
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err and "Traceback" not in out, err
    assert len(err.strip().splitlines()) <= 2, err
