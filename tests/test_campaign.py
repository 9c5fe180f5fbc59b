"""Campaigns: executors agree bit for bit, hostile jobs are contained, a SIGKILLed
campaign resumes without losing or repeating anything."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from sim.errors import CLASSES
from sim.runner.campaign import run_campaign
from sim.runner.store import ResultsStore
from sim.runner.suite import load_suite
from tests.conftest import MINIMAL, ROOT

#: every class at 0: campaign counts list all five (sim.errors.CLASSES)
NONE = dict.fromkeys(CLASSES, 0)

QUIET = Console(file=open(os.devnull, "w"))  # noqa: SIM115


def small_suite(tmp_path: Path) -> Path:
    """Four avoidable cut-ins, a CCRs and a CCRb repeated twice: 7 runs."""
    road = ROOT / "scenarios" / "road"
    p = tmp_path / "suite.yaml"
    p.write_text(f"""name: small
scenarios:
  - path: {road / "alks_cut_in.yaml"}
    name: ci
    grid:
      delta_v: {{values: [-10 km/h, -30 km/h]}}
      trigger_gap: {{values: [30 m, 40 m]}}
  - {road / "ncap_ccrs.yaml"}
  - path: {road / "ncap_ccrb.yaml"}
    repetitions: 2
""")
    return p


def digests(folder: Path) -> dict[str, tuple[str, str]]:
    store = ResultsStore(folder / "results.sqlite")
    try:
        return {r["job_id"]: (r["verdict"], r["log_sha256"]) for r in store.rows()}
    finally:
        store.close()


def test_executors_give_identical_results(tmp_path):
    """Serial, 2 processes and a Dask local cluster: the same verdicts and log digests."""
    suite = load_suite(small_suite(tmp_path))
    results = {}
    for ex in ("serial", "processes", "dask"):
        out = tmp_path / ex
        s = run_campaign(suite, out, executor=ex, workers=2, console=QUIET, progress=False)
        assert s.counts == {**NONE, "pass": 7}
        results[ex] = digests(out)
    assert results["serial"] == results["processes"] == results["dask"]
    assert len(results["serial"]) == 7


def test_keep_logs_policy(tmp_path):
    """failures (default): run folders only for runs that did not pass; all; none."""
    suite = load_suite(small_suite(tmp_path)).with_agent("constant-speed", None)
    for keep, expect in (("failures", "fail"), ("all", None), ("none", "none")):
        out = tmp_path / keep
        run_campaign(suite, out, executor="serial", keep_logs=keep, console=QUIET, progress=False)
        store = ResultsStore(out / "results.sqlite")
        rows = list(store.rows())
        store.close()
        kept = {r["name"] for r in rows if r["run_dir"]}
        if expect == "fail":
            assert kept == {r["name"] for r in rows if r["verdict"] != "pass"} != set()
        elif expect is None:
            assert kept == {r["name"] for r in rows}
        else:
            assert kept == set() and not (out / "runs").exists()
        for r in rows:
            if r["run_dir"]:
                assert (out / r["run_dir"] / "manifest.json").exists()


def hostile_suite(tmp_path: Path) -> Path:
    for eid in ("ok", "hang", "die", "raise"):
        (tmp_path / f"{eid}.yaml").write_text(
            MINIMAL.replace("id: ego", f"id: {eid}").replace("id: minimal", f"id: {eid}")
            + "agent_fault: error\n"
        )
    return tmp_path


def test_hanging_dying_and_raising_jobs_are_contained(tmp_path):
    """A job that hangs (killed at the timeout), one whose worker dies and one whose agent
    raises are recorded as errors; the good job passes; the campaign exits 3."""
    folder = tmp_path / "s"
    folder.mkdir()
    suite = load_suite(hostile_suite(folder)).with_agent("tests.hostile_agents:Hostile", None)
    out = tmp_path / "c"
    t0 = time.monotonic()
    s = run_campaign(
        suite, out, executor="processes", workers=2, job_timeout=5, console=QUIET, progress=False
    )
    assert time.monotonic() - t0 < 60
    rows = {r["name"]: r for r in ResultsStore(out / "results.sqlite").rows()}
    assert rows["ok"]["verdict"] == "pass"
    assert rows["hang"]["verdict"] == "error" and "timed out after 5 s" in rows["hang"]["error"]
    assert rows["die"]["verdict"] == "error" and "worker process died" in rows["die"]["error"]
    assert rows["raise"]["verdict"] == "error" and rows["raise"]["status"] == "error"
    assert s.exit_code == 3


@pytest.mark.slow  # 44 s; Ctrl-C and resume are in the default run (test_hostile)
def test_sigkill_then_resume_loses_and_repeats_nothing(tmp_path):
    """kill -9 of the whole campaign mid-way, then --resume: every job exactly once, and
    the results equal those of an uninterrupted campaign."""
    suite = small_suite(tmp_path)
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "sim",
        "suite",
        str(suite),
        "--out",
        str(out),
        "--workers",
        "2",
        "--agent",
        "tests.hostile_agents:Slow",
        "--no-progress",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = out / "results.sqlite"
    deadline = time.monotonic() + 120
    n = 0
    while time.monotonic() < deadline:
        if db.exists():
            try:
                n = sqlite3.connect(db).execute("SELECT count(*) FROM runs").fetchone()[0]
            except sqlite3.OperationalError:
                n = 0
            if n >= 2:
                break
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    n = sqlite3.connect(db).execute("SELECT count(*) FROM runs").fetchone()[0]
    assert 2 <= n < 7, "the campaign should have been killed mid-way"
    r = subprocess.run(
        [*cmd, "--resume"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 1, r.stdout + r.stderr  # the coasting agent fails the cut-ins
    assert f"{7 - n} run now, {n} from before" in r.stdout
    rows = sqlite3.connect(db).execute("SELECT job_id FROM runs").fetchall()
    assert len(rows) == len({x[0] for x in rows}) == 7
    clean = tmp_path / "clean"
    r = subprocess.run(
        [*cmd[:6], str(clean), *cmd[7:]], cwd=ROOT, env=env, capture_output=True, timeout=300
    )
    assert r.returncode == 1
    assert digests(out) == digests(clean)


def test_existing_campaign_needs_resume_or_force(tmp_path):
    suite = load_suite(small_suite(tmp_path))
    out = tmp_path / "c"
    run_campaign(suite.sample(2, 0), out, executor="serial", console=QUIET, progress=False)
    from sim.errors import UsageError

    with pytest.raises(UsageError, match="--resume"):
        run_campaign(suite, out, executor="serial", console=QUIET, progress=False)
    s = run_campaign(suite, out, executor="serial", resume=True, console=QUIET, progress=False)
    assert s.skipped == 2 and s.ran == 5


def test_cli_dry_run_sample_and_results_export(tmp_path):
    suite = small_suite(tmp_path)

    def pg(*a):
        return subprocess.run(
            [sys.executable, "-m", "sim", *a], capture_output=True, text=True, cwd=ROOT, timeout=300
        )

    r = pg("suite", str(suite), "--dry-run")
    assert r.returncode == 0 and "suite small: 7 runs" in r.stdout
    out = tmp_path / "c"
    r = pg(
        "suite",
        str(suite),
        "--sample",
        "3",
        "--out",
        str(out),
        "--agent",
        "constant-speed",
        "--no-progress",
    )
    assert r.returncode == 1 and "fail" in r.stdout
    assert pg("results", str(out), "--format", "csv").stdout.count("\n") == 4
    rows = json.loads(pg("results", str(out), "--format", "json").stdout)
    assert len(rows) == 3 and {"params", "metrics", "verdict"} <= set(rows[0])
    pq = tmp_path / "r.parquet"
    assert pg("results", str(out), "--format", "parquet", "-o", str(pq)).returncode == 0
    import pyarrow.parquet as pqr

    assert pqr.read_table(pq).num_rows == 3
    failed = json.loads(pg("results", str(out), "--verdict", "fail", "--format", "json").stdout)
    assert failed and all(r["verdict"] == "fail" for r in failed)


def test_workers_that_cannot_start_stop_the_campaign_cleanly(tmp_path):
    """From a parent whose __main__ cannot be re-imported (a script on stdin), spawned workers
    die at start: the campaign stops with a clear message and records no bogus errors."""
    script = (
        "import os\nfrom pathlib import Path\nfrom rich.console import Console\n"
        "from sim.runner.campaign import run_campaign\nfrom sim.runner.suite import load_suite\n"
        f"s = load_suite({str(small_suite(tmp_path))!r})\n"
        "try:\n"
        f"    run_campaign(s, Path({str(tmp_path / 'c')!r}), workers=2,\n"
        "                 console=Console(file=open(os.devnull, 'w')), progress=False)\n"
        "except Exception as e:\n    print('RAISED', e)\n"
    )
    r = subprocess.run(
        [sys.executable, "-"],
        input=script,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert "RAISED worker processes die while starting" in r.stdout, r.stdout + r.stderr[-500:]
    rows = (
        sqlite3.connect(tmp_path / "c" / "results.sqlite")
        .execute("SELECT count(*) FROM runs")
        .fetchone()[0]
    )
    assert rows == 0


@pytest.mark.slow
def test_reference_agent_passes_every_avoidable_r157_cut_in(tmp_path):
    """The shipped sweep (the cut-ins the R157 careful driver passes, 444 of 540):
    AdaptiveCruise passes all of them, so a failure of another controller there means
    something."""
    suite = load_suite(ROOT / "scenarios" / "suites" / "alks_cut_in.yaml")
    s = run_campaign(
        suite, tmp_path / "sweep", workers=2, keep_logs="none", console=QUIET, progress=False
    )
    assert s.counts == {**NONE, "pass": len(suite.entries)} and len(suite.entries) >= 400
