"""The pground command end to end, through a subprocess, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sim.errors import CLASSES
from tests.conftest import MINIMAL, ROOT

#: every class at 0: campaign counts list all five (sim.errors.CLASSES)
NONE = dict.fromkeys(CLASSES, 0)

CUT_IN = str(ROOT / "scenarios" / "road" / "alks_cut_in.yaml")


def pground(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


@pytest.mark.parametrize("cmd", ["run", "suite", "validate", "schema", "agents", "metrics"])
def test_every_command_has_help(cmd):
    r = pground(cmd, "--help")
    assert r.returncode == 0 and "usage: pground" in r.stdout


def test_run_pass_writes_a_complete_run_folder(tmp_path):
    out = tmp_path / "run"
    r = pground("run", CUT_IN, "--agent", "agents.road.acc:AdaptiveCruise", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "PASS" in r.stdout and "R157-5.1.1" in r.stdout
    assert {p.name for p in out.iterdir()} == {
        "manifest.json",
        "log.npz",
        "events.jsonl",
        "metrics.json",
    }
    manifest = json.loads((out / "manifest.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert manifest["log_sha256"] == metrics["log_sha256"]
    assert manifest["scenario"]["sha256"] and manifest["packages"]["numpy"]
    assert manifest["reproduce"].startswith("pground run ")
    assert metrics["verdict"] == "pass" and metrics["criteria"][0]["margin"] == 0


def test_run_is_reproducible_from_its_manifest(tmp_path):
    """Running the manifest's reproduce command gives the same log digest."""
    a = tmp_path / "a"
    assert pground("run", CUT_IN, "--agent", "constant-speed", "--out", str(a)).returncode == 1
    cmd = json.loads((a / "manifest.json").read_text())["reproduce"].split()
    b = tmp_path / "b"
    cmd[cmd.index("--out") + 1] = str(b)
    assert pground(*cmd[1:]).returncode == 1
    digest = [json.loads((d / "metrics.json").read_text())["log_sha256"] for d in (a, b)]
    assert digest[0] == digest[1]


def test_existing_run_folder_needs_force(tmp_path):
    out = tmp_path / "run"
    assert pground("run", CUT_IN, "--out", str(out)).returncode == 0
    r = pground("run", CUT_IN, "--out", str(out))
    assert r.returncode == 2 and "--force" in r.stderr
    assert pground("run", CUT_IN, "--out", str(out), "--force").returncode == 0


def test_failing_run_exits_1_and_bad_input_exits_2(tmp_path):
    r = pground("run", CUT_IN, "--agent", "constant-speed", "--no-save")
    assert r.returncode == 1 and "FAIL" in r.stdout and "collision" in r.stdout
    r = pground("run", CUT_IN, "--agent", "acc2", "--no-save")
    assert r.returncode == 3 and "Did you mean 'acc'?" in r.stderr
    assert "Traceback" not in r.stderr
    r = pground("run", CUT_IN, "--set", "ego_sped=3", "--no-save")
    assert r.returncode == 2 and r.stderr.count("\n") == 1


def test_agent_fault_exits_3(tmp_path):
    (tmp_path / "bad_agent.py").write_text(
        "class Broken:\n    name = 'broken'\n    version = '0'\n"
        "    def reset(self, briefing, *, rng):\n        pass\n"
        "    def act(self, obs):\n        raise ZeroDivisionError('oops')\n"
    )
    r = subprocess.run(
        [sys.executable, "-m", "sim", "run", CUT_IN, "--agent", "bad_agent:Broken", "--no-save"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)},
    )
    assert r.returncode == 3 and "agent_fault" in r.stdout and "ERROR" in r.stdout


def test_validate_reports_each_problem_on_one_line(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(MINIMAL)
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINIMAL.replace("20 m/s", "fast").replace("    s: 10 m", "    sx: 10 m"))
    r = pground("validate", str(good), str(bad))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 2 and all(ln.startswith(str(bad)) for ln in lines)
    assert pground("validate", str(good)).returncode == 0


def test_schema_is_json_schema():
    r = pground("schema")
    schema = json.loads(r.stdout)
    assert r.returncode == 0 and schema["title"] == "Proving Ground scenario"


def test_agents_and_metrics_listings():
    r = pground("agents")
    assert r.returncode == 0 and "constant-speed" in r.stdout and "ok" in r.stdout
    r = pground("metrics", "min_ttc_s")
    assert r.returncode == 0 and "g / Δv" in r.stdout and "SUMO" in r.stdout


def test_suite_on_a_folder_and_exit_codes(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "a.yaml").write_text(MINIMAL)
    r = pground("suite", str(folder), "--out", str(tmp_path / "out"), "--executor", "serial")
    assert r.returncode == 0, r.stdout + r.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["counts"] == {**NONE, "pass": 1} and summary["complete"]
    (folder / "b.yaml").write_text("id: [broken\n")
    r = pground("suite", str(folder), "--out", str(tmp_path / "out2"), "--executor", "serial")
    assert r.returncode == 2 and "invalid" in r.stdout


def test_agent_params_reach_the_agent_and_the_reproduce_command(tmp_path):
    """--agent-param without --agent configures the scenario's agent, and is recorded."""
    out = tmp_path / "run"
    r = pground("run", CUT_IN, "--agent-param", "set_speed=40 km/h", "--out", str(out))
    assert r.returncode == 0, r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["agents"]["ego"]["params"] == {"set_speed": "40 km/h"}
    assert "--agent-param 'set_speed=40 km/h'" in manifest["reproduce"]
    import numpy as np

    with np.load(out / "log.npz") as z:
        assert z["road/speed_mps"][-1, 0] == pytest.approx(40 / 3.6, abs=0.2)
