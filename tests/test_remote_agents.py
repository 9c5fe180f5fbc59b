"""Out-of-process agents: the protocol, deadlines, typed faults, isolation and clean-up
(docs/agent-protocol.md), the example agents in C, awk and Node.js, and check-agent."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from agents.loading import load_agent
from agents.remote import network_isolation_available
from agents.road.types import RoadAction
from agents.schemas import message_schemas
from agents.wire import plain
from sim.core.rollout import Session, rollout
from sim.errors import AgentError
from sim.runner.run import run_loaded
from sim.scenario.load import load_scenario
from tests.conftest import MINIMAL, ROOT, SCENARIOS, alive, pground

HOSTILE = ROOT / "tests" / "data" / "hostile_remote.py"
PY = shlex.quote(sys.executable)
SCHEMAS = message_schemas()


def _remote(mode: str, *args: str, **options) -> object:
    cmd = f"cmd:{PY} {HOSTILE} {mode} {' '.join(args)}"
    return load_agent(cmd, None, options or None)


def _run(write_yaml, agent, policy: str = "error", text: str = MINIMAL):
    lo = load_scenario(write_yaml(text + f"agent_fault: {policy}\n"))
    t0 = time.monotonic()
    res = rollout(lo.scenario, {"ego": agent})
    return res, time.monotonic() - t0


def _faults(res) -> list[str]:
    return [e.details["fault"] for e in res.events if e.kind == "agent_fault"]


# ------------------------------------------------------------------ the protocol itself


@pytest.mark.parametrize(
    ("path", "framing"),
    [
        ("road/alks_cut_in.yaml", "json"),
        ("road/alks_cut_in.yaml", "msgpack"),
        ("rail/junction_flank.yaml", "json"),
        ("air/crossing_right.yaml", "msgpack"),
        ("water/crossing_give_way.yaml", "msgpack"),
    ],
)
def test_a_served_agent_gives_the_same_run_as_in_process(path, framing):
    """Across the process boundary nothing changes: the same log bytes and events as the
    same agent in process, in both framings, in every domain."""
    lo = load_scenario(SCENARIOS / path)
    ego = next(e for e in lo.scenario.entities if e.controlled)
    local = run_loaded(lo)
    served = run_loaded(
        lo, agent=f"cmd:{PY} -m agents.serve {ego.agent} --framing {framing}", entity=ego.id
    )
    assert served.result.log.digest() == local.result.log.digest()
    assert [e.to_json() for e in served.result.events] == [e.to_json() for e in local.result.events]
    assert served.verdict == local.verdict == "pass"
    info = served.result.agents[ego.id]
    assert info["name"] == local.result.agents[ego.id]["name"]
    assert len(info["digest"]) == 64


def test_schema_files_are_the_generated_ones():
    """docs/schemas/ is what agents.schemas generates from the code (no drift)."""
    for name, schema in SCHEMAS.items():
        on_disk = json.loads((ROOT / "docs" / "schemas" / f"{name}.json").read_text())
        assert on_disk == schema, f"docs/schemas/{name}.json is stale: python -m agents.schemas"


@pytest.mark.parametrize(
    "path",
    [
        "road/signalised_intersection.yaml",
        "rail/station_stop.yaml",
        "air/geofence_activation.yaml",
        "water/restricted_visibility.yaml",
        "mixed/level_crossing.yaml",
    ],
)
def test_real_messages_validate_against_the_schemas(path):
    lo = load_scenario(SCENARIOS / path)
    ents = [e for e in lo.scenario.entities if e.controlled]
    agents = {e.id: load_agent(e.agent) for e in ents}
    s = Session(lo.scenario, agents)
    s.start()
    from agents.wire import domain_of

    for e in ents:
        b = s.briefing(e.id)
        msg = {"type": "reset", "protocol": 1, "domain": domain_of(b), "entity": e.id}
        jsonschema.validate(
            json.loads(json.dumps({**msg, "seed": 7, "briefing": plain(b)})), SCHEMAS["reset"]
        )
    for k in range(1, 40):
        s.step()
        for e in ents:
            obs = s.observe(e.id)
            step = {"type": "step", "seq": k, "observation": plain(obs)}
            jsonschema.validate(json.loads(json.dumps(step)), SCHEMAS["step"])
            act = {"type": "action", "seq": k, "action": plain(agents[e.id].act(obs))}
            jsonschema.validate(json.loads(json.dumps(act)), SCHEMAS["action"])
    with pytest.raises(jsonschema.ValidationError):  # the schemas do reject things
        jsonschema.validate({"type": "action", "seq": 1, "action": {"accel": 1}}, SCHEMAS["action"])


# ------------------------------------------------------------------ example agents


@pytest.fixture(scope="module")
def c_agent(tmp_path_factory) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler (apt-get install gcc)")
    exe = tmp_path_factory.mktemp("c") / "road_keeper"
    src = ROOT / "agents" / "examples" / "road_keeper.c"
    subprocess.run([cc, "-O2", "-Wall", "-o", str(exe), str(src), "-lm"], check=True)
    return exe


@pytest.mark.parametrize("name", ["alks_lead_brake", "alks_cut_in", "ncap_ccrs"])
def test_c_agent_passes_road_scenarios(c_agent, name):
    out = run_loaded(load_scenario(SCENARIOS / "road" / f"{name}.yaml"), agent=f"cmd:{c_agent}")
    assert out.verdict == "pass", out.result.reason
    assert next(a["name"] for a in out.result.agents.values()) == "road-keeper-c"


def test_c_agent_speaks_valid_messages(c_agent):
    """The C program's own output validates against the schemas (hello, ready, action)."""
    lo = load_scenario(SCENARIOS / "road" / "alks_cut_in.yaml")
    s = Session(lo.scenario, {"ego": load_agent("acc")})
    s.start()
    proc = subprocess.Popen([str(c_agent)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        jsonschema.validate(json.loads(proc.stdout.readline()), SCHEMAS["hello"])
        reset = {"type": "reset", "protocol": 1, "domain": "road", "entity": "ego", "seed": 1}
        reset["briefing"] = plain(s.briefing("ego"))
        proc.stdin.write((json.dumps(reset, separators=(",", ":")) + "\n").encode())
        proc.stdin.flush()
        jsonschema.validate(json.loads(proc.stdout.readline()), SCHEMAS["ready"])
        for k in range(1, 30):
            step = {"type": "step", "seq": k, "observation": plain(s.observe("ego"))}
            proc.stdin.write((json.dumps(step, separators=(",", ":")) + "\n").encode())
            proc.stdin.flush()
            reply = json.loads(proc.stdout.readline())
            jsonschema.validate(reply, SCHEMAS["action"])
            assert reply["seq"] == k
            s.step()
        proc.stdin.write(b'{"type":"close","reason":"test"}\n')
        proc.stdin.flush()
        assert proc.wait(timeout=5) == 0
    finally:
        proc.kill()


def test_awk_agent_stops_at_the_red_signal():
    if shutil.which("awk") is None:
        pytest.skip("no awk")
    interactive = "-W interactive " if "mawk" in os.path.realpath(shutil.which("awk")) else ""
    script = ROOT / "agents" / "examples" / "rail_driver.awk"
    out = run_loaded(
        load_scenario(SCENARIOS / "rail" / "red_signal_approach.yaml"),
        agent=f"cmd:awk {interactive}-f {script}",
    )
    assert out.verdict == "pass", out.result.reason
    assert out.metrics["spads"].value == 0


def test_node_agent_keeps_clear_in_a_crossing():
    if shutil.which("node") is None:
        pytest.skip("no Node.js")
    script = ROOT / "agents" / "examples" / "water_pilot.mjs"
    out = run_loaded(
        load_scenario(SCENARIOS / "water" / "crossing_give_way.yaml"), agent=f"cmd:node {script}"
    )
    assert out.verdict == "pass", out.result.reason


# ------------------------------------------------------------------ hostile agents


@pytest.mark.parametrize(
    ("mode", "kind"),
    [
        ("exit", "exit"),
        ("garbage", "malformed"),
        ("flood", "malformed"),
        ("wrongseq", "protocol"),
        ("wrongshape", "invalid_action"),
        ("nan", "nonfinite_action"),
        ("bigint", "invalid_action"),  # 1 followed by 400 zeros: no float holds it
        ("deep", "malformed"),  # a 200,000-deep JSON line
    ],
)
def test_each_breach_is_a_typed_fault_and_ends_the_run(write_yaml, mode, kind):
    res, wall = _run(write_yaml, _remote(mode))
    assert res.status == "error"
    assert _faults(res) == [kind]
    (ev,) = [e for e in res.events if e.kind == "agent_fault"]
    assert ev.tick == 4 and ev.details["policy"] == "error"
    assert res.log.n_rows == res.ticks + 1  # nothing computed is lost
    assert wall < 30


def test_a_hanging_agent_times_out_and_is_stopped(write_yaml):
    """It sleeps forever: 3 missed 50 ms deadlines, then its process is killed; under
    'hold' the run still completes."""
    res, wall = _run(write_yaml, _remote("hang", timeout_s=0.05), policy="hold")
    assert res.status == "truncated" and res.ticks == 50
    assert _faults(res) == ["timeout", "timeout", "unresponsive"]
    assert wall < 20


def test_late_answers_are_discarded_not_misread(write_yaml):
    """Every fifth answer takes 300 ms against a 200 ms deadline: a timeout each time, and
    the late answer is recognised by its seq and dropped (no protocol fault)."""
    res, _ = _run(write_yaml, _remote("slow", timeout_s=0.2), policy="hold")
    assert _faults(res) == ["timeout"] * 10
    assert [e.tick for e in res.events if e.kind == "agent_fault"] == list(range(4, 50, 5))
    assert res.status == "truncated"


def test_fallback_policy_brakes_after_the_agent_dies(write_yaml):
    res, _ = _run(write_yaml, _remote("exit"), policy="fallback")
    assert res.status == "truncated" and _faults(res) == ["exit"]
    v = res.log.field("road", "speed_mps")[:, 0]
    assert v[-1] < v[5] - 10  # braking at up to 4 m/s² from t = 0.5 s
    acc = res.log.field("road", "accel_mps2")[10:, 0]
    assert acc.min() >= -4.0 - 1e-9


def test_huge_actions_are_clipped_and_recorded(write_yaml):
    res, _ = _run(write_yaml, _remote("huge"))
    assert res.status == "truncated" and not _faults(res)
    assert res.log.field("road", "accel_mps2")[1:, 0].max() <= 3.0 + 1e-9
    assert any(e.kind == "action_clipped" for e in res.events)


def test_heavy_stderr_does_not_block(write_yaml):
    """200 kB on stderr every step (far beyond a pipe buffer) and the run goes on."""
    res, wall = _run(write_yaml, _remote("stderr"))
    assert res.status == "truncated" and not _faults(res)
    assert wall < 30


def test_an_agent_that_does_not_read_cannot_block_the_simulator(write_yaml):
    res, wall = _run(write_yaml, _remote("noread", startup_s=0.5))
    assert res.status == "error" and _faults(res)[0] in {"timeout", "unresponsive"}
    assert wall < 10


def test_wrong_protocol_version_is_refused(write_yaml):
    res, _ = _run(write_yaml, _remote("wrongproto"))
    assert res.status == "error" and _faults(res) == ["protocol"]
    assert "protocol 2" in res.events[0].details["message"] or any(
        "protocol 2" in e.details.get("message", "") for e in res.events
    )


def test_children_are_killed_with_the_agent(write_yaml, tmp_path):
    pidfile = tmp_path / "child.pid"
    res, _ = _run(write_yaml, _remote("fork", str(pidfile)))
    assert res.status == "truncated"
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the agent's child outlived the run")


def test_cpu_limit_kills_a_spinning_agent(write_yaml):
    res, wall = _run(write_yaml, _remote("cpu", cpu_s=1, timeout_s=30))
    assert res.status == "error" and _faults(res) == ["crash"]
    assert "SIGXCPU" in res.events[-1].details["message"] or "SIGKILL" in str(res.events)
    assert wall < 20


def test_memory_limit_stops_a_hungry_agent(write_yaml):
    res, _ = _run(write_yaml, _remote("memory", memory_mb=512))
    assert res.status == "error" and _faults(res)[0] in {"exit", "crash"}
    assert "MemoryError" in res.events[-1].details["stderr_tail"]


def test_environment_is_trimmed_and_the_directory_is_its_own(write_yaml, monkeypatch):
    monkeypatch.setenv("PGROUND_TEST_SECRET", "hunter2")
    res, _ = _run(write_yaml, _remote("envprobe"))
    assert res.agents["ego"]["name"] == "env-clean-cwd-own"


def test_network_can_be_denied(write_yaml):
    if not network_isolation_available():
        pytest.skip("unshare --net is not available here")
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = str(srv.getsockname()[1])
        open_res, _ = _run(write_yaml, _remote("netprobe", port))
        closed_res, _ = _run(write_yaml, _remote("netprobe", port, deny_network=True))
    assert open_res.agents["ego"]["name"] == "net-ok"
    assert closed_res.agents["ego"]["name"] == "net-denied"


def test_a_command_that_cannot_start_is_an_agent_error(write_yaml):
    with pytest.raises(AgentError, match="cannot start"):
        load_agent("cmd:/nonexistent/controller --fast", None)
    script = write_yaml("not a program", name="agent.txt")  # exists, not executable
    agent = load_agent(f"cmd:{script}", None)
    lo = load_scenario(write_yaml(MINIMAL))
    with pytest.raises(AgentError, match="cannot start"):
        rollout(lo.scenario, {"ego": agent})


def test_cli_run_with_a_bad_command_is_one_line_and_exit_3(write_yaml, tmp_path):
    path = write_yaml(MINIMAL)
    r = pground("run", str(path), "--agent", "cmd:./no-such-agent", "--no-save", cwd=tmp_path)
    assert r.returncode == 3
    assert len(r.stderr.strip().splitlines()) == 1 and "no-such-agent" in r.stderr
    r = pground("run", str(path), "--agent-timeout", "fast")
    assert r.returncode == 2 and "--agent-timeout" in r.stderr


def test_cli_run_records_the_fault_and_exits_3(write_yaml, tmp_path):
    path = write_yaml(MINIMAL)
    out = tmp_path / "run"
    r = pground(
        "run",
        str(path),
        "--agent",
        f"cmd:{PY} {HOSTILE} hang",
        "--agent-timeout",
        "50ms",
        "--out",
        str(out),
        timeout=60,
    )
    assert r.returncode == 3, r.stderr
    events = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    (fault,) = [e for e in events if e["kind"] == "agent_fault"]
    assert fault["details"]["fault"] == "timeout" and fault["details"]["deadline_ms"] == 50
    assert json.loads((out / "manifest.json").read_text())["agents"]["ego"]["spec"].startswith(
        "cmd:"
    )


def test_a_huge_agent_name_is_bounded_in_the_record(write_yaml):
    """A 15 MB name in the hello is cut to MAX_LABEL_CHARS (with how much was cut)."""
    from agents.identity import MAX_LABEL_CHARS

    res, _ = _run(write_yaml, _remote("longname"))
    name = res.agents["ego"]["name"]
    assert len(name) == MAX_LABEL_CHARS and name.endswith("n…[15000000 characters]")


def test_an_agent_that_makes_the_out_folder_cannot_lose_or_replace_anything(write_yaml, tmp_path):
    """The agent creates the run's --out (with a manifest.json) mid-run: its folder is left
    as it made it and the run is saved beside it, with a one-line warning."""
    out = tmp_path / "run"
    r = pground(
        "run",
        str(write_yaml(MINIMAL)),
        "--allow-file-agents",
        "--agent",
        f"cmd:{PY} {HOSTILE} mkdir {out}",
        "--out",
        str(out),
        timeout=120,
    )
    assert r.returncode in (0, 1), r.stderr
    assert (out / "manifest.json").read_text() == "{}" and len(list(out.iterdir())) == 1
    saved = tmp_path / "run-1"
    assert json.loads((saved / "manifest.json").read_text())["agents"]["ego"]["name"] == (
        "hostile-mkdir"
    )
    assert r.stderr.strip().splitlines() == [
        f"warning: {out} appeared during the run (not made by pground); saved in {saved}"
    ]


def test_an_out_folder_that_exists_is_refused_before_the_run(write_yaml, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "mine.txt").write_text("x")
    t0 = time.monotonic()
    r = pground(
        "run", str(write_yaml(MINIMAL)), "--agent", "cmd:sleep 30", "--out", str(out), timeout=60
    )
    assert r.returncode == 2 and "exists" in r.stderr and time.monotonic() - t0 < 20
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


# ------------------------------------------------------------------ in-process agents


class _Meddler:
    """Tries to change the world through its briefing and its observation."""

    name, version = "meddler", "1"

    def reset(self, briefing, *, rng):
        briefing.roads[0]["lanes"] = 99
        self.brief = briefing

    def act(self, obs):
        obs.objects.x_m[:] = 0.0
        return RoadAction(0.0, 0.0)


def test_in_process_agents_cannot_mutate_the_world(write_yaml):
    text = MINIMAL + (
        "  - id: other\n    domain: road\n    road: r\n    s: 60 m\n    speed: 20 m/s\n"
    )
    lo = load_scenario(write_yaml(text + "agent_fault: hold\n"))
    s = Session(lo.scenario, {"ego": _Meddler()})
    s.start()
    assert s.briefing("ego").roads[0]["lanes"] == 2
    s.step()
    (fault,) = [e for e in s.events if e.kind == "agent_fault"]
    assert fault.details["fault"] == "act_raised" and "read-only" in fault.details["message"]
    assert np.all(s.observe("ego").objects.x_m > 0)


# ------------------------------------------------------------------ check-agent


def test_check_agent_passes_a_conforming_agent_and_fails_a_broken_one(c_agent):
    from agents.checks import check_agent

    good = check_agent(f"cmd:{c_agent}", "road", steps=100)
    assert good.ok, good.to_dict()
    names = {c.name for c in good.checks}
    assert {"handshake and reset", "deadline", "deterministic under a seed"} <= names
    bad = check_agent(f"cmd:{PY} {HOSTILE} nan", "road", steps=100)
    assert not bad.ok
    failed = [c for c in bad.checks if c.status == "fail"]
    assert "nonfinite_action" in failed[0].detail


def test_check_agent_catches_nondeterminism():
    from agents.checks import check_agent

    rep = check_agent("tests.test_remote_agents:Jittery", "road", steps=50)
    (det,) = [c for c in rep.checks if c.name == "deterministic under a seed"]
    assert det.status == "fail" and "differ" in det.detail


class Jittery:
    """Ignores the seed it is given (draws from the OS)."""

    name, version = "jittery", "1"

    def reset(self, briefing, *, rng):
        self.rng = np.random.default_rng()

    def act(self, obs):
        return RoadAction(float(self.rng.normal()), 0.0)


def test_cli_check_agent(tmp_path):
    r = pground("check-agent", "acc", "--domain", "road", "--steps", "50", "--json", cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["conforms"] is True
